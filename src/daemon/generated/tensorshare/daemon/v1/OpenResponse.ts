// Original file: proto/tensorshare/daemon.proto

import type { Lease as _tensorshare_daemon_v1_Lease, Lease__Output as _tensorshare_daemon_v1_Lease__Output } from '../../../tensorshare/daemon/v1/Lease.js';

export interface OpenResponse {
  'lease'?: (_tensorshare_daemon_v1_Lease | null);
}

export interface OpenResponse__Output {
  'lease': (_tensorshare_daemon_v1_Lease__Output | null);
}
