// Original file: proto/tensorshare/daemon.proto


export interface EvictRequest {
  'model'?: (string);
}

export interface EvictRequest__Output {
  'model': (string);
}
