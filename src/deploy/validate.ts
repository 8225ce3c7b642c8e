// Validation of every rendered object against its official schema: built-in
// kinds through kubernetes-models (schemas generated from Kubernetes'
// OpenAPI), KServe's kinds through the CRD schemas vendored from KServe's
// repository (deploy/schemas, see its README). A CRD schema lets the API
// server prune unknown fields silently; here an unknown field is an error,
// because a typo that the cluster drops is a setting that never applies.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Ajv, type ValidateFunction } from 'ajv';
import { TensorshareError } from '../errors.js';
import { packageRoot } from '../paths.js';

/** A Kubernetes object: a typed model instance (with `validate()`) or plain data of a custom kind. */
export type KubeObject = { readonly apiVersion: string; readonly kind: string } & (
  | { validate(): void; toJSON(): unknown }
  | Record<string, unknown>
);

const CRD_SCHEMAS: Record<string, string> = {
  'serving.kserve.io/v1alpha1/ServingRuntime': 'serving.kserve.io_servingruntimes.v1alpha1.json.gz',
  'serving.kserve.io/v1beta1/InferenceService': 'serving.kserve.io_inferenceservices.v1beta1.json.gz',
};

type Schema = { [key: string]: unknown };

/** Closes every object schema that lists its properties and does not preserve unknown fields. */
function closeObjects(schema: Schema): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (Array.isArray(v)) out[k] = v.map((x) => (x && typeof x === 'object' ? closeObjects(x as Schema) : x));
    else if (v && typeof v === 'object' && k !== 'enum' && k !== 'default' && k !== 'example')
      out[k] = k === 'properties' ? mapValues(v as Record<string, Schema>, closeObjects) : closeObjects(v as Schema);
    else out[k] = v;
  }
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields'])
    out.additionalProperties = false;
  return out;
}

function mapValues<T, U>(o: Record<string, T>, f: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}

const compiled = new Map<string, ValidateFunction>();

function crdValidator(key: string): ValidateFunction | undefined {
  const file = CRD_SCHEMAS[key];
  if (!file) return undefined;
  let fn = compiled.get(key);
  if (!fn) {
    const raw = JSON.parse(
      zlib.gunzipSync(fs.readFileSync(path.join(packageRoot, 'deploy', 'schemas', file))).toString('utf8'),
    ) as Schema;
    // Kubernetes' structural-schema keywords (x-kubernetes-*) carry no JSON-Schema meaning here.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    fn = ajv.compile(closeObjects(raw));
    compiled.set(key, fn);
  }
  return fn;
}

/** Throws ERR_INVALID_ARGUMENT naming the object and every failing field. */
export function validateObject(obj: KubeObject): void {
  const name = `${obj.kind} ${String((plain(obj).metadata as { name?: string } | undefined)?.name ?? '?')}`;
  if (typeof (obj as { validate?: unknown }).validate === 'function') {
    try {
      (obj as { validate(): void }).validate();
    } catch (e) {
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `${name}: ${(e as Error).message}`);
    }
    return;
  }
  const key = `${obj.apiVersion}/${obj.kind}`;
  const fn = crdValidator(key);
  if (!fn) throw new TensorshareError('ERR_INVALID_ARGUMENT', `${name}: no schema for ${key}`);
  if (!fn(plain(obj))) {
    const problems = (fn.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${extra(e.params)}`);
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${name}: ${problems.join('; ')}`);
  }
}

function extra(params: Record<string, unknown>): string {
  return params.additionalProperty ? ` (${String(params.additionalProperty)})` : '';
}

/** The object as plain JSON data, as it is written to YAML. */
export function plain(obj: KubeObject): Record<string, unknown> {
  const toJSON = (obj as { toJSON?: () => unknown }).toJSON;
  return JSON.parse(JSON.stringify(typeof toJSON === 'function' ? toJSON.call(obj) : obj)) as Record<string, unknown>;
}
