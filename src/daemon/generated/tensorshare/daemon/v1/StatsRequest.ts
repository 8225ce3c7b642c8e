// Original file: proto/tensorshare/daemon.proto


export interface StatsRequest {
  'includeTensors'?: (boolean);
}

export interface StatsRequest__Output {
  'includeTensors': (boolean);
}
