// Original file: proto/tensorshare/daemon.proto

import type { Attached as _tensorshare_daemon_v1_Attached, Attached__Output as _tensorshare_daemon_v1_Attached__Output } from '../../../tensorshare/daemon/v1/Attached.js';

export interface DaemonEvent {
  'attached'?: (_tensorshare_daemon_v1_Attached | null);
  'event'?: "attached";
}

export interface DaemonEvent__Output {
  'attached'?: (_tensorshare_daemon_v1_Attached__Output | null);
  'event'?: "attached";
}
