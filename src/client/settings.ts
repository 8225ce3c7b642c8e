// Client settings, resolved once from options > environment > defaults.
// The register hook has no other way to be configured than the environment.
import { defaultSocket } from '../config.js';
import type { OpenMode } from '../store/manifest.js';

export interface ClientSettings {
  socket: string;
  token: string | undefined;
  /** false: the register hook leaves onnxruntime-node alone. */
  enabled: boolean;
  mode: OpenMode | undefined;
  /** Chrome trace file for this process (`%p` = pid), or undefined. */
  profile: string | undefined;
  /** How long to wait for the daemon before giving up (the hook then falls back to plain ORT). */
  connectTimeoutMs: number;
  /** 'cpu': sessions the register hook opens on the CPU run on the daemon's CPU executor. */
  executor: 'cpu' | undefined;
}

export const CLIENT_ENV = [
  ['TENSORSHARE_SOCKET', 'daemon socket', '`$TENSORSHARE_STORE/daemon.sock` (`/dev/shm/tensorshare/daemon.sock`)'],
  ['TENSORSHARE_TOKEN', 'tenant token, sent as `authorization: Bearer <token>`', '(none)'],
  ['TENSORSHARE_ENABLED', '`false` or `0`: the register hook does nothing', '`true`'],
  ['TENSORSHARE_MODE', '`fast-open` or `fast-run` for sessions opened by the hook', "the model's default"],
  ['TENSORSHARE_PROFILE', 'write Chrome trace events of this process to the file (`%p` = pid)', '(off)'],
  [
    'TENSORSHARE_EXECUTOR',
    "`cpu`: CPU sessions the register hook opens run on the daemon's CPU executor (`cpuExecutor`), one shared session per model",
    '(in this process)',
  ],
  [
    'TENSORSHARE_CONNECT_TIMEOUT',
    'ms to wait for the daemon before failing (the hook: before falling back)',
    '`5000` (`open()`), `1000` (hook)',
  ],
] as const;

export function clientSettings(
  options: Partial<ClientSettings> = {},
  env: NodeJS.ProcessEnv = process.env,
  defaultTimeoutMs = 5000,
): ClientSettings {
  const mode =
    options.mode ??
    (env.TENSORSHARE_MODE === 'fast-open' || env.TENSORSHARE_MODE === 'fast-run' ? env.TENSORSHARE_MODE : undefined);
  const timeout = Number(env.TENSORSHARE_CONNECT_TIMEOUT);
  return {
    socket: options.socket ?? defaultSocket(env),
    token: options.token ?? (env.TENSORSHARE_TOKEN || undefined),
    enabled: options.enabled ?? !/^(false|0|no|off)$/i.test(env.TENSORSHARE_ENABLED ?? ''),
    mode,
    profile: options.profile ?? (env.TENSORSHARE_PROFILE || undefined),
    connectTimeoutMs:
      options.connectTimeoutMs ?? (Number.isFinite(timeout) && timeout > 0 ? timeout : defaultTimeoutMs),
    executor: options.executor ?? (env.TENSORSHARE_EXECUTOR === 'cpu' ? 'cpu' : undefined),
  };
}
