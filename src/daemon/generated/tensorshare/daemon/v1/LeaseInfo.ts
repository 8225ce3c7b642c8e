// Original file: proto/tensorshare/daemon.proto


export interface LeaseInfo {
  'leaseId'?: (string);
  'model'?: (string);
  'mode'?: (string);
  'attachmentId'?: (string);
  'pid'?: (number);
  'clientName'?: (string);
  'openedAtMs'?: (number | string);
}

export interface LeaseInfo__Output {
  'leaseId': (string);
  'model': (string);
  'mode': (string);
  'attachmentId': (string);
  'pid': (number);
  'clientName': (string);
  'openedAtMs': (number);
}
