// Every daemon setting, in one table: its config-file key, command-line flag,
// environment variable, default and meaning. Precedence: flag > environment
// (TENSORSHARE_*) > config file (JSON) > default. The README's table is
// generated from this one (settingsMarkdown) and a test keeps them equal.
import { type CpuSetting, parseCpuSetting } from '../device/cpu-list.js';
import { type DevicePolicy, parseDevicePolicy } from '../sched/device-policy.js';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { defaultRepository, defaultStore } from '../config.js';
import { TensorshareError } from '../errors.js';
import { isValidName } from '../store/layout.js';
import { isPolicyName, POLICY_NAMES, type PolicyName } from './policy/index.js';
import { HUGE_PAGES_MODES, type HugePagesMode } from '../store/huge-pages.js';
import { parseBudget, parseBytes, parseDuration, type Budget } from './units.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface TenantSpec {
  name: string;
  /** SHA-256 of the token; tokens are compared by digest, in constant time. */
  tokenSha256: Buffer;
  /** May import into the `public` namespace. */
  publish: boolean;
}

export interface DaemonConfig {
  repository: string;
  store: string;
  /** The store is the default location (hugePages auto mounts only there). */
  storeIsDefault: boolean;
  hugePages: HugePagesMode;
  socket: string;
  socketMode: number;
  /** Group id given to the socket (its group may connect, with socketMode's group bits); undefined: the daemon's own group. */
  socketGroup: number | undefined;
  budget: Budget;
  policy: PolicyName;
  ttlMs: number;
  reclaimIntervalMs: number;
  originals: 'cut' | 'keep';
  originalsLingerMs: number;
  prebuildFastRun: boolean;
  pathImport: boolean;
  maxUploadBytes: number;
  dedupAcrossTenants: boolean;
  restoreGraceMs: number;
  logLevel: LogLevel;
  profile: string | undefined;
  tenants: TenantSpec[];
  configFile: string | undefined;
  gpus: GpuSetting;
  gpuBudget: Budget;
  gpuMaxBatch: number;
  gpuPolicy: DevicePolicy;
  gpuCpus: CpuSetting;
  /** Unset: the executor's default (2 ms on a GPU, 0 for the CPU stand-in). */
  gpuSpinMs: number | undefined;
  /** Queued requests per replica of a GPU model that ask for one more replica on another device; 0: none. */
  gpuReplicaQueue: number;
  /** How long that pressure lasts before a replica is added (and a model is idle before one goes), ms. */
  gpuReplicaAfterMs: number;
  /** The CPU executor's budget of private memory; undefined: no CPU executor. */
  cpuExecutor: Budget | undefined;
  /** ORT intra-op threads of each CPU executor session; undefined: the CPUs this process may use. */
  cpuExecutorThreads: number | undefined;
}

export type GpuSetting =
  | { kind: 'auto' }
  | { kind: 'none' }
  | { kind: 'indices'; indices: number[] }
  | { kind: 'fake'; bytes: number[] };

function parseGpus(v: unknown, where: string): GpuSetting {
  const s = String(v).trim();
  if (s === 'auto' || s === 'none') return { kind: s };
  if (s.startsWith('fake:')) {
    const bytes = s
      .slice(5)
      .split(',')
      .map((x) => parseBytes(x.trim(), where));
    return { kind: 'fake', bytes };
  }
  const indices = s.split(',').map((x) => Number(x.trim()));
  if (!indices.length || indices.some((i) => !Number.isInteger(i) || i < 0) || new Set(indices).size !== indices.length)
    throw bad(where, `expected auto, none, GPU indices such as 0,1, or fake:<size>, got '${s}'`);
  return { kind: 'indices', indices };
}

function parseCount0(v: unknown, where: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65536)
    throw bad(where, `expected a whole number from 0 to 65536, got '${v}'`);
  return n;
}

function parseCount(v: unknown, where: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65536)
    throw bad(where, `expected a whole number from 1 to 65536, got '${v}'`);
  return n;
}

type Kind =
  | 'path'
  | 'octal'
  | 'gid'
  | 'budget'
  | 'policy'
  | 'duration'
  | 'boolean'
  | 'bytes'
  | 'level'
  | 'devices'
  | 'count'
  | 'count0'
  | 'hugePages'
  | 'originals'
  | 'cpus'
  | 'cpuExecutor';

