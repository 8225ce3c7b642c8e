// Original file: proto/tensorshare/daemon.proto

import type { Long } from '@grpc/proto-loader';

export interface ImportResponse {
  'model'?: (string);
  'digest'?: (string);
  'outcome'?: (string);
  'tensorsAdded'?: (number | string | Long);
  'bytesAdded'?: (number | string | Long);
  'ms'?: (number | string);
  'sourceSha256'?: (string);
}

export interface ImportResponse__Output {
  'model': (string);
  'digest': (string);
  'outcome': (string);
  'tensorsAdded': (number);
  'bytesAdded': (number);
  'ms': (number);
  'sourceSha256': (string);
}
