// Original file: proto/tensorshare/daemon.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ClientEvent as _tensorshare_daemon_v1_ClientEvent, ClientEvent__Output as _tensorshare_daemon_v1_ClientEvent__Output } from '../../../tensorshare/daemon/v1/ClientEvent.js';
import type { CloseRequest as _tensorshare_daemon_v1_CloseRequest, CloseRequest__Output as _tensorshare_daemon_v1_CloseRequest__Output } from '../../../tensorshare/daemon/v1/CloseRequest.js';
import type { CloseResponse as _tensorshare_daemon_v1_CloseResponse, CloseResponse__Output as _tensorshare_daemon_v1_CloseResponse__Output } from '../../../tensorshare/daemon/v1/CloseResponse.js';
import type { DaemonEvent as _tensorshare_daemon_v1_DaemonEvent, DaemonEvent__Output as _tensorshare_daemon_v1_DaemonEvent__Output } from '../../../tensorshare/daemon/v1/DaemonEvent.js';
import type { EvictRequest as _tensorshare_daemon_v1_EvictRequest, EvictRequest__Output as _tensorshare_daemon_v1_EvictRequest__Output } from '../../../tensorshare/daemon/v1/EvictRequest.js';
import type { EvictResponse as _tensorshare_daemon_v1_EvictResponse, EvictResponse__Output as _tensorshare_daemon_v1_EvictResponse__Output } from '../../../tensorshare/daemon/v1/EvictResponse.js';
import type { ImportRequest as _tensorshare_daemon_v1_ImportRequest, ImportRequest__Output as _tensorshare_daemon_v1_ImportRequest__Output } from '../../../tensorshare/daemon/v1/ImportRequest.js';
import type { ImportResponse as _tensorshare_daemon_v1_ImportResponse, ImportResponse__Output as _tensorshare_daemon_v1_ImportResponse__Output } from '../../../tensorshare/daemon/v1/ImportResponse.js';
import type { ListRequest as _tensorshare_daemon_v1_ListRequest, ListRequest__Output as _tensorshare_daemon_v1_ListRequest__Output } from '../../../tensorshare/daemon/v1/ListRequest.js';
import type { ListResponse as _tensorshare_daemon_v1_ListResponse, ListResponse__Output as _tensorshare_daemon_v1_ListResponse__Output } from '../../../tensorshare/daemon/v1/ListResponse.js';
import type { OpenRequest as _tensorshare_daemon_v1_OpenRequest, OpenRequest__Output as _tensorshare_daemon_v1_OpenRequest__Output } from '../../../tensorshare/daemon/v1/OpenRequest.js';
import type { OpenResponse as _tensorshare_daemon_v1_OpenResponse, OpenResponse__Output as _tensorshare_daemon_v1_OpenResponse__Output } from '../../../tensorshare/daemon/v1/OpenResponse.js';
import type { PinRequest as _tensorshare_daemon_v1_PinRequest, PinRequest__Output as _tensorshare_daemon_v1_PinRequest__Output } from '../../../tensorshare/daemon/v1/PinRequest.js';
import type { PinResponse as _tensorshare_daemon_v1_PinResponse, PinResponse__Output as _tensorshare_daemon_v1_PinResponse__Output } from '../../../tensorshare/daemon/v1/PinResponse.js';
import type { StatsRequest as _tensorshare_daemon_v1_StatsRequest, StatsRequest__Output as _tensorshare_daemon_v1_StatsRequest__Output } from '../../../tensorshare/daemon/v1/StatsRequest.js';
import type { StatsResponse as _tensorshare_daemon_v1_StatsResponse, StatsResponse__Output as _tensorshare_daemon_v1_StatsResponse__Output } from '../../../tensorshare/daemon/v1/StatsResponse.js';
import type { UploadRequest as _tensorshare_daemon_v1_UploadRequest, UploadRequest__Output as _tensorshare_daemon_v1_UploadRequest__Output } from '../../../tensorshare/daemon/v1/UploadRequest.js';

