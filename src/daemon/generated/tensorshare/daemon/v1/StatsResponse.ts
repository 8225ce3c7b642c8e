// Original file: proto/tensorshare/daemon.proto

import type { Totals as _tensorshare_daemon_v1_Totals, Totals__Output as _tensorshare_daemon_v1_Totals__Output } from '../../../tensorshare/daemon/v1/Totals.js';
import type { ModelStats as _tensorshare_daemon_v1_ModelStats, ModelStats__Output as _tensorshare_daemon_v1_ModelStats__Output } from '../../../tensorshare/daemon/v1/ModelStats.js';
import type { TensorStats as _tensorshare_daemon_v1_TensorStats, TensorStats__Output as _tensorshare_daemon_v1_TensorStats__Output } from '../../../tensorshare/daemon/v1/TensorStats.js';
import type { LeaseInfo as _tensorshare_daemon_v1_LeaseInfo, LeaseInfo__Output as _tensorshare_daemon_v1_LeaseInfo__Output } from '../../../tensorshare/daemon/v1/LeaseInfo.js';

export interface StatsResponse {
  'totals'?: (_tensorshare_daemon_v1_Totals | null);
  'models'?: (_tensorshare_daemon_v1_ModelStats)[];
  'tensors'?: (_tensorshare_daemon_v1_TensorStats)[];
  'leases'?: (_tensorshare_daemon_v1_LeaseInfo)[];
}

export interface StatsResponse__Output {
  'totals': (_tensorshare_daemon_v1_Totals__Output | null);
  'models': (_tensorshare_daemon_v1_ModelStats__Output)[];
  'tensors': (_tensorshare_daemon_v1_TensorStats__Output)[];
  'leases': (_tensorshare_daemon_v1_LeaseInfo__Output)[];
}
