// Original file: proto/tensorshare/daemon.proto

import type { UploadHeader as _tensorshare_daemon_v1_UploadHeader, UploadHeader__Output as _tensorshare_daemon_v1_UploadHeader__Output } from '../../../tensorshare/daemon/v1/UploadHeader.js';

export interface UploadRequest {
  'header'?: (_tensorshare_daemon_v1_UploadHeader | null);
  'chunk'?: (Buffer | Uint8Array | string);
  'part'?: "header"|"chunk";
}

export interface UploadRequest__Output {
  'header'?: (_tensorshare_daemon_v1_UploadHeader__Output | null);
  'chunk'?: (Buffer);
  'part'?: "header"|"chunk";
}
