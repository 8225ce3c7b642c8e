// A tiny Hugging Face-style BERT folder (config + WordPiece tokenizer +
// onnx/model.onnx) for tests of @huggingface/transformers pipelines that must
// run offline. File layouts follow what `optimum` exports for
// bert-base-uncased, shrunk.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bert, BERT_BASE, type BertConfig } from './bert.js';
import { writeModel } from './writer.js';

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
const WORDS = [
  'the',
  'a',
  'an',
  'and',
  'or',
  'of',
  'to',
  'in',
  'on',
  'is',
  'are',
  'was',
  'be',
  'it',
  'this',
  'that',
  'i',
  'you',
  'we',
  'they',
  'he',
  'she',
  'hello',
  'world',
  'model',
  'models',
  'share',
  'shared',
  'weights',
  'memory',
  'fast',
  'slow',
  'test',
  'tensor',
  'store',
  'good',
  'bad',
  'cat',
  'dog',
  'run',
  '##s',
  '##ing',
  '##ed',
];

/**
 * The vocabulary, in id order: specials (ids 0-4), punctuation, digits,
 * whole words, then single letters and their "##" continuations so any
 * lowercase ASCII word tokenizes without [UNK].
 */
export function tinyVocab(): string[] {
  const letters = 'abcdefghijklmnopqrstuvwxyz'.split('');
  // A Set keeps first occurrences, so ids stay unique ("a", "##s" appear twice).
  return [
    ...new Set([
      ...SPECIAL,
      ...'.,!?\'-"():;'.split(''),
      ...'0123456789'.split(''),
      ...WORDS,
      ...letters,
      ...letters.map((l) => `##${l}`),
    ]),
  ];
}

export interface TinyBertFolderOptions {
  layers?: number;
  hidden?: number;
  heads?: number;
  intermediate?: number;
  maxPositions?: number;
  seed?: number;
}

export interface TinyBertFolder {
  dir: string;
  files: string[];
  vocab: string[];
  config: BertConfig;
}

/** Writes config.json, tokenizer files, vocab.txt and onnx/model.onnx (embedded weights) into `dir`. */
export async function tinyBertFolder(dir: string, opts: TinyBertFolderOptions = {}): Promise<TinyBertFolder> {
  const vocab = tinyVocab();
  const c: BertConfig = {
    ...BERT_BASE,
    layers: opts.layers ?? 2,
    hidden: opts.hidden ?? 32,
    heads: opts.heads ?? 2,
    intermediate: opts.intermediate ?? 64,
    vocab: vocab.length,
    maxPositions: opts.maxPositions ?? 128,
    typeVocab: 2,
    seed: opts.seed ?? 0,
  };
  const spec = bert(c);
  const id = (tok: string) => vocab.indexOf(tok);

  const config = {
    architectures: ['BertModel'],
    model_type: 'bert',
    attention_probs_dropout_prob: 0.1,
    classifier_dropout: null,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: c.hidden,
    initializer_range: 0.02,
    intermediate_size: c.intermediate,
    layer_norm_eps: c.layerNormEps,
    max_position_embeddings: c.maxPositions,
    num_attention_heads: c.heads,
    num_hidden_layers: c.layers,
    pad_token_id: id('[PAD]'),
    position_embedding_type: 'absolute',
    torch_dtype: 'float32',
    transformers_version: '4.46.0',
    type_vocab_size: c.typeVocab,
    use_cache: true,
    vocab_size: c.vocab,
    // Pins transformers.js to onnx/model.onnx whatever its default dtype for the device is.
    'transformers.js_config': { dtype: 'fp32' },
  };

  const added = SPECIAL.map((content) => ({
    id: id(content),
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const special = (tok: string, typeId: number) => ({ SpecialToken: { id: tok, type_id: typeId } });
  const seq = (which: 'A' | 'B', typeId: number) => ({ Sequence: { id: which, type_id: typeId } });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), seq('A', 0), special('[SEP]', 0)],
      pair: [special('[CLS]', 0), seq('A', 0), special('[SEP]', 0), seq('B', 1), special('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
    },
  };
  const tokenizerConfig = {
    added_tokens_decoder: Object.fromEntries(added.map(({ id: i, ...rest }) => [String(i), rest])),
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    do_basic_tokenize: true,
    do_lower_case: true,
    mask_token: '[MASK]',
    model_max_length: c.maxPositions,
    never_split: null,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    unk_token: '[UNK]',
  };
  const specialMap = {
    cls_token: '[CLS]',
    mask_token: '[MASK]',
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    unk_token: '[UNK]',
  };

  await mkdir(path.join(dir, 'onnx'), { recursive: true });
  const json = (name: string, v: unknown) => writeFile(path.join(dir, name), `${JSON.stringify(v, null, 2)}\n`);
  await Promise.all([
    json('config.json', config),
    json('tokenizer.json', tokenizer),
    json('tokenizer_config.json', tokenizerConfig),
    json('special_tokens_map.json', specialMap),
    writeFile(path.join(dir, 'vocab.txt'), `${vocab.join('\n')}\n`),
  ]);
  await writeModel(spec, path.join(dir, 'onnx', 'model.onnx'));
  const files = [
    'config.json',
    'tokenizer.json',
    'tokenizer_config.json',
    'special_tokens_map.json',
    'vocab.txt',
    'onnx/model.onnx',
  ];
  return { dir, files, vocab, config: c };
}