export interface Setting {
  key: string;
  flag: string;
  env: string;
  kind: Kind;
  /** The default as a user would write it, parsed like any other value: the one source of both the value and its documentation. */
  value?: string;
  /** Documentation of the default (markdown): `value` in backticks, or the text of a default computed at run time. */
  default: string;
  description: string;
}

type SettingSpec = Omit<Setting, 'default'> & ({ value: string } | { computed: string });

const setting = (s: SettingSpec): Setting => {
  const { computed, ...rest } = s as SettingSpec & { computed?: string };
  return { ...rest, default: s.value !== undefined ? `\`${s.value}\`` : computed! };
};

export const SETTINGS: readonly Setting[] = [
  setting({
    key: 'config',
    flag: '--config <file>',
    env: 'TENSORSHARE_CONFIG',
    kind: 'path',
    computed: '(none)',
    description: 'JSON config file: any key of this table, plus `tenants`',
  }),
  setting({
    key: 'repository',
    flag: '--repository <dir>',
    env: 'TENSORSHARE_REPOSITORY',
    kind: 'path',
    computed: '`$XDG_DATA_HOME/tensorshare` (`~/.local/share/tensorshare`)',
    description: 'durable repository (disk)',
  }),
  setting({
    key: 'store',
    flag: '--store <dir>',
    env: 'TENSORSHARE_STORE',
    kind: 'path',
    computed: '`/dev/shm/tensorshare`',
    description: 'resident store (tmpfs) that clients map',
  }),
  setting({
    key: 'hugePages',
    flag: '--huge-pages <mode>',
    env: 'TENSORSHARE_HUGE_PAGES',
    kind: 'hugePages',
    value: 'auto',
    description:
      'mount a tmpfs with `huge=within_size` at an empty store root so weights map in 2 MiB pages (fewer page faults on a first run): `auto` (at the default store, where the daemon may mount; else it logs why not), `on` (at any store, or refuse to start), `off`',
  }),
  setting({
    key: 'socket',
    flag: '--socket <path>',
    env: 'TENSORSHARE_SOCKET',
    kind: 'path',
    computed: '`<store>/daemon.sock`',
    description: 'Unix socket of the gRPC API',
  }),
  setting({
    key: 'socketMode',
    flag: '--socket-mode <octal>',
    env: 'TENSORSHARE_SOCKET_MODE',
    kind: 'octal',
    value: '0660',
    description: 'socket permissions; world-writable modes are refused',
  }),
  setting({
    key: 'socketGroup',
    flag: '--socket-group <gid>',
    env: 'TENSORSHARE_SOCKET_GROUP',
    kind: 'gid',
    computed: "(the daemon's group)",
    description:
      "numeric group id of the socket: processes of that group may connect (`tensorshare serve` passes its instances' group)",
  }),
  setting({
    key: 'budget',
    flag: '--budget <size>',
    env: 'TENSORSHARE_BUDGET',
    kind: 'budget',
    value: '0.8',
    description: 'store memory budget: bytes (`512MiB`, `2GB`) or a fraction/percent of the tmpfs size (`0.8`, `80%`)',
  }),
  setting({
    key: 'policy',
    flag: '--policy <name>',
    env: 'TENSORSHARE_POLICY',
    kind: 'policy',
    value: 'lru',
    description: `eviction policy: ${POLICY_NAMES.map((p) => `\`${p}\``).join(', ')}`,
  }),
  setting({
    key: 'ttl',
    flag: '--ttl <duration>',
    env: 'TENSORSHARE_TTL',
    kind: 'duration',
    value: '60s',
    description: 'keep-alive window after the last reference ends (`ttl` policy)',
  }),
  setting({
    key: 'reclaimInterval',
    flag: '--reclaim-interval <duration>',
    env: 'TENSORSHARE_RECLAIM_INTERVAL',
    kind: 'duration',
    value: '5s',
    description: 'period of the reclaimer (expiry, budget overrun, dead restored clients)',
  }),
  setting({
    key: 'originals',
    flag: '--originals <mode>',
    env: 'TENSORSHARE_ORIGINALS',
    kind: 'originals',
    value: 'cut',
    description:
      "fast-run files' original bytes, which ONNX Runtime reads only while it creates a session: `cut` (off the store once no creation window has been open for `originalsLinger`; restored from the repository for the next creation), `keep` (always in the store; `serve` sets it when instances run as other users, who cannot open windows)",
  }),
  setting({
    key: 'originalsLinger',
    flag: '--originals-linger <duration>',
    env: 'TENSORSHARE_ORIGINALS_LINGER',
    kind: 'duration',
    value: '10s',
    description:
      'how long fast-run originals stay after the last session creation ended (`originals: cut`): instances started within it restore nothing',
  }),
  setting({
    key: 'prebuildFastRun',
    flag: '--[no-]prebuild-fast-run',
    env: 'TENSORSHARE_PREBUILD_FAST_RUN',
    kind: 'boolean',
    value: 'false',
    description: 'after a fast-open Open, build the fast-run variant in the background',
  }),
  setting({
    key: 'pathImport',
    flag: '--[no-]path-import',
    env: 'TENSORSHARE_PATH_IMPORT',
    kind: 'boolean',
    computed: '`true` without tenants, else `false`',
    description: 'allow Import of a file path the daemon reads (Upload always works)',
  }),
  setting({
    key: 'maxUpload',
    flag: '--max-upload <size>',
    env: 'TENSORSHARE_MAX_UPLOAD',
    kind: 'bytes',
    value: '4GiB',
    description: 'largest model accepted by Upload',
  }),
  setting({
    key: 'dedupAcrossTenants',
    flag: '--[no-]dedup-across-tenants',
    env: 'TENSORSHARE_DEDUP_ACROSS_TENANTS',
    kind: 'boolean',
    value: 'false',
    description:
      'share identical tensor files between tenants in the store (leaks, through timing, whether another tenant has a tensor)',
  }),
  setting({
    key: 'restoreGrace',
    flag: '--restore-grace <duration>',
    env: 'TENSORSHARE_RESTORE_GRACE',
    kind: 'duration',
    value: '30s',
    description:
      'after a restart, how long leases of clients that cannot be checked stay held waiting for re-registration',
  }),
  setting({
    key: 'logLevel',
    flag: '--log-level <level>',
    env: 'TENSORSHARE_LOG_LEVEL',
    kind: 'level',
    value: 'info',
    description: `pino level on stderr: ${LOG_LEVELS.join(', ')}`,
  }),
  setting({
    key: 'profile',
    flag: '--profile <file>',
    env: 'TENSORSHARE_DAEMON_PROFILE',
    kind: 'path',
    computed: '(off)',
    description: 'write Chrome trace events (open, materialize, evict, close, build) for Perfetto',
  }),
  setting({
    key: 'gpus',
    flag: '--gpus <list>',
    env: 'TENSORSHARE_GPUS',
    kind: 'devices',
    value: 'auto',
    description:
      'devices with an executor process: `auto` (every NVIDIA GPU when the CUDA provider is installed, else none), `none`, indices (`0,1`), or `fake:<size>[,<size>]` (fake devices, CPU provider standing in: tests)',
  }),
  setting({
    key: 'gpuBudget',
    flag: '--gpu-budget <size>',
    env: 'TENSORSHARE_GPU_BUDGET',
    kind: 'budget',
    value: '0.9',
    description: 'per-device memory budget for resident models: bytes or a fraction/percent of the device memory',
  }),
  setting({
    key: 'gpuMaxBatch',
    flag: '--gpu-max-batch <n>',
    env: 'TENSORSHARE_GPU_MAX_BATCH',
    kind: 'count',
    value: '8',
    description: 'largest batch (rows) an executor forms from concurrent requests, and the batch a load is measured at',
  }),
  setting({
    key: 'gpuPolicy',
    flag: '--gpu-policy <name>',
    env: 'TENSORSHARE_GPU_POLICY',
    kind: 'policy',
    value: 'pack',
    description:
      'how an executor shares its device between resident models (Salus): `fifo` (one run at a time, sessions on the executor thread: no hand-off per run, but no request is read while a session loads or runs), `pack` (as many models at once as the memory lanes hold), `srtf` (shortest expected run first, aged), `fair` (equal device time per tenant); realtime runs go first under each',
  }),
  setting({
    key: 'gpuCpus',
    flag: '--gpu-cpus <list>',
    env: 'TENSORSHARE_GPU_CPUS',
    kind: 'cpus',
    value: 'auto',
    description:
      "where each device executor's threads run: `auto` (the CPUs local to its GPU, from sysfs `local_cpulist`, when they are fewer than the daemon may use), `off`, or a CPU list such as `0-7,16-23`; a placement that cannot be made is logged and the executor runs unpinned",
  }),
  setting({
    key: 'gpuSpinMs',
    flag: '--gpu-spin-ms <ms>',
    env: 'TENSORSHARE_GPU_SPIN_MS',
    kind: 'duration',
    computed: '`2ms` on a GPU, `0` for the CPU stand-in (fake devices)',
    description:
      "how long an executor's session thread keeps polling for the model's next run after an answer before it sleeps (`gpuPolicy` other than fifo), and its event loop stays awake after an answer (and while a run is in flight): a run handed to a sleeping thread waits for it to wake, and a launch-bound model runs slower on a thread that just woke; clients then stay awake for their answers too (on 4 CPUs or more, while no other run is in flight); `0` never polls (one core busy at most this long after each run)",
  }),
  setting({
    key: 'cpuExecutor',
    flag: '--cpu-executor <budget>',
    env: 'TENSORSHARE_CPU_EXECUTOR',
    kind: 'cpuExecutor',
    value: 'off',
    description:
      "a CPU executor process beside the daemon, started and supervised like a GPU's: one ONNX Runtime session per resident model on the CPU provider, shared by every client that opens with `executor: 'cpu'` (a function's `device: cpu-executor`), so opening a resident model is one round trip instead of a session creation; only tensors cross, through shared memory. `off`, or the budget of private memory its sessions may hold (bytes, or a fraction/percent of the host's memory); the weights it maps count in the store's budget",
  }),
  setting({
    key: 'cpuExecutorThreads',
    flag: '--cpu-executor-threads <n>',
    env: 'TENSORSHARE_CPU_EXECUTOR_THREADS',
    kind: 'count',
    computed: 'the CPUs the daemon may use (`os.availableParallelism()`)',
    description:
      "ONNX Runtime intra-op threads of each of the CPU executor's sessions (without spinning): one session serves every client, so it takes the cores that separate in-process sessions would have used; with several models running at once (in lanes, as on a GPU) their threads share those cores",
  }),
  setting({
    key: 'gpuReplicaQueue',
    flag: '--gpu-replica-queue <n>',
    env: 'TENSORSHARE_GPU_REPLICA_QUEUE',
    kind: 'count0',
    value: '4',
    description:
      'with several GPUs: requests queued per replica of a model that ask for one more replica on another GPU (best fit, loaded from the host store); `0`: no replicas',
  }),
  setting({
    key: 'gpuReplicaAfter',
    flag: '--gpu-replica-after <duration>',
    env: 'TENSORSHARE_GPU_REPLICA_AFTER',
    kind: 'duration',
    value: '2s',
    description:
      'how long replica pressure lasts before a replica is added; a model with nothing queued this long gives back a replica no client uses',
  }),
];

const FILE_ONLY_KEYS = ['tenants'];

/** Commander option name of a setting: `--socket-mode <octal>` -> socketMode. */
export function optionName(s: Setting): string {
  return s.flag
    .replace(/^--(\[no-\])?/, '')
    .split(' ')[0]!
    .replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

export function settingsMarkdown(): string {
  const rows = SETTINGS.map((s) => `| \`${s.key}\` | \`${s.flag}\` | \`${s.env}\` | ${s.default} | ${s.description} |`);
  return ['| config key | flag | environment | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

function bad(where: string, msg: string): TensorshareError {
  return new TensorshareError('ERR_INVALID_ARGUMENT', `${where}: ${msg}`);
}

function parseBool(v: unknown, where: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(1|true|yes|on)$/i.test(v)) return true;
  if (typeof v === 'string' && /^(0|false|no|off)$/i.test(v)) return false;
  throw bad(where, `'${String(v)}' is not a boolean (true/false)`);
}

