// Original file: proto/tensorshare/daemon.proto


export interface LeaseClaim {
  'leaseId'?: (string);
  'model'?: (string);
  'mode'?: (string);
  'graphSha256'?: (string);
}

export interface LeaseClaim__Output {
  'leaseId': (string);
  'model': (string);
  'mode': (string);
  'graphSha256': (string);
}
