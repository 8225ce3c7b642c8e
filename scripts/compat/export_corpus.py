# Exports real architectures (random init) to ONNX for tensorshare's compatibility corpus.
# Run on the GPU machine (PyTorch, torchvision, transformers present). Every model is small.
import os, sys, json, traceback, torch, torch.nn as nn
import torchvision.models as tvm
out = sys.argv[1]; os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
done = {}
def export(name, model, args, input_names, output_names, dynamic_axes=None, opset=17, keep_init=False, fp16=False, dynamo=False, note=''):
    path = os.path.join(out, name + '.onnx')
    try:
        model.eval()
        with torch.no_grad():
            torch.onnx.export(model, args, path, input_names=input_names, output_names=output_names,
                              dynamic_axes=dynamic_axes, opset_version=opset, do_constant_folding=not keep_init,
                              keep_initializers_as_inputs=keep_init, dynamo=dynamo, external_data=False)
        done[name] = {'bytes': os.path.getsize(path), 'note': note}
        print('ok', name, os.path.getsize(path), flush=True)
    except Exception as e:
        print('FAIL', name, repr(e)[:400], flush=True)
        done[name] = {'error': repr(e)[:400]}
img = torch.randn(1, 3, 64, 64)
img224 = torch.randn(1, 3, 96, 96)
for n, ctor in [('squeezenet1_1', tvm.squeezenet1_1), ('mobilenet_v3_small', tvm.mobilenet_v3_small),
                ('shufflenet_v2_x0_5', tvm.shufflenet_v2_x0_5), ('mnasnet0_5', tvm.mnasnet0_5),
                ('regnet_x_400mf', tvm.regnet_x_400mf)]:
    export('tv_' + n, ctor(num_classes=100), (img224,), ['input'], ['logits'], {'input': {0: 'batch'}, 'logits': {0: 'batch'}}, note='torchvision classification')
# IR-3 style: initializers listed among graph inputs (old model-zoo exports), opset 9
export('ir3_squeezenet1_1', tvm.squeezenet1_1(num_classes=100), (img224,), ['data_0'], ['softmaxout_1'], opset=9, keep_init=True, note='initializers as graph inputs, opset 9')
export('ir3_resnet18_narrow', tvm.resnet18(num_classes=10), (img,), ['data'], ['prob'], opset=9, keep_init=True, note='resnet18 initializers as inputs, opset 9')
# detection and segmentation
try:
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large
    det = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=5)
    export('tv_ssdlite320', det, ([torch.rand(3, 320, 320)],), ['images'], ['boxes', 'scores', 'labels'], opset=17, note='torchvision detection (legacy exporter)')
except Exception as e: print('FAIL ssdlite', repr(e)[:300])
from torchvision.models.segmentation import lraspp_mobilenet_v3_large
class SegWrap(nn.Module):
    def __init__(s, m): super().__init__(); s.m = m
    def forward(s, x): return s.m(x)['out']
export('tv_lraspp', SegWrap(lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=3)), (torch.randn(1, 3, 128, 128),), ['input'], ['out'], note='torchvision segmentation')
# transformers: encoder, decoder, audio
from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel, Wav2Vec2Config, Wav2Vec2Model
class EncWrap(nn.Module):
    def __init__(s, m): super().__init__(); s.m = m
    def forward(s, ids, mask): return s.m(input_ids=ids, attention_mask=mask).last_hidden_state
bert = BertModel(BertConfig(vocab_size=1000, hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256, max_position_embeddings=128))
ids = torch.randint(0, 1000, (1, 16)); mask = torch.ones(1, 16, dtype=torch.int64)
export('hf_bert_tiny', EncWrap(bert), (ids, mask), ['input_ids', 'attention_mask'], ['last_hidden_state'], {'input_ids': {0: 'b', 1: 's'}, 'attention_mask': {0: 'b', 1: 's'}}, note='transformers BertModel encoder')
class DecWrap(nn.Module):
    def __init__(s, m): super().__init__(); s.m = m
    def forward(s, ids): return s.m(input_ids=ids, use_cache=False).logits
gpt = GPT2LMHeadModel(GPT2Config(vocab_size=1000, n_embd=128, n_layer=2, n_head=4, n_positions=128))
export('hf_gpt2_tiny', DecWrap(gpt), (ids,), ['input_ids'], ['logits'], {'input_ids': {0: 'b', 1: 's'}}, note='transformers GPT2 decoder')
class AudioWrap(nn.Module):
    def __init__(s, m): super().__init__(); s.m = m
    def forward(s, x): return s.m(x).last_hidden_state
w2v = Wav2Vec2Model(Wav2Vec2Config(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, conv_dim=(32, 32, 32), conv_stride=(5, 2, 2), conv_kernel=(10, 3, 3), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4))
export('hf_wav2vec2_tiny', AudioWrap(w2v), (torch.randn(1, 4000),), ['audio'], ['hidden'], note='transformers Wav2Vec2 audio encoder')
# float16 models (exported from CUDA so attention runs in half)
if torch.cuda.is_available():
    b16 = EncWrap(BertModel(BertConfig(vocab_size=1000, hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256, max_position_embeddings=128))).half().cuda()
    export('fp16_bert_tiny', b16, (ids.cuda(), mask.cuda()), ['input_ids', 'attention_mask'], ['last_hidden_state'], note='float16 attention (exported on CUDA)')
    export('fp16_mobilenet_v3_small', tvm.mobilenet_v3_small(num_classes=10).half().cuda(), (img.half().cuda(),), ['input'], ['logits'], note='float16 CNN')
# control flow: If / Loop via scripting
class Ctrl(nn.Module):
    def __init__(s):
        super().__init__(); s.a = nn.Linear(32, 32); s.b = nn.Linear(32, 32)
    def forward(s, x, n: int):
        y = x
        for _ in range(n):
            y = torch.relu(s.a(y))
        if bool(y.sum() > 0):
            y = s.b(y)
        else:
            y = -s.b(y)
        return y
try:
    sm = torch.jit.script(Ctrl())
    export('ctrl_loop_if', sm, (torch.randn(2, 32), 3), ['x', 'n'], ['y'], opset=17, note='scripted Loop + If')
except Exception as e: print('FAIL ctrl', repr(e)[:300])
class RangeM(nn.Module):
    def __init__(s): super().__init__(); s.e = nn.Embedding(64, 16)
    def forward(s, ids): return s.e(ids) + s.e(torch.arange(ids.shape[1]).unsqueeze(0))
export('range_positions', RangeM(), (torch.randint(0, 64, (1, 8)),), ['ids'], ['emb'], {'ids': {1: 's'}}, note='Range over a dynamic dim')
json.dump(done, open(os.path.join(out, 'manifest.json'), 'w'), indent=1)
print(json.dumps(done, indent=1))