function parseOctal(v: unknown, where: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^0?[0-7]{3}$/.test(v) ? parseInt(v, 8) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0o777)
    throw bad(where, `'${String(v)}' is not an octal file mode like 0660`);
  if (n & 0o002)
    throw bad(
      where,
      `mode ${n.toString(8)} is world-writable: any local user could drive the daemon; use 0660 or 0600`,
    );
  return n;
}

function parseGid(v: unknown, where: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xfffffffe) throw bad(where, `'${String(v)}' is not a numeric group id`);
  return n;
}

function parseTenants(v: unknown, baseDir: string): TenantSpec[] {
  if (v === undefined) return [];
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw bad('tenants', 'expected an object { "<tenant>": { "token": ... } }');
  const out: TenantSpec[] = [];
  const digests = new Set<string>();
  for (const [name, spec] of Object.entries(v as Record<string, unknown>)) {
    const where = `tenants.${name}`;
    if (!isValidName(name) || name === 'public')
      throw bad(where, `invalid tenant name (letters, digits, '.', '_', '-'; 'public' is reserved)`);
    if (typeof spec !== 'object' || spec === null) throw bad(where, 'expected an object');
    const s = spec as Record<string, unknown>;
    for (const k of Object.keys(s))
      if (!['token', 'tokenFile', 'tokenSha256', 'publish'].includes(k))
        throw bad(`${where}.${k}`, 'unknown key (token, tokenFile, tokenSha256, publish)');
    let digest: Buffer;
    if (typeof s.tokenSha256 === 'string' && /^[0-9a-f]{64}$/i.test(s.tokenSha256)) {
      digest = Buffer.from(s.tokenSha256, 'hex');
    } else {
      let token: string | undefined;
      if (typeof s.token === 'string') token = s.token;
      else if (typeof s.tokenFile === 'string')
        token = fs.readFileSync(path.resolve(baseDir, s.tokenFile), 'utf8').trim();
      if (token === undefined) throw bad(where, 'needs token, tokenFile or tokenSha256 (64 hex digits)');
      if (token.length < 16) throw bad(where, 'token is shorter than 16 characters');
      digest = tokenDigest(token);
    }
    if (digests.has(digest.toString('hex'))) throw bad(where, 'token is shared with another tenant');
    digests.add(digest.toString('hex'));
    out.push({
      name,
      tokenSha256: digest,
      publish: s.publish === undefined ? false : parseBool(s.publish, `${where}.publish`),
    });
  }
  return out;
}

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export interface ConfigSources {
  /** Parsed command-line options (commander's opts()), by option name. */
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}

