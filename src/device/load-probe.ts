// The gateway's probe of one executor's realtime load (`op: 'load'` on its
// socket, no hello, no shared memory): one kept connection, one sample in
// flight, each bounded by a timeout, so a hung or restarting executor costs a
// failed sample, never a growing backlog of them.
import net from 'node:net';
import { TensorshareError, fromWireError } from '../errors.js';
import { onFrames, sendFrame } from './framing.js';
import type { ClientMessage, ExecutorLoad, ExecutorReply } from './protocol.js';

export interface LoadProbe {
  /** The executor's load now; rejects (ERR_UNAVAILABLE / ERR_TIMEOUT) when it does not answer in time. */
  sample(): Promise<ExecutorLoad>;
  close(): void;
}

export function createLoadProbe(socketPath: string, timeoutMs = 1000): LoadProbe {
  let socket: net.Socket | undefined;
  let seq = 0;
  let waiting:
    | { id: number; resolve(l: ExecutorLoad): void; reject(e: Error): void; timer: NodeJS.Timeout }
    | undefined;
  let closed = false;

  const fail = (e: Error) => {
    const w = waiting;
    waiting = undefined;
    if (w) {
      clearTimeout(w.timer);
      w.reject(e);
    }
  };
  const drop = (e: Error) => {
    socket?.destroy();
    socket = undefined;
    fail(e);
  };

  function connect(): net.Socket {
    if (socket && !socket.destroyed) return socket;
    const s = net.createConnection(socketPath);
    s.unref();
    s.on('error', (e) => {
      if (socket === s) drop(new TensorshareError('ERR_UNAVAILABLE', `executor at ${socketPath}: ${e.message}`));
    });
    s.on('close', () => {
      if (socket === s)
        drop(new TensorshareError('ERR_UNAVAILABLE', `executor at ${socketPath} closed the connection`));
    });
    onFrames<ExecutorReply>(
      s,
      (r) => {
        const w = waiting;
        if (!w || r.id !== w.id) return;
        waiting = undefined;
        clearTimeout(w.timer);
        if (!r.ok) w.reject(fromWireError(r.error));
        else if (!r.load) w.reject(new TensorshareError('ERR_INTERNAL', `executor at ${socketPath} sent no load`));
        else w.resolve(r.load);
      },
      (e) => drop(new TensorshareError('ERR_INTERNAL', `executor at ${socketPath} sent a bad frame: ${e.message}`)),
    );
    socket = s;
    return s;
  }

  return {
    sample() {
      if (closed) return Promise.reject(new TensorshareError('ERR_UNAVAILABLE', 'the load probe is closed'));
      if (waiting)
        return Promise.reject(new TensorshareError('ERR_PRECONDITION', 'a load sample is already in flight'));
      return new Promise<ExecutorLoad>((resolve, reject) => {
        const id = ++seq;
        const timer = setTimeout(
          () =>
            drop(
              new TensorshareError(
                'ERR_TIMEOUT',
                `executor at ${socketPath} did not answer a load sample in ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
        timer.unref();
        waiting = { id, resolve, reject, timer };
        sendFrame(connect(), { op: 'load', id } satisfies ClientMessage);
      });
    },
    close() {
      closed = true;
      drop(new TensorshareError('ERR_UNAVAILABLE', 'the load probe is closed'));
    },
  };
}
