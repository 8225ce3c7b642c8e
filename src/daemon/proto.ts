// The daemon's wire contract: loads proto/tensorshare/daemon.proto once and
// types its messages (camelCase, as @grpc/proto-loader delivers them with
// keepCase false, longs as numbers, defaults filled in). The client imports
// this file and grpc-status.ts only -- nothing else of the daemon.
import path from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { protoDir } from '../paths.js';

export const DAEMON_PROTO = path.join(protoDir, 'tensorshare', 'daemon.proto');
export const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };

let cached: { service: grpc.ServiceDefinition; Client: grpc.ServiceClientConstructor } | undefined;

export function daemonProto(): { service: grpc.ServiceDefinition; Client: grpc.ServiceClientConstructor } {
  if (cached) return cached;
  const def = protoLoader.loadSync(DAEMON_PROTO, LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as { tensorshare: { daemon: { v1: { Daemon: grpc.ServiceClientConstructor } } } };
  const Client = pkg.tensorshare.daemon.v1.Daemon;
  cached = { service: Client.service, Client };
  return cached;
}

export type Mode = '' | 'fast-open' | 'fast-run';

export interface LeaseClaim { leaseId: string; model: string; mode: string; graphSha256: string }
export interface Hello { pid: number; clientId: string; clientName: string; leases: LeaseClaim[] }
export interface ClientEvent { hello?: Hello; event?: 'hello' }
export interface RejectedLease { leaseId: string; reason: string }
export interface Attached { attachmentId: string; daemonId: string; restoredLeases: string[]; rejectedLeases: RejectedLease[] }
export interface DaemonEvent { attached?: Attached; event?: 'attached' }

export interface OpenRequest { attachmentId: string; model: string; mode: string }
export interface Lease {
  leaseId: string; model: string; mode: string; graphPath: string; tensorsDir: string;
  manifestJson: string; variantJson: string; wasResident: boolean; waitMs: number;
}
export interface OpenResponse { lease: Lease }
export interface CloseRequest { leaseId: string }
export interface ImportRequest { path: string; name: string; version: string; defaultMode: string }
export interface UploadHeader { name: string; version: string; defaultMode: string; size: number; sha256: string }
export interface UploadRequest { header?: UploadHeader; chunk?: Buffer; part?: 'header' | 'chunk' }
export interface ImportResponse { model: string; digest: string; outcome: string; tensorsAdded: number; bytesAdded: number; ms: number; sourceSha256: string }
export interface ModelInfo {
  model: string; digest: string; bytes: number; tensors: number; defaultMode: string;
  residentModes: string[]; pinnedModes: string[]; leases: number; fastRunBuilt: boolean; sourceSha256: string;
}
export interface ListResponse { models: ModelInfo[] }
export interface StatsRequest { includeTensors: boolean }
export interface Totals {
  budgetBytes: number; usedBytes: number; freeBytes: number; logicalBytes: number; leasedLogicalBytes: number;
  referencedBytes: number; policy: string; leases: number; clients: number; opens: number; hits: number;
  materializations: number; evictions: number; evictedBytes: number; fastRunBuilds: number; daemonId: string; uptimeS: number;
}
export interface ModelStats {
  model: string; mode: string; resident: boolean; bytes: number; exclusiveBytes: number; references: number;
  pinned: boolean; opens: number; hits: number; lastUseMs: number; loadedAtMs: number; materializeMs: number; priority: number;
}
export interface TensorStats { sha256: string; bytes: number; models: number; references: number; hits: number; lastUseMs: number; kind: string }
export interface LeaseInfo { leaseId: string; model: string; mode: string; attachmentId: string; pid: number; clientName: string; openedAtMs: number }
export interface StatsResponse { totals: Totals; models: ModelStats[]; tensors: TensorStats[]; leases: LeaseInfo[] }
export interface EvictRequest { model: string }
export interface EvictResponse { bytesFreed: number; evicted: number }
export interface PinRequest { model: string; mode: string }
export interface PinResponse { model: string; pinned: boolean }
