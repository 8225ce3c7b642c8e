// A device executor process without a daemon, for the Salus benchmark and
// the lane tests: the real executor (src/device/executor-child.ts, its
// sockets, shared memory and lanes), with this process answering what the
// daemon would (admit every model it loaded, no tokens). Models are files
// with embedded weights, so no store is needed.
import fs from 'node:fs';
import path from 'node:path';
import { TensorshareError } from '../errors.js';
import { type DeviceSession, type DeviceSessionOptions, openDeviceSession } from '../device/device-session.js';
import { startExecutor } from '../device/executor-process.js';
import type { DeviceSpec } from '../device/memory.js';
import {
  type ExecutorInit,
  type ExecutorStats,
  type Measured,
  type ModelIo,
  executorSocket,
} from '../device/protocol.js';
import { regionFolder } from '../device/transfer.js';
import type { Manifest } from '../store/manifest.js';
import type { ChainModel } from './salus-models.js';

export interface StandaloneExecutorOptions {
  /** A folder of the caller's (the executor's socket goes there). */
  dir: string;
  device: DeviceSpec;
  provider: 'cuda' | 'cpu';
  maxBatchSize: number;
  policy: NonNullable<ExecutorInit['policy']>;
  laneBudget?: ExecutorInit['laneBudget'];
  weights?: ExecutorInit['weights'];
  spinMs?: ExecutorInit['spinMs'];
}

export interface StandaloneExecutor {
  /** The socket its executor listens beside (for sessions opened by other processes). */
  readonly daemonSocket: string;
  load(model: ChainModel): Promise<Measured>;
  unload(name: string): Promise<number>;
  open(
    name: string,
    o?: Pick<DeviceSessionOptions, 'priority' | 'tenant' | 'outputs' | 'policy' | 'awakeMs'>,
  ): Promise<DeviceSession>;
  /** The executor's last stats (they arrive every second). */
  stats(): ExecutorStats | undefined;
  stop(): Promise<void>;
}

const io = (n: number) => [{ name: 'x', dtype: 'float32', shape: ['batch', n] }];
const ioOut = (n: number) => [{ name: 'y', dtype: 'float32', shape: ['batch', n] }];

export async function startStandaloneExecutor(o: StandaloneExecutorOptions): Promise<StandaloneExecutor> {
  const daemonSocket = path.join(o.dir, 'daemon.sock');
  const regionDir = regionFolder('tensorshare-exec');
  const models = new Map<string, ModelIo>();
  let last: ExecutorStats | undefined;
  const ex = startExecutor(
    {
      device: o.device,
      provider: o.provider,
      socket: executorSocket(daemonSocket, o.device.index),
      socketMode: 0o600,
      regionDir,
      maxBatchSize: o.maxBatchSize,
      policy: o.policy,
      laneBudget: o.laneBudget,
      weights: o.weights,
      spinMs: o.spinMs,
    },
    {
      admit: (id, model) => {
        const m = models.get(model);
        ex.answerAdmit(
          id,
          m
            ? { ok: true, key: model, wasResident: true, io: m }
            : { ok: false, error: { code: 'ERR_MODEL_NOT_FOUND', message: `${model} is not loaded` } },
        );
      },
      control: (id) =>
        ex.answerControl(id, { ok: false, error: { code: 'ERR_PRECONDITION', message: 'no model control here' } }),
      release: () => {},
      used: () => {},
      stats: (s) => {
        last = s;
      },
      exit: () => {},
    },
  );
  await ex.ready;
  return {
    daemonSocket,
    async load(model) {
      const key = `${model.name}:1`;
      const measured = await ex.load({
        key,
        model: key,
        graph: model.file,
        tensorsDir: o.dir,
        inputs: io(model.width),
        outputs: ioOut(model.width),
        weightBytes: model.weightBytes,
      });
      models.set(model.name, {
        key,
        model: key,
        inputs: io(model.width),
        outputs: ioOut(model.width),
        manifest: { name: model.name, version: 1 } as unknown as Manifest,
        wasResident: true,
      });
      return measured;
    },
    async unload(name) {
      const m = models.get(name);
      if (!m) throw new TensorshareError('ERR_MODEL_NOT_FOUND', `${name} is not loaded`);
      models.delete(name);
      return ex.unload(m.key);
    },
    open: (name, so = {}) => openDeviceSession(name, { daemonSocket, device: o.device.index, ...so }),
    stats: () => last,
    async stop() {
      ex.kill('SIGTERM');
      await ex.exited();
      fs.rmSync(regionDir, { recursive: true, force: true });
    },
  };
}
