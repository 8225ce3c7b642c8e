// Original file: proto/tensorshare/daemon.proto


export interface CloseRequest {
  'leaseId'?: (string);
}

export interface CloseRequest__Output {
  'leaseId': (string);
}
