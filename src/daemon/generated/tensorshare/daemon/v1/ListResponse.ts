// Original file: proto/tensorshare/daemon.proto

import type { ModelInfo as _tensorshare_daemon_v1_ModelInfo, ModelInfo__Output as _tensorshare_daemon_v1_ModelInfo__Output } from '../../../tensorshare/daemon/v1/ModelInfo.js';

export interface ListResponse {
  'models'?: (_tensorshare_daemon_v1_ModelInfo)[];
}

export interface ListResponse__Output {
  'models': (_tensorshare_daemon_v1_ModelInfo__Output)[];
}
