// Original file: proto/tensorshare/daemon.proto


export interface PinResponse {
  'model'?: (string);
  'pinned'?: (boolean);
}

export interface PinResponse__Output {
  'model': (string);
  'pinned': (boolean);
}
