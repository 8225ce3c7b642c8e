// Original file: proto/tensorshare/daemon.proto

import type { Long } from '@grpc/proto-loader';

export interface ModelInfo {
  'model'?: (string);
  'digest'?: (string);
  'bytes'?: (number | string | Long);
  'tensors'?: (number);
  'defaultMode'?: (string);
  'residentModes'?: (string)[];
  'pinnedModes'?: (string)[];
  'leases'?: (number);
  'fastRunBuilt'?: (boolean);
  'sourceSha256'?: (string);
}

export interface ModelInfo__Output {
  'model': (string);
  'digest': (string);
  'bytes': (number);
  'tensors': (number);
  'defaultMode': (string);
  'residentModes': (string)[];
  'pinnedModes': (string)[];
  'leases': (number);
  'fastRunBuilt': (boolean);
  'sourceSha256': (string);
}
