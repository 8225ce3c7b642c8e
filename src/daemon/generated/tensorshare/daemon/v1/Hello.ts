// Original file: proto/tensorshare/daemon.proto

import type { LeaseClaim as _tensorshare_daemon_v1_LeaseClaim, LeaseClaim__Output as _tensorshare_daemon_v1_LeaseClaim__Output } from '../../../tensorshare/daemon/v1/LeaseClaim.js';

export interface Hello {
  'pid'?: (number);
  'clientId'?: (string);
  'clientName'?: (string);
  'leases'?: (_tensorshare_daemon_v1_LeaseClaim)[];
}

export interface Hello__Output {
  'pid': (number);
  'clientId': (string);
  'clientName': (string);
  'leases': (_tensorshare_daemon_v1_LeaseClaim__Output)[];
}
