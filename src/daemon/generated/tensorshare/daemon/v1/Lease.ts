// Original file: proto/tensorshare/daemon.proto


export interface Lease {
  'leaseId'?: (string);
  'model'?: (string);
  'mode'?: (string);
  'graphPath'?: (string);
  'tensorsDir'?: (string);
  'manifestJson'?: (string);
  'variantJson'?: (string);
  'wasResident'?: (boolean);
  'waitMs'?: (number | string);
}

export interface Lease__Output {
  'leaseId': (string);
  'model': (string);
  'mode': (string);
  'graphPath': (string);
  'tensorsDir': (string);
  'manifestJson': (string);
  'variantJson': (string);
  'wasResident': (boolean);
  'waitMs': (number);
}
