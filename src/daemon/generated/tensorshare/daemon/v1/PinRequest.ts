// Original file: proto/tensorshare/daemon.proto


export interface PinRequest {
  'model'?: (string);
  'mode'?: (string);
}

export interface PinRequest__Output {
  'model': (string);
  'mode': (string);
}
