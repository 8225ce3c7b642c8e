// Original file: proto/tensorshare/daemon.proto

import type { Long } from '@grpc/proto-loader';

export interface TensorStats {
  'sha256'?: (string);
  'bytes'?: (number | string | Long);
  'models'?: (number);
  'references'?: (number);
  'hits'?: (number | string | Long);
  'lastUseMs'?: (number | string);
  'kind'?: (string);
}

export interface TensorStats__Output {
  'sha256': (string);
  'bytes': (number);
  'models': (number);
  'references': (number);
  'hits': (number);
  'lastUseMs': (number);
  'kind': (string);
}
