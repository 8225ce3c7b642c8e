// Mutual TLS for peer traffic, the alternative to (or addition to) the shared
// cluster token: every agent holds a certificate signed by the cluster's CA
// and accepts only callers that present one too. A certificate proves
// membership of the cluster, not a host name: peers are reached by pod IP
// (a headless Service), so the chain is checked against the CA and the name
// in the certificate is not compared with the address. Files are PEM, the
// layout of a kubernetes.io/tls Secret from cert-manager: tls.crt, tls.key,
// ca.crt. They are read at start; rotate by restarting the pods.
import fs from 'node:fs';
import https from 'node:https';
import tls, { type TLSSocket } from 'node:tls';
import { TensorshareError } from '../errors.js';

export interface AgentTls {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
  /** The files, for error messages. */
  files: { cert: string; key: string; ca: string };
}

export interface TlsFiles {
  cert?: string;
  key?: string;
  ca?: string;
}

export type TlsFlags = { cert: string; key: string; ca: string };

const KEYS = ['cert', 'key', 'ca'] as const;

/** The three files (all or none), read and checked now, with errors that name the flag. */
export function readAgentTls(files: TlsFiles, flags: TlsFlags): AgentTls | undefined {
  const given = KEYS.filter((k) => files[k] !== undefined);
  if (given.length === 0) return undefined;
  if (given.length !== 3) {
    const missing = KEYS.filter((k) => files[k] === undefined).map((k) => flags[k]);
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `mutual TLS needs a certificate, its key and the cluster CA: give ${missing.join(' and ')} too`,
    );
  }
  const read = (k: (typeof KEYS)[number]) => {
    const file = files[k]!;
    let b: Buffer;
    try {
      b = fs.readFileSync(file);
    } catch (e) {
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `${flags[k]} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code})`,
        { file },
      );
    }
    if (!b.includes('-----BEGIN '))
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `${flags[k]} ${file}: not a PEM file`, { file });
    return b;
  };
  const out: AgentTls = {
    cert: read('cert'),
    key: read('key'),
    ca: read('ca'),
    files: { cert: files.cert!, key: files.key!, ca: files.ca! },
  };
  // Loaded once now, so a key that does not match its certificate fails at start, naming the files.
  try {
    tls.createSecureContext({ cert: out.cert, key: out.key, ca: out.ca });
  } catch (e) {
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `${flags.cert} ${out.files.cert} with ${flags.key} ${out.files.key} and ${flags.ca} ${out.files.ca}: ${(e as Error).message}`,
    );
  }
  return out;
}

const MIN_VERSION = 'TLSv1.2' as const;

/**
 * The agent server's options. A client certificate is requested and checked
 * against the cluster CA, but a failed check does not abort the handshake:
 * under TLS 1.3 the client would only see the connection drop ("socket hang
 * up"). The server refuses every request of such a connection instead
 * (agent-server.ts: 401 naming why, `refusal` below), which the caller can
 * read.
 */
export function serverTlsOptions(t: AgentTls): https.ServerOptions {
  return { cert: t.cert, key: t.key, ca: t.ca, requestCert: true, rejectUnauthorized: false, minVersion: MIN_VERSION };
}

/** Why a TLS connection to the agent may not make requests, or undefined when its certificate is the cluster's. */
export function refusal(socket: TLSSocket): string | undefined {
  if (socket.authorized) return undefined;
  const why = socket.authorizationError ? String(socket.authorizationError) : 'no client certificate';
  return `TLS: this caller's certificate is not signed by the cluster CA this agent trusts (${why})`;
}

/** A keep-alive agent presenting this node's certificate and trusting only the cluster CA. */
export function clientAgent(t: AgentTls): https.Agent {
  return new https.Agent({
    cert: t.cert,
    key: t.key,
    ca: t.ca,
    keepAlive: true,
    minVersion: MIN_VERSION,
    // Chain checked against the CA (rejectUnauthorized stays on); the name is not (see the top of the file).
    checkServerIdentity: () => undefined,
  });
}

// OpenSSL's and Node's codes for a certificate the other side's CA did not sign.
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/**
 * A clear error for a TLS failure on a call to an agent, or undefined when
 * `code` is not one. The two sides of a wrong CA fail differently: this node
 * does not trust the agent's certificate (a verification code), or the agent
 * does not trust this node's (an alert from the agent during the handshake).
 */
export function tlsFailure(
  what: string,
  code: string | undefined,
  t: AgentTls | undefined,
): TensorshareError | undefined {
  if (!code) return undefined;
  const ca = t ? ` (--agent-tls-ca ${t.files.ca})` : '';
  if (UNTRUSTED.has(code))
    return new TensorshareError(
      'ERR_UNAUTHENTICATED',
      `${what}: TLS: the agent's certificate is not signed by the cluster CA this node trusts${ca} (${code})`,
      { tls: code },
    );
  if (/ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_REQUIRED|CERTIFICATE_UNKNOWN|DECRYPT_ERROR)/.test(code))
    return new TensorshareError(
      'ERR_UNAUTHENTICATED',
      `${what}: TLS: the agent refused this node's client certificate (not signed by the CA it trusts; ${code})`,
      { tls: code },
    );
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO')
    return new TensorshareError(
      'ERR_UNAVAILABLE',
      `${what}: TLS: the agent does not speak TLS here (is it started with --agent-tls-cert?) (${code})`,
      { tls: code },
    );
  return undefined;
}
