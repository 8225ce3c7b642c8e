# A decoder-only transformer LM (causal self-attention), random init, for the compatibility corpus.
import os, sys, torch, torch.nn as nn
out = sys.argv[1]; os.makedirs(out, exist_ok=True); torch.manual_seed(0)
class TinyLM(nn.Module):
    def __init__(s, vocab=1000, d=128, layers=2, heads=4, ctx=64):
        super().__init__()
        s.tok = nn.Embedding(vocab, d); s.pos = nn.Embedding(ctx, d)
        layer = nn.TransformerDecoderLayer(d, heads, 4 * d, dropout=0.0, batch_first=True)
        s.dec = nn.TransformerDecoder(layer, layers); s.head = nn.Linear(d, vocab)
    def forward(s, ids):
        n = ids.shape[1]
        h = s.tok(ids) + s.pos(torch.arange(n).unsqueeze(0))
        mask = torch.triu(torch.full((n, n), float('-inf')), diagonal=1)
        return s.head(s.dec(h, h, tgt_mask=mask, tgt_is_causal=True))
m = TinyLM().eval()
ids = torch.randint(0, 1000, (1, 16))
for name, dyn in [('decoder_lm_tiny', False)]:
    try:
        with torch.no_grad():
            torch.onnx.export(m, (ids,), os.path.join(out, name + '.onnx'), input_names=['input_ids'], output_names=['logits'],
                              dynamic_axes={'input_ids': {0: 'b', 1: 's'}}, opset_version=17, dynamo=dyn, external_data=False)
        print('ok', name, os.path.getsize(os.path.join(out, name + '.onnx')))
    except Exception as e: print('FAIL', name, repr(e)[:300])
try:
    from transformers import GPT2Config, GPT2LMHeadModel
    gpt = GPT2LMHeadModel(GPT2Config(vocab_size=1000, n_embd=128, n_layer=2, n_head=4, n_positions=128)).eval()
    class W(nn.Module):
        def __init__(s, m): super().__init__(); s.m = m
        def forward(s, ids): return s.m(input_ids=ids, use_cache=False).logits
    with torch.no_grad():
        torch.onnx.export(W(gpt), (ids,), os.path.join(out, 'hf_gpt2_tiny.onnx'), input_names=['input_ids'], output_names=['logits'], opset_version=18, dynamo=True, external_data=False)
    print('ok hf_gpt2_tiny', os.path.getsize(os.path.join(out, 'hf_gpt2_tiny.onnx')))
except Exception as e: print('FAIL gpt2 dynamo', repr(e)[:300])
