// Original file: proto/tensorshare/daemon.proto

import type { Long } from '@grpc/proto-loader';

export interface EvictResponse {
  'bytesFreed'?: (number | string | Long);
  'evicted'?: (number);
}

export interface EvictResponse__Output {
  'bytesFreed': (number);
  'evicted': (number);
}
