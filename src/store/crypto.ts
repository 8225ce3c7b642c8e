// node:crypto, loaded on its first use instead of at import: opening a
// resident model in fast-open needs no hash and no random name, and the
// module costs every process that loads it about 0.5 MiB of Pss_Anon
// (docs/benchmarks.md, section 1: what an instance imports).
import { createRequire } from 'node:module';

type Crypto = typeof import('node:crypto');
const require = createRequire(import.meta.url);
let loaded: Crypto | undefined;

export function nodeCrypto(): Crypto {
  loaded ??= require('node:crypto') as Crypto;
  return loaded;
}
