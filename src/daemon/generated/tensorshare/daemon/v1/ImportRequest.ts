// Original file: proto/tensorshare/daemon.proto


export interface ImportRequest {
  'path'?: (string);
  'name'?: (string);
  'version'?: (string);
  'defaultMode'?: (string);
}

export interface ImportRequest__Output {
  'path': (string);
  'name': (string);
  'version': (string);
  'defaultMode': (string);
}
