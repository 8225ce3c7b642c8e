// Who is on the other end of a Unix socket connection: SO_PEERCRED, the pid,
// uid and gid the kernel recorded when the client called connect(). Unlike a
// pid a client writes into a message, a client cannot choose it. Node has no
// API for it, so getsockopt(2) is called through koffi (an FFI with prebuilt
// binaries, no compiler at install).
import type net from 'node:net';
import koffi from 'koffi';
import { TensorshareError } from '../errors.js';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

// Linux's values (asm-generic; every architecture Node ships prebuilt for but ppc/mips).
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

type GetSockOpt = (fd: number, level: number, name: number, value: Buffer, length: number[]) => number;
let getsockopt: GetSockOpt | undefined;

function bind(): GetSockOpt {
  if (process.platform !== 'linux')
    throw new TensorshareError(
      'ERR_UNAVAILABLE',
      `peer credentials (SO_PEERCRED) need Linux; this is ${process.platform}`,
    );
  getsockopt ??= koffi
    .load('libc.so.6')
    .func('int getsockopt(int fd, int level, int name, _Out_ void *value, _Inout_ uint32_t *length)') as GetSockOpt;
  return getsockopt;
}

/** SO_PEERCRED of a connected Unix socket (a net.Socket a net.Server accepted). */
export function peerCredentials(socket: net.Socket): PeerCredentials {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0)
    throw new TensorshareError('ERR_INTERNAL', 'peer credentials: the connection has no file descriptor');
  const ucred = Buffer.alloc(12); // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
  const length = [ucred.length];
  if (bind()(fd, SOL_SOCKET, SO_PEERCRED, ucred, length) !== 0 || length[0] !== ucred.length) {
    throw new TensorshareError('ERR_INTERNAL', `peer credentials: getsockopt(SO_PEERCRED) failed on fd ${fd}`);
  }
  const [pid, uid, gid] = new Uint32Array(ucred.buffer, ucred.byteOffset, 3); // native byte order, as the kernel wrote it
  return { pid: pid!, uid: uid!, gid: gid! };
}
