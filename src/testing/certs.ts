// Certificates for the mutual-TLS tests, made at test time with the openssl
// CLI (no key material is committed): a CA and leaf certificates it signs,
// each valid for both ends of a connection (serverAuth and clientAuth), EC
// P-256 so generation takes milliseconds.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { testEnv } from './env.js';

const run = promisify(execFile);

/** Whether the openssl CLI is on PATH (tests that need it skip without it). */
export async function haveOpenssl(): Promise<boolean> {
  return run('openssl', ['version'], { env: testEnv() }).then(
    () => true,
    () => false,
  );
}

export interface Leaf {
  cert: string;
  key: string;
  /** The CA that signed it. */
  ca: string;
}

/** A CA in `dir/<name>-ca.{crt,key}`, and `leaf(cn)` for certificates it signs. */
export async function makeCa(dir: string, name: string): Promise<{ ca: string; leaf(cn: string): Promise<Leaf> }> {
  const env = testEnv();
  const ca = path.join(dir, `${name}-ca.crt`);
  const caKey = path.join(dir, `${name}-ca.key`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', caKey, '-out', ca, '-subj', `/CN=${name}`, '-days', '2'], {
    env,
  });
  let serial = 0;
  return {
    ca,
    async leaf(cn) {
      const base = path.join(dir, `${name}-${cn}`);
      const ext = `${base}.ext`;
      await fs.writeFile(ext, 'extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n');
      await run('openssl', ['req', ...ec, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`], {
        env,
      });
      await run(
        'openssl',
        [
          'x509',
          '-req',
          '-in',
          `${base}.csr`,
          '-CA',
          ca,
          '-CAkey',
          caKey,
          '-set_serial',
          String(++serial),
          '-out',
          `${base}.crt`,
          '-days',
          '2',
          '-extfile',
          ext,
        ],
        { env },
      );
      return { cert: `${base}.crt`, key: `${base}.key`, ca };
    },
  };
}
