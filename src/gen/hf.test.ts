// The tiny Hugging Face folder is self-consistent and its model runs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { tinyBertFolder } from './hf.js';
import { withTempDir } from '../testing/tmp.js';

interface TokenizerJson {
  added_tokens: Array<{ id: number; content: string; special: boolean }>;
  model: { type: string; vocab: Record<string, number>; unk_token: string };
  post_processor: { special_tokens: Record<string, { ids: number[] }> };
}

test('tinyBertFolder writes a consistent HF BERT folder whose model runs', async () => {
  await withTempDir(os.tmpdir(), async (dir) => {
    const f = await tinyBertFolder(dir);
    const json = async <T>(name: string) => JSON.parse(await readFile(path.join(dir, name), 'utf8')) as T;
    const config = await json<Record<string, unknown>>('config.json');
    const tok = await json<TokenizerJson>('tokenizer.json');
    const tokConfig = await json<Record<string, unknown>>('tokenizer_config.json');
    const specialMap = await json<Record<string, string>>('special_tokens_map.json');

    assert.equal(config.model_type, 'bert');
    assert.equal(config.vocab_size, f.vocab.length);
    assert.equal(config.hidden_size, f.config.hidden);
    assert.equal(config.num_hidden_layers, f.config.layers);
    assert.equal(config.num_attention_heads, f.config.heads);
    assert.equal(config.max_position_embeddings, tokConfig.model_max_length);
    assert.equal(tok.model.type, 'WordPiece');
    assert.equal(Object.keys(tok.model.vocab).length, f.vocab.length);
    for (const s of ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']) {
      assert.ok(Object.values(specialMap).includes(s));
      const id = tok.model.vocab[s]!;
      assert.ok(tok.added_tokens.some((a) => a.content === s && a.id === id && a.special));
    }
    assert.deepEqual(tok.post_processor.special_tokens['[CLS]']!.ids, [tok.model.vocab['[CLS]']]);
    assert.equal((await readFile(path.join(dir, 'vocab.txt'), 'utf8')).trimEnd().split('\n').length, f.vocab.length);

    // "[CLS] hello world ##s [SEP]" as the tokenizer would produce it.
    const ids = ['[CLS]', 'hello', 'world', '##s', '[SEP]'].map((t) => tok.model.vocab[t]!);
    const s = await ort.InferenceSession.create(path.join(dir, 'onnx', 'model.onnx'));
    const t = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v, BigInt), [1, v.length]);
    const o = await s.run({
      input_ids: t(ids),
      attention_mask: t(ids.map(() => 1)),
      token_type_ids: t(ids.map(() => 0)),
    });
    assert.deepEqual(o.last_hidden_state!.dims, [1, 5, f.config.hidden]);
    assert.ok((o.last_hidden_state!.data as Float32Array).every(Number.isFinite));
    await s.release();
  });
});
