// Original file: proto/tensorshare/daemon.proto

import type { Long } from '@grpc/proto-loader';

export interface UploadHeader {
  'name'?: (string);
  'version'?: (string);
  'defaultMode'?: (string);
  'size'?: (number | string | Long);
  'sha256'?: (string);
}

export interface UploadHeader__Output {
  'name': (string);
  'version': (string);
  'defaultMode': (string);
  'size': (number);
  'sha256': (string);
}
