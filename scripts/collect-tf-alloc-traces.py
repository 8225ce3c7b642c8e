#!/usr/bin/env python3
# TensorFlow allocation traces for `tensorshare sim alloc` (traces/alloc/README.md).
# Usage: python3 scripts/collect-tf-alloc-traces.py OUTDIR [name...]
# (python3: a venv with tensorflow-cpu and tf_keras, see the README; tooling only).
#
# Each trace runs in a child process of its own (allocation ids start afresh)
# with TF_CPP_VMODULE=log_memory=2, which is what turns TensorFlow's memory
# log on in TF 2.18 (LogMemory::IsEnabled is VLOG_IS_ON(2) in log_memory.cc;
# TF_CPP_MIN_VLOG_LEVEL=2 no longer does, TF_CPP_MAX_VLOG_LEVEL=2 does but
# logs every module). The child's stderr is filtered to the lines holding
# __LOG_MEMORY__, kept exactly as TensorFlow wrote them, and gzipped.
#
# The models run in graph mode (tf.compat.v1 session through tf_keras):
# eager ops and tf.function do not log their allocations, and eagerly created
# variables (the weights) are never logged. In a session every run is a
# MemoryLogStep; the runs with no feeds are the variable initialisation (the
# model load). Random initialisation only, no downloads.
import gzip, json, os, subprocess, sys

RECIPES = {
    'tf-resnet50-infer-b1': ('resnet50', [1] * 4, False),
    'tf-resnet50-infer-b8': ('resnet50', [8] * 4, False),
    'tf-resnet50-train-b8': ('resnet50', [8], True),
    'tf-bert-infer-b1': ('bert', [1] * 4, False),
    'tf-bert-infer-b8': ('bert', [8] * 4, False),
    'tf-bert-train-b8': ('bert', [8], True),
}
SEQ = 128


def child(name):
    os.environ['TF_USE_LEGACY_KERAS'] = '1'
    import numpy as np
    import tensorflow as tf
    tf.compat.v1.disable_eager_execution()
    import tf_keras as keras
    kind, batches, train = RECIPES[name]
    tf.compat.v1.set_random_seed(0)
    rng = np.random.default_rng(0)
    if kind == 'resnet50':
        m = keras.applications.ResNet50(weights=None)
        classes = 1000
        x_of = lambda b: [rng.standard_normal((b, 224, 224, 3), dtype=np.float32)]
    else:
        m = bert_base(keras)
        classes = 2
        x_of = lambda b: [rng.integers(0, 30522, (b, SEQ), dtype=np.int32)]
    if train:
        # The legacy optimizer: graph-mode training (training_v1) needs get_updates.
        m.compile(optimizer=keras.optimizers.legacy.Adam(1e-4), loss='sparse_categorical_crossentropy')
        for b in batches:
            m.train_on_batch(x_of(b), rng.integers(0, classes, (b,)))
    else:
        sess = tf.compat.v1.keras.backend.get_session()
        for b in batches:
            sess.run(m.outputs, dict(zip(m.inputs, x_of(b))))
    sys.stdout.write(json.dumps(dict(name=name, tensorflow=tf.__version__, tf_keras=keras.__version__,
                                     numpy=np.__version__, batches=batches, train=train,
                                     params=int(m.count_params()))) + '\n')


def bert_base(keras):
    # BERT-base-shaped encoder from tf_keras layers: 12 x (self-attention, 12 heads of 64; FFN 3072), hidden 768,
    # vocabulary 30522, 512 positions, sequence 128, a 2-class head on the first token.
    L = keras.layers
    ids = keras.Input((SEQ,), dtype='int32', name='input_ids')
    h = L.Embedding(30522, 768)(ids)
    positions = L.Lambda(lambda t: keras.backend.cumsum(keras.backend.ones_like(t), axis=1) - 1)(ids)
    pos = L.Embedding(512, 768)(positions)
    h = L.LayerNormalization(epsilon=1e-12)(h + pos)
    for _ in range(12):
        a = L.MultiHeadAttention(num_heads=12, key_dim=64)(h, h)
        h = L.LayerNormalization(epsilon=1e-12)(h + a)
        f = L.Dense(768)(L.Dense(3072, activation='gelu')(h))
        h = L.LayerNormalization(epsilon=1e-12)(h + f)
    pooled = L.Dense(768, activation='tanh')(h[:, 0])
    out = L.Dense(2, activation='softmax')(pooled)
    return keras.Model(ids, out)


def main():
    if sys.argv[1] == '--child':
        return child(sys.argv[2])
    out = sys.argv[1]
    names = sys.argv[2:] or list(RECIPES)
    os.makedirs(out, exist_ok=True)
    manifest = {}
    for name in names:
        env = dict(os.environ, TF_CPP_VMODULE='log_memory=2', TF_CPP_MIN_LOG_LEVEL='0', CUDA_VISIBLE_DEVICES='')
        p = subprocess.Popen([sys.executable, __file__, '--child', name], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        kept = 0
        with gzip.open(os.path.join(out, name + '.log.gz'), 'wt', compresslevel=9) as f:
            for line in p.stderr:
                if '__LOG_MEMORY__' in line:
                    f.write(line)
                    kept += 1
        info = p.stdout.read()
        if p.wait() != 0:
            print(name, 'FAILED', flush=True)
            continue
        manifest[name] = dict(json.loads(info), lines=kept)
        print(name, kept, 'lines', flush=True)
    print(json.dumps(manifest, indent=1))


main()
