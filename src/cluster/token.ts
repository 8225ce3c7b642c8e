// The shared cluster token: every agent and extender call carries it as
// `authorization: Bearer <token>`. Compared as SHA-256 digests with
// timingSafeEqual, so neither its length nor a matching prefix shows in the
// time an answer takes.
import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { TensorshareError } from '../errors.js';

export const MIN_TOKEN_LENGTH = 16;

export interface ClusterToken {
  /** Whether an `authorization` header value carries this token. */
  accepts(authorization: string | undefined): boolean;
  /** The header value a caller sends. */
  readonly header: string;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function clusterToken(secret: string): ClusterToken {
  if (typeof secret !== 'string' || secret.length < MIN_TOKEN_LENGTH || /\s/.test(secret))
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `the cluster token must be at least ${MIN_TOKEN_LENGTH} characters without white space`,
    );
  const mine = digest(secret);
  return {
    header: `Bearer ${secret}`,
    accepts(authorization) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      // Always compare (a missing token against nothing), so a refusal takes the same time.
      const ok = timingSafeEqual(digest(m?.[1] ?? ''), mine);
      return ok && m !== null;
    },
  };
}

/** Reads a token file (one line; surrounding white space dropped), with errors that name the file. */
export function readTokenFile(file: string, what = '--token-file'): ClusterToken {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${what} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code})`,
      { file },
    );
  }
  try {
    return clusterToken(text.trim());
  } catch (e) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${what} ${file}: ${(e as Error).message}`, { file });
  }
}
