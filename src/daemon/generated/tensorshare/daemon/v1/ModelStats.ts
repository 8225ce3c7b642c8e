// Original file: proto/tensorshare/daemon.proto

import type { Long } from '@grpc/proto-loader';

export interface ModelStats {
  'model'?: (string);
  'mode'?: (string);
  'resident'?: (boolean);
  'bytes'?: (number | string | Long);
  'exclusiveBytes'?: (number | string | Long);
  'references'?: (number);
  'pinned'?: (boolean);
  'opens'?: (number | string | Long);
  'hits'?: (number | string | Long);
  'lastUseMs'?: (number | string);
  'loadedAtMs'?: (number | string);
  'materializeMs'?: (number | string);
  'priority'?: (number | string);
}

export interface ModelStats__Output {
  'model': (string);
  'mode': (string);
  'resident': (boolean);
  'bytes': (number);
  'exclusiveBytes': (number);
  'references': (number);
  'pinned': (boolean);
  'opens': (number);
  'hits': (number);
  'lastUseMs': (number);
  'loadedAtMs': (number);
  'materializeMs': (number);
  'priority': (number);
}
