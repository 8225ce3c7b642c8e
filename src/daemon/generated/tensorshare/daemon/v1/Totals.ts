// Original file: proto/tensorshare/daemon.proto

import type { Long } from '@grpc/proto-loader';

export interface Totals {
  'budgetBytes'?: (number | string | Long);
  'usedBytes'?: (number | string | Long);
  'freeBytes'?: (number | string | Long);
  'logicalBytes'?: (number | string | Long);
  'leasedLogicalBytes'?: (number | string | Long);
  'referencedBytes'?: (number | string | Long);
  'policy'?: (string);
  'leases'?: (number);
  'clients'?: (number);
  'opens'?: (number | string | Long);
  'hits'?: (number | string | Long);
  'materializations'?: (number | string | Long);
  'evictions'?: (number | string | Long);
  'evictedBytes'?: (number | string | Long);
  'fastRunBuilds'?: (number | string | Long);
  'daemonId'?: (string);
  'uptimeS'?: (number | string);
}

export interface Totals__Output {
  'budgetBytes': (number);
  'usedBytes': (number);
  'freeBytes': (number);
  'logicalBytes': (number);
  'leasedLogicalBytes': (number);
  'referencedBytes': (number);
  'policy': (string);
  'leases': (number);
  'clients': (number);
  'opens': (number);
  'hits': (number);
  'materializations': (number);
  'evictions': (number);
  'evictedBytes': (number);
  'fastRunBuilds': (number);
  'daemonId': (string);
  'uptimeS': (number);
}
