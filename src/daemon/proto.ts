// The daemon's wire contract: loads proto/tensorshare/daemon.proto once and
// types its messages (camelCase, as @grpc/proto-loader delivers them with
// keepCase false, longs as numbers, defaults filled in) with the types
// generated from the same file (generated/). The client imports this file
// and grpc-status.ts only -- nothing else of the daemon.
import path from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { protoDir } from '../paths.js';
import type { ProtoGrpcType } from './generated/daemon.js';
import type { DaemonClient as DaemonClientStub, DaemonDefinition } from './generated/tensorshare/daemon/v1/Daemon.js';

export const DAEMON_PROTO = path.join(protoDir, 'tensorshare', 'daemon.proto');
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

type DaemonPackage = ProtoGrpcType['tensorshare']['daemon']['v1'];
export type DaemonStub = DaemonClientStub;

let cached: { service: DaemonDefinition; Client: DaemonPackage['Daemon'] } | undefined;

export function daemonProto(): { service: DaemonDefinition; Client: DaemonPackage['Daemon'] } {
  if (cached) return cached;
  const def = protoLoader.loadSync(DAEMON_PROTO, LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  const Client = pkg.tensorshare.daemon.v1.Daemon;
  cached = { service: Client.service, Client };
  return cached;
}

export type Mode = '' | 'fast-open' | 'fast-run';

// Messages as the loader delivers them (LOADER_OPTIONS: every field present), generated from
// the .proto by `npm run gen:daemon-types` (scripts/gen-daemon-types.js); proto.test.ts keeps them current.
export type { LeaseClaim__Output as LeaseClaim } from './generated/tensorshare/daemon/v1/LeaseClaim.js';
export type { Hello__Output as Hello } from './generated/tensorshare/daemon/v1/Hello.js';
export type { ClientEvent__Output as ClientEvent } from './generated/tensorshare/daemon/v1/ClientEvent.js';
export type { RejectedLease__Output as RejectedLease } from './generated/tensorshare/daemon/v1/RejectedLease.js';
export type { Attached__Output as Attached } from './generated/tensorshare/daemon/v1/Attached.js';
export type { DaemonEvent__Output as DaemonEvent } from './generated/tensorshare/daemon/v1/DaemonEvent.js';
export type { OpenRequest__Output as OpenRequest } from './generated/tensorshare/daemon/v1/OpenRequest.js';
export type { Lease__Output as Lease } from './generated/tensorshare/daemon/v1/Lease.js';
export type { OpenResponse__Output as OpenResponse } from './generated/tensorshare/daemon/v1/OpenResponse.js';
export type { CloseRequest__Output as CloseRequest } from './generated/tensorshare/daemon/v1/CloseRequest.js';
export type { ImportRequest__Output as ImportRequest } from './generated/tensorshare/daemon/v1/ImportRequest.js';
export type { UploadHeader__Output as UploadHeader } from './generated/tensorshare/daemon/v1/UploadHeader.js';
export type { UploadRequest__Output as UploadRequest } from './generated/tensorshare/daemon/v1/UploadRequest.js';
export type { ImportResponse__Output as ImportResponse } from './generated/tensorshare/daemon/v1/ImportResponse.js';
export type { ModelInfo__Output as ModelInfo } from './generated/tensorshare/daemon/v1/ModelInfo.js';
export type { ListResponse__Output as ListResponse } from './generated/tensorshare/daemon/v1/ListResponse.js';
export type { StatsRequest__Output as StatsRequest } from './generated/tensorshare/daemon/v1/StatsRequest.js';
export type { Totals__Output as Totals } from './generated/tensorshare/daemon/v1/Totals.js';
export type { ModelStats__Output as ModelStats } from './generated/tensorshare/daemon/v1/ModelStats.js';
export type { TensorStats__Output as TensorStats } from './generated/tensorshare/daemon/v1/TensorStats.js';
export type { LeaseInfo__Output as LeaseInfo } from './generated/tensorshare/daemon/v1/LeaseInfo.js';
export type { StatsResponse__Output as StatsResponse } from './generated/tensorshare/daemon/v1/StatsResponse.js';
export type { EvictRequest__Output as EvictRequest } from './generated/tensorshare/daemon/v1/EvictRequest.js';
export type { EvictResponse__Output as EvictResponse } from './generated/tensorshare/daemon/v1/EvictResponse.js';
export type { PinRequest__Output as PinRequest } from './generated/tensorshare/daemon/v1/PinRequest.js';
export type { PinResponse__Output as PinResponse } from './generated/tensorshare/daemon/v1/PinResponse.js';
