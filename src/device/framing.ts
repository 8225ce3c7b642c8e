// Newline-delimited JSON over a stream socket: the control channel between
// clients and an executor. Messages are small (tensors go through shared
// memory), so a line per message is enough.
import type net from 'node:net';

export function onFrames<T>(socket: net.Socket, onMessage: (m: T) => void, onBad: (e: Error) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line) {
        let m: T;
        try {
          m = JSON.parse(line) as T;
        } catch (e) {
          onBad(e as Error);
          return;
        }
        onMessage(m);
      }
      nl = buffered.indexOf('\n');
    }
  });
}

export function sendFrame(socket: net.Socket, m: unknown): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(m)}\n`);
}

/** A message already serialized (a reply whose large part is kept as JSON). */
export function sendJsonLine(socket: net.Socket, json: string): void {
  if (!socket.destroyed) socket.write(`${json}\n`);
}
