// Original file: proto/tensorshare/daemon.proto

import type { Hello as _tensorshare_daemon_v1_Hello, Hello__Output as _tensorshare_daemon_v1_Hello__Output } from '../../../tensorshare/daemon/v1/Hello.js';

export interface ClientEvent {
  'hello'?: (_tensorshare_daemon_v1_Hello | null);
  'event'?: "hello";
}

export interface ClientEvent__Output {
  'hello'?: (_tensorshare_daemon_v1_Hello__Output | null);
  'event'?: "hello";
}