export function resolveDaemonConfig(sources: ConfigSources = {}): DaemonConfig {
  const flags = sources.flags ?? {};
  const env = sources.env ?? process.env;
  const configFile = (flags.config as string | undefined) ?? env.TENSORSHARE_CONFIG;
  let file: Record<string, unknown> = {};
  if (configFile) {
    let text: string;
    try {
      text = fs.readFileSync(configFile, 'utf8');
    } catch (e) {
      throw bad(configFile, `cannot read config file (${(e as NodeJS.ErrnoException).code})`);
    }
    try {
      file = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw bad(configFile, `not valid JSON: ${(e as Error).message}`);
    }
    if (typeof file !== 'object' || file === null || Array.isArray(file))
      throw bad(configFile, 'expected a JSON object');
    const known = new Set([...SETTINGS.map((s) => s.key), ...FILE_ONLY_KEYS]);
    for (const k of Object.keys(file))
      if (!known.has(k) || k === 'config') throw bad(`${configFile}: ${k}`, 'unknown setting');
  }
  // One value per setting, with where it came from (for error messages).
  const pick = (key: string): { v: unknown; where: string } | undefined => {
    const s = SETTINGS.find((x) => x.key === key)!;
    const f = flags[optionName(s)];
    if (f !== undefined) return { v: f, where: s.flag.split(' ')[0]! };
    if (env[s.env] !== undefined && env[s.env] !== '') return { v: env[s.env], where: s.env };
    if (file[key] !== undefined) return { v: file[key], where: `${configFile}: ${key}` };
    return undefined;
  };
  const str = (key: string): string | undefined => {
    const p = pick(key);
    if (p === undefined) return undefined;
    if (typeof p.v !== 'string' || p.v === '') throw bad(p.where, 'expected a non-empty string');
    return p.v;
  };
  /** The value of a setting: from flags, environment or file, else its default (`value`) through the same parser. */
  const get = <T>(key: string, parse: (v: unknown, where: string) => T): T => {
    const p = pick(key);
    if (p !== undefined) return parse(p.v, p.where);
    const s = SETTINGS.find((x) => x.key === key)!;
    return parse(s.value, `default of ${key}`);
  };
  const baseDir = configFile ? path.dirname(path.resolve(configFile)) : process.cwd();
  const resolvePath = (p: string | undefined) => (p === undefined ? undefined : path.resolve(baseDir, p));
  const store = path.resolve(resolvePath(str('store')) ?? defaultStore(env));
  const hugePages = get('hugePages', (v, w) => {
    if (typeof v !== 'string' || !(HUGE_PAGES_MODES as readonly string[]).includes(v))
      throw bad(w, `expected ${HUGE_PAGES_MODES.join(', ')}, got '${String(v)}'`);
    return v as HugePagesMode;
  });
  const repository = path.resolve(resolvePath(str('repository')) ?? defaultRepository(env));
  const tenants = parseTenants(file.tenants, baseDir);
  const policyName = get('policy', (v, w) => {
    if (typeof v !== 'string' || !isPolicyName(v))
      throw bad(w, `unknown policy '${String(v)}' (${POLICY_NAMES.join(', ')})`);
    return v;
  });
  const logLevel = get('logLevel', (v, w) => {
    if (typeof v !== 'string' || !(LOG_LEVELS as readonly string[]).includes(v))
      throw bad(w, `unknown log level '${String(v)}' (${LOG_LEVELS.join(', ')})`);
    return v as LogLevel;
  });
  const wrap =
    <T>(fn: (v: string | number, what: string) => T) =>
    (v: unknown, w: string): T => {
      if (typeof v !== 'string' && typeof v !== 'number') throw bad(w, 'expected a string or number');
      return fn(v, w);
    };
  return {
    repository,
    store,
    storeIsDefault: store === path.resolve(defaultStore({})),
    hugePages,
    socket: path.resolve(resolvePath(str('socket')) ?? path.join(store, 'daemon.sock')),
    socketMode: get('socketMode', parseOctal),
    socketGroup: pick('socketGroup') ? get('socketGroup', parseGid) : undefined,
    budget: get('budget', wrap(parseBudget)),
    policy: policyName,
    ttlMs: get('ttl', wrap(parseDuration)),
    reclaimIntervalMs: get('reclaimInterval', wrap(parseDuration)),
    originals: get('originals', (v, w) => {
      if (v !== 'cut' && v !== 'keep') throw bad(w, `expected cut or keep, got '${String(v)}'`);
      return v;
    }),
    originalsLingerMs: get('originalsLinger', wrap(parseDuration)),
    prebuildFastRun: get('prebuildFastRun', parseBool),
    // Computed default: path import is safe only when the daemon serves a single owner.
    pathImport: pick('pathImport') ? get('pathImport', parseBool) : tenants.length === 0,
    maxUploadBytes: get('maxUpload', wrap(parseBytes)),
    dedupAcrossTenants: get('dedupAcrossTenants', parseBool),
    restoreGraceMs: get('restoreGrace', wrap(parseDuration)),
    logLevel,
    profile: resolvePath(str('profile')),
    tenants,
    configFile: configFile ? path.resolve(configFile) : undefined,
    gpus: get('gpus', parseGpus),
    gpuBudget: get('gpuBudget', wrap(parseBudget)),
    gpuMaxBatch: get('gpuMaxBatch', parseCount),
    gpuPolicy: get('gpuPolicy', (v, w) => parseDevicePolicy(v, w)),
    gpuCpus: get('gpuCpus', parseCpuSetting),
    gpuSpinMs: pick('gpuSpinMs') ? get('gpuSpinMs', wrap(parseDuration)) : undefined,
    gpuReplicaQueue: get('gpuReplicaQueue', parseCount0),
    gpuReplicaAfterMs: get('gpuReplicaAfter', wrap(parseDuration)),
    cpuExecutor: get('cpuExecutor', (v, w) => (String(v).trim() === 'off' ? undefined : wrap(parseBudget)(v, w))),
    cpuExecutorThreads: pick('cpuExecutorThreads') ? get('cpuExecutorThreads', parseCount) : undefined,
  };
}
