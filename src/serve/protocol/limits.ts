// Bounds on what one request may make the gateway allocate. A body under the
// byte limit can still decode to far more memory than its size (31 million
// empty protobuf entries, `[{},{},...]`, zero-length BYTES elements), so the
// decoders count elements, nesting and string sizes first and refuse before
// building anything; each refusal names the limit it hit.

export interface DecodeLimits {
  /** Inputs, requested outputs and raw_input_contents entries, each (default 256). */
  maxTensors: number;
  /** Entries of one parameters map (default 256). */
  maxParameters: number;
  /** Dimensions of one shape (default 32). */
  maxRank: number;
  /** Bytes of a model, version, tensor, datatype or parameter name (default 512). */
  maxNameBytes: number;
  /** Elements decoded from JSON `data` / gRPC typed contents per request (default 2^22); binary and raw data do not count. */
  maxValues: number;
  /** BYTES elements per request, whatever the encoding (default 2^20). */
  maxBytesElements: number;
  /** Nesting of a JSON body (default 64). */
  maxJsonDepth: number;
  /** Objects and arrays in a JSON body (default 2^20). */
  maxJsonContainers: number;
  /** Bytes of a JSON-encoded response, and of gRPC typed response contents (default 64 MiB). */
  maxJsonResponseBytes: number;
}

export const DECODE_LIMITS: DecodeLimits = {
  maxTensors: 256,
  maxParameters: 256,
  maxRank: 32,
  maxNameBytes: 512,
  maxValues: 2 ** 22,
  maxBytesElements: 2 ** 20,
  maxJsonDepth: 64,
  maxJsonContainers: 2 ** 20,
  maxJsonResponseBytes: 64 * 1024 * 1024,
};

/** Largest element count a single tensor may declare (guards allocations driven by shapes). */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/** A name for an error message: long names are cut, so a message stays small whatever the client sent. */
export function shown(name: string, max = 64): string {
  return name.length > max ? `${name.slice(0, max)}… (${name.length} characters)` : name;
}
