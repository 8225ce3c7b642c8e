// Original file: proto/tensorshare/daemon.proto


export interface OpenRequest {
  'attachmentId'?: (string);
  'model'?: (string);
  'mode'?: (string);
  'ownWindow'?: (boolean);
}

export interface OpenRequest__Output {
  'attachmentId': (string);
  'model': (string);
  'mode': (string);
  'ownWindow': (boolean);
}
