#!/usr/bin/env python3
# PyTorch CUDA allocator traces for `tensorshare sim alloc` (traces/alloc/README.md).
# Usage, on a machine with a CUDA GPU: python3 scripts/collect-alloc-traces.py OUTDIR
# Each trace: torch.cuda.memory._record_memory_history(context=None), then the
# model's load and its requests, then _snapshot(); written as gzipped JSON
# {"meta", "marks", "device_traces"}: device_traces as _snapshot() returns it
# (frames dropped: none are recorded with context=None), marks the index of
# the first entry of each request, meta the real allocator's memory_stats().
# Random init only.
import gzip, json, os, sys, torch
from torch.cuda import memory as M

OUT = sys.argv[1]
D = 'cuda'


def resnet50():
    import torchvision
    return torchvision.models.resnet50(weights=None)


def bert_base():
    from transformers import BertConfig, BertForSequenceClassification
    return BertForSequenceClassification(BertConfig())  # BERT-base: 12 x 768, seq 128 below


def rn_in(b):
    return dict(x=torch.randn(b, 3, 224, 224, device=D)), torch.randint(0, 1000, (b,), device=D)


def bert_in(b):
    return dict(input_ids=torch.randint(0, 30522, (b, 128), device=D)), torch.randint(0, 2, (b,), device=D)


def n_entries():
    return len(M._snapshot()['device_traces'][0])


def trace(name, build, inputs, batches, train):
    torch.manual_seed(0)
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    M._record_memory_history(context=None, stacks='python', max_entries=10**7, clear_history=True)
    marks = [dict(at=0, name='load', model=build.__name__)]
    m = build().to(D)
    if train:
        m.train()
        opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
        for b in batches:
            marks.append(dict(at=n_entries(), name='step', batch=b))
            x, y = inputs(b)
            out = m(**x)
            logits = out if torch.is_tensor(out) else out.logits
            torch.nn.functional.cross_entropy(logits, y).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            del x, y, out, logits
            torch.cuda.synchronize()
    else:
        m.eval()
        with torch.inference_mode():
            for b in batches:
                marks.append(dict(at=n_entries(), name='request', batch=b))
                x, _ = inputs(b)
                out = m(**x)
                del x, out
                torch.cuda.synchronize()
    s = M._snapshot()
    M._record_memory_history(enabled=None)
    ev = [{k: v for k, v in e.items() if k != 'frames'} for e in s['device_traces'][0]]
    meta = dict(model=build.__name__, train=train, batches=batches, torch=torch.__version__,
                cuda=torch.version.cuda, gpu=torch.cuda.get_device_name(0), stats=torch.cuda.memory_stats())
    with gzip.open(os.path.join(OUT, name + '.json.gz'), 'wt') as f:
        json.dump(dict(meta=meta, marks=marks, device_traces=[ev]), f, separators=(',', ':'))
    print(name, len(ev), 'entries', flush=True)
    del m


for name, build, inputs, batches, train in [
    ('resnet50-infer-b1', resnet50, rn_in, [1] * 4, False),
    ('resnet50-infer-b8', resnet50, rn_in, [8] * 4, False),
    ('resnet50-infer-b32', resnet50, rn_in, [32] * 4, False),
    ('resnet50-infer-mixed', resnet50, rn_in, [1, 32, 8, 16, 4, 32, 2, 8], False),
    ('resnet50-train-b32', resnet50, rn_in, [32], True),
    ('bert-infer-b1', bert_base, bert_in, [1] * 4, False),
    ('bert-infer-b8', bert_base, bert_in, [8] * 4, False),
    ('bert-infer-b32', bert_base, bert_in, [32] * 4, False),
    ('bert-infer-mixed', bert_base, bert_in, [1, 32, 8, 16, 4, 32, 2, 8], False),
    ('bert-train-b16', bert_base, bert_in, [16], True),
]:
    try:
        trace(name, build, inputs, batches, train)
    except Exception as e:  # one model failing must not lose the others
        print(name, 'FAILED', repr(e), flush=True)
