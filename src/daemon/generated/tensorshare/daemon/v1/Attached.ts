// Original file: proto/tensorshare/daemon.proto

import type { RejectedLease as _tensorshare_daemon_v1_RejectedLease, RejectedLease__Output as _tensorshare_daemon_v1_RejectedLease__Output } from '../../../tensorshare/daemon/v1/RejectedLease.js';

export interface Attached {
  'attachmentId'?: (string);
  'daemonId'?: (string);
  'restoredLeases'?: (string)[];
  'rejectedLeases'?: (_tensorshare_daemon_v1_RejectedLease)[];
}

export interface Attached__Output {
  'attachmentId': (string);
  'daemonId': (string);
  'restoredLeases': (string)[];
  'rejectedLeases': (_tensorshare_daemon_v1_RejectedLease__Output)[];
}
