// Original file: proto/tensorshare/daemon.proto


export interface RejectedLease {
  'leaseId'?: (string);
  'reason'?: (string);
}

export interface RejectedLease__Output {
  'leaseId': (string);
  'reason': (string);
}
