# Exports the GPU benchmark's models (random init) with PyTorch, dynamic batch axis, and writes models.json.
import os, sys, json, torch, torch.nn as nn
import torchvision.models as tvm
from transformers import BertConfig, BertModel
out = sys.argv[1]; os.makedirs(out, exist_ok=True); torch.manual_seed(0)
which = sys.argv[2].split(',') if len(sys.argv) > 2 else ['warmup', 'small_cnn', 'resnet50', 'bert_base', 'bert_large']
specs = []
def export(name, model, args, inputs, outputs, dyn):
    path = os.path.join(out, name + '.onnx')
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, args, path, input_names=[i['name'] for i in inputs], output_names=outputs,
                          dynamic_axes=dyn, opset_version=17, dynamo=False, external_data=False)
    specs.append({'name': name, 'file': name + '.onnx', 'inputs': inputs})
    print('ok', name, os.path.getsize(path), flush=True)
class Warm(nn.Module):
    def __init__(s): super().__init__(); s.l = nn.Linear(16, 16)
    def forward(s, x): return s.l(x)
class SmallCnn(nn.Module):
    def __init__(s):
        super().__init__()
        s.f = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.ReLU(),
                            nn.Conv2d(128, 256, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(256, 512, 3, stride=2, padding=1), nn.ReLU(),
                            nn.Conv2d(512, 256, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 1000))
    def forward(s, x): return s.f(x)
class Enc(nn.Module):
    def __init__(s, m): super().__init__(); s.m = m
    def forward(s, ids, mask): return s.m(input_ids=ids, attention_mask=mask).last_hidden_state
img = lambda n: [{'name': 'input', 'dtype': 'float32', 'shape': [1, 3, n, n]}]
b = {0: 'batch'}
if 'warmup' in which: export('warmup', Warm(), (torch.randn(1, 16),), [{'name': 'x', 'dtype': 'float32', 'shape': [1, 16]}], ['y'], {'x': b, 'y': b})
if 'small_cnn' in which: export('small_cnn', SmallCnn(), (torch.randn(1, 3, 224, 224),), img(224), ['logits'], {'input': b, 'logits': b})
if 'resnet50' in which: export('resnet50', tvm.resnet50(), (torch.randn(1, 3, 224, 224),), img(224), ['logits'], {'input': b, 'logits': b})
bert_in = [{'name': 'input_ids', 'dtype': 'int64', 'shape': [1, 128]}, {'name': 'attention_mask', 'dtype': 'int64', 'shape': [1, 128]}]
ids = torch.randint(0, 1000, (1, 128)); mask = torch.ones(1, 128, dtype=torch.int64)
bdyn = {'input_ids': b, 'attention_mask': b, 'last_hidden_state': b}
if 'bert_base' in which: export('bert_base', Enc(BertModel(BertConfig())), (ids, mask), bert_in, ['last_hidden_state'], bdyn)
if 'bert_large' in which:
    export('bert_large', Enc(BertModel(BertConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096))), (ids, mask), bert_in, ['last_hidden_state'], bdyn)
json.dump(specs, open(os.path.join(out, 'models.json'), 'w'), indent=1)