export interface DaemonClient extends grpc.Client {
  Attach(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_tensorshare_daemon_v1_ClientEvent, _tensorshare_daemon_v1_DaemonEvent__Output>;
  Attach(options?: grpc.CallOptions): grpc.ClientDuplexStream<_tensorshare_daemon_v1_ClientEvent, _tensorshare_daemon_v1_DaemonEvent__Output>;
  attach(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_tensorshare_daemon_v1_ClientEvent, _tensorshare_daemon_v1_DaemonEvent__Output>;
  attach(options?: grpc.CallOptions): grpc.ClientDuplexStream<_tensorshare_daemon_v1_ClientEvent, _tensorshare_daemon_v1_DaemonEvent__Output>;
  
  Close(argument: _tensorshare_daemon_v1_CloseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_CloseResponse__Output>): grpc.ClientUnaryCall;
  Close(argument: _tensorshare_daemon_v1_CloseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_CloseResponse__Output>): grpc.ClientUnaryCall;
  Close(argument: _tensorshare_daemon_v1_CloseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_CloseResponse__Output>): grpc.ClientUnaryCall;
  Close(argument: _tensorshare_daemon_v1_CloseRequest, callback: grpc.requestCallback<_tensorshare_daemon_v1_CloseResponse__Output>): grpc.ClientUnaryCall;
  
  Evict(argument: _tensorshare_daemon_v1_EvictRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_EvictResponse__Output>): grpc.ClientUnaryCall;
  Evict(argument: _tensorshare_daemon_v1_EvictRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_EvictResponse__Output>): grpc.ClientUnaryCall;
  Evict(argument: _tensorshare_daemon_v1_EvictRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_EvictResponse__Output>): grpc.ClientUnaryCall;
  Evict(argument: _tensorshare_daemon_v1_EvictRequest, callback: grpc.requestCallback<_tensorshare_daemon_v1_EvictResponse__Output>): grpc.ClientUnaryCall;
  evict(argument: _tensorshare_daemon_v1_EvictRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_EvictResponse__Output>): grpc.ClientUnaryCall;
  evict(argument: _tensorshare_daemon_v1_EvictRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_EvictResponse__Output>): grpc.ClientUnaryCall;
  evict(argument: _tensorshare_daemon_v1_EvictRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_EvictResponse__Output>): grpc.ClientUnaryCall;
  evict(argument: _tensorshare_daemon_v1_EvictRequest, callback: grpc.requestCallback<_tensorshare_daemon_v1_EvictResponse__Output>): grpc.ClientUnaryCall;
  
  Import(argument: _tensorshare_daemon_v1_ImportRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientUnaryCall;
  Import(argument: _tensorshare_daemon_v1_ImportRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientUnaryCall;
  Import(argument: _tensorshare_daemon_v1_ImportRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientUnaryCall;
  Import(argument: _tensorshare_daemon_v1_ImportRequest, callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientUnaryCall;
  import(argument: _tensorshare_daemon_v1_ImportRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientUnaryCall;
  import(argument: _tensorshare_daemon_v1_ImportRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientUnaryCall;
  import(argument: _tensorshare_daemon_v1_ImportRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientUnaryCall;
  import(argument: _tensorshare_daemon_v1_ImportRequest, callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientUnaryCall;
  
  List(argument: _tensorshare_daemon_v1_ListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _tensorshare_daemon_v1_ListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _tensorshare_daemon_v1_ListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _tensorshare_daemon_v1_ListRequest, callback: grpc.requestCallback<_tensorshare_daemon_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _tensorshare_daemon_v1_ListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _tensorshare_daemon_v1_ListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _tensorshare_daemon_v1_ListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _tensorshare_daemon_v1_ListRequest, callback: grpc.requestCallback<_tensorshare_daemon_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  
  Open(argument: _tensorshare_daemon_v1_OpenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  Open(argument: _tensorshare_daemon_v1_OpenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  Open(argument: _tensorshare_daemon_v1_OpenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  Open(argument: _tensorshare_daemon_v1_OpenRequest, callback: grpc.requestCallback<_tensorshare_daemon_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  open(argument: _tensorshare_daemon_v1_OpenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  open(argument: _tensorshare_daemon_v1_OpenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  open(argument: _tensorshare_daemon_v1_OpenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  open(argument: _tensorshare_daemon_v1_OpenRequest, callback: grpc.requestCallback<_tensorshare_daemon_v1_OpenResponse__Output>): grpc.ClientUnaryCall;
  
  Pin(argument: _tensorshare_daemon_v1_PinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  Pin(argument: _tensorshare_daemon_v1_PinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  Pin(argument: _tensorshare_daemon_v1_PinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  Pin(argument: _tensorshare_daemon_v1_PinRequest, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  pin(argument: _tensorshare_daemon_v1_PinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  pin(argument: _tensorshare_daemon_v1_PinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  pin(argument: _tensorshare_daemon_v1_PinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  pin(argument: _tensorshare_daemon_v1_PinRequest, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  
  Stats(argument: _tensorshare_daemon_v1_StatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _tensorshare_daemon_v1_StatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _tensorshare_daemon_v1_StatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _tensorshare_daemon_v1_StatsRequest, callback: grpc.requestCallback<_tensorshare_daemon_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _tensorshare_daemon_v1_StatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _tensorshare_daemon_v1_StatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _tensorshare_daemon_v1_StatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _tensorshare_daemon_v1_StatsRequest, callback: grpc.requestCallback<_tensorshare_daemon_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  
  Unpin(argument: _tensorshare_daemon_v1_PinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  Unpin(argument: _tensorshare_daemon_v1_PinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  Unpin(argument: _tensorshare_daemon_v1_PinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  Unpin(argument: _tensorshare_daemon_v1_PinRequest, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  unpin(argument: _tensorshare_daemon_v1_PinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  unpin(argument: _tensorshare_daemon_v1_PinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  unpin(argument: _tensorshare_daemon_v1_PinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  unpin(argument: _tensorshare_daemon_v1_PinRequest, callback: grpc.requestCallback<_tensorshare_daemon_v1_PinResponse__Output>): grpc.ClientUnaryCall;
  
  Upload(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientWritableStream<_tensorshare_daemon_v1_UploadRequest>;
  Upload(metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientWritableStream<_tensorshare_daemon_v1_UploadRequest>;
  Upload(options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientWritableStream<_tensorshare_daemon_v1_UploadRequest>;
  Upload(callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientWritableStream<_tensorshare_daemon_v1_UploadRequest>;
  upload(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientWritableStream<_tensorshare_daemon_v1_UploadRequest>;
  upload(metadata: grpc.Metadata, callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientWritableStream<_tensorshare_daemon_v1_UploadRequest>;
  upload(options: grpc.CallOptions, callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientWritableStream<_tensorshare_daemon_v1_UploadRequest>;
  upload(callback: grpc.requestCallback<_tensorshare_daemon_v1_ImportResponse__Output>): grpc.ClientWritableStream<_tensorshare_daemon_v1_UploadRequest>;
  
}

export interface DaemonHandlers extends grpc.UntypedServiceImplementation {
  Attach: grpc.handleBidiStreamingCall<_tensorshare_daemon_v1_ClientEvent__Output, _tensorshare_daemon_v1_DaemonEvent>;
  
  Close: grpc.handleUnaryCall<_tensorshare_daemon_v1_CloseRequest__Output, _tensorshare_daemon_v1_CloseResponse>;
  
  Evict: grpc.handleUnaryCall<_tensorshare_daemon_v1_EvictRequest__Output, _tensorshare_daemon_v1_EvictResponse>;
  
  Import: grpc.handleUnaryCall<_tensorshare_daemon_v1_ImportRequest__Output, _tensorshare_daemon_v1_ImportResponse>;
  
  List: grpc.handleUnaryCall<_tensorshare_daemon_v1_ListRequest__Output, _tensorshare_daemon_v1_ListResponse>;
  
  Open: grpc.handleUnaryCall<_tensorshare_daemon_v1_OpenRequest__Output, _tensorshare_daemon_v1_OpenResponse>;
  
  Pin: grpc.handleUnaryCall<_tensorshare_daemon_v1_PinRequest__Output, _tensorshare_daemon_v1_PinResponse>;
  
  Stats: grpc.handleUnaryCall<_tensorshare_daemon_v1_StatsRequest__Output, _tensorshare_daemon_v1_StatsResponse>;
  
  Unpin: grpc.handleUnaryCall<_tensorshare_daemon_v1_PinRequest__Output, _tensorshare_daemon_v1_PinResponse>;
  
  Upload: grpc.handleClientStreamingCall<_tensorshare_daemon_v1_UploadRequest__Output, _tensorshare_daemon_v1_ImportResponse>;
  
}

export interface DaemonDefinition extends grpc.ServiceDefinition {
  Attach: MethodDefinition<_tensorshare_daemon_v1_ClientEvent, _tensorshare_daemon_v1_DaemonEvent, _tensorshare_daemon_v1_ClientEvent__Output, _tensorshare_daemon_v1_DaemonEvent__Output>
  Close: MethodDefinition<_tensorshare_daemon_v1_CloseRequest, _tensorshare_daemon_v1_CloseResponse, _tensorshare_daemon_v1_CloseRequest__Output, _tensorshare_daemon_v1_CloseResponse__Output>
  Evict: MethodDefinition<_tensorshare_daemon_v1_EvictRequest, _tensorshare_daemon_v1_EvictResponse, _tensorshare_daemon_v1_EvictRequest__Output, _tensorshare_daemon_v1_EvictResponse__Output>
  Import: MethodDefinition<_tensorshare_daemon_v1_ImportRequest, _tensorshare_daemon_v1_ImportResponse, _tensorshare_daemon_v1_ImportRequest__Output, _tensorshare_daemon_v1_ImportResponse__Output>
  List: MethodDefinition<_tensorshare_daemon_v1_ListRequest, _tensorshare_daemon_v1_ListResponse, _tensorshare_daemon_v1_ListRequest__Output, _tensorshare_daemon_v1_ListResponse__Output>
  Open: MethodDefinition<_tensorshare_daemon_v1_OpenRequest, _tensorshare_daemon_v1_OpenResponse, _tensorshare_daemon_v1_OpenRequest__Output, _tensorshare_daemon_v1_OpenResponse__Output>
  Pin: MethodDefinition<_tensorshare_daemon_v1_PinRequest, _tensorshare_daemon_v1_PinResponse, _tensorshare_daemon_v1_PinRequest__Output, _tensorshare_daemon_v1_PinResponse__Output>
  Stats: MethodDefinition<_tensorshare_daemon_v1_StatsRequest, _tensorshare_daemon_v1_StatsResponse, _tensorshare_daemon_v1_StatsRequest__Output, _tensorshare_daemon_v1_StatsResponse__Output>
  Unpin: MethodDefinition<_tensorshare_daemon_v1_PinRequest, _tensorshare_daemon_v1_PinResponse, _tensorshare_daemon_v1_PinRequest__Output, _tensorshare_daemon_v1_PinResponse__Output>
  Upload: MethodDefinition<_tensorshare_daemon_v1_UploadRequest, _tensorshare_daemon_v1_ImportResponse, _tensorshare_daemon_v1_UploadRequest__Output, _tensorshare_daemon_v1_ImportResponse__Output>
}
