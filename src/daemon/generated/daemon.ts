import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Attached as _tensorshare_daemon_v1_Attached, Attached__Output as _tensorshare_daemon_v1_Attached__Output } from './tensorshare/daemon/v1/Attached.js';
import type { ClientEvent as _tensorshare_daemon_v1_ClientEvent, ClientEvent__Output as _tensorshare_daemon_v1_ClientEvent__Output } from './tensorshare/daemon/v1/ClientEvent.js';
import type { CloseRequest as _tensorshare_daemon_v1_CloseRequest, CloseRequest__Output as _tensorshare_daemon_v1_CloseRequest__Output } from './tensorshare/daemon/v1/CloseRequest.js';
import type { CloseResponse as _tensorshare_daemon_v1_CloseResponse, CloseResponse__Output as _tensorshare_daemon_v1_CloseResponse__Output } from './tensorshare/daemon/v1/CloseResponse.js';
import type { DaemonClient as _tensorshare_daemon_v1_DaemonClient, DaemonDefinition as _tensorshare_daemon_v1_DaemonDefinition } from './tensorshare/daemon/v1/Daemon.js';
import type { DaemonEvent as _tensorshare_daemon_v1_DaemonEvent, DaemonEvent__Output as _tensorshare_daemon_v1_DaemonEvent__Output } from './tensorshare/daemon/v1/DaemonEvent.js';
import type { EvictRequest as _tensorshare_daemon_v1_EvictRequest, EvictRequest__Output as _tensorshare_daemon_v1_EvictRequest__Output } from './tensorshare/daemon/v1/EvictRequest.js';
import type { EvictResponse as _tensorshare_daemon_v1_EvictResponse, EvictResponse__Output as _tensorshare_daemon_v1_EvictResponse__Output } from './tensorshare/daemon/v1/EvictResponse.js';
import type { Hello as _tensorshare_daemon_v1_Hello, Hello__Output as _tensorshare_daemon_v1_Hello__Output } from './tensorshare/daemon/v1/Hello.js';
import type { ImportRequest as _tensorshare_daemon_v1_ImportRequest, ImportRequest__Output as _tensorshare_daemon_v1_ImportRequest__Output } from './tensorshare/daemon/v1/ImportRequest.js';
import type { ImportResponse as _tensorshare_daemon_v1_ImportResponse, ImportResponse__Output as _tensorshare_daemon_v1_ImportResponse__Output } from './tensorshare/daemon/v1/ImportResponse.js';
import type { Lease as _tensorshare_daemon_v1_Lease, Lease__Output as _tensorshare_daemon_v1_Lease__Output } from './tensorshare/daemon/v1/Lease.js';
import type { LeaseClaim as _tensorshare_daemon_v1_LeaseClaim, LeaseClaim__Output as _tensorshare_daemon_v1_LeaseClaim__Output } from './tensorshare/daemon/v1/LeaseClaim.js';
import type { LeaseInfo as _tensorshare_daemon_v1_LeaseInfo, LeaseInfo__Output as _tensorshare_daemon_v1_LeaseInfo__Output } from './tensorshare/daemon/v1/LeaseInfo.js';
import type { ListRequest as _tensorshare_daemon_v1_ListRequest, ListRequest__Output as _tensorshare_daemon_v1_ListRequest__Output } from './tensorshare/daemon/v1/ListRequest.js';
import type { ListResponse as _tensorshare_daemon_v1_ListResponse, ListResponse__Output as _tensorshare_daemon_v1_ListResponse__Output } from './tensorshare/daemon/v1/ListResponse.js';
import type { ModelInfo as _tensorshare_daemon_v1_ModelInfo, ModelInfo__Output as _tensorshare_daemon_v1_ModelInfo__Output } from './tensorshare/daemon/v1/ModelInfo.js';
import type { ModelStats as _tensorshare_daemon_v1_ModelStats, ModelStats__Output as _tensorshare_daemon_v1_ModelStats__Output } from './tensorshare/daemon/v1/ModelStats.js';
import type { OpenRequest as _tensorshare_daemon_v1_OpenRequest, OpenRequest__Output as _tensorshare_daemon_v1_OpenRequest__Output } from './tensorshare/daemon/v1/OpenRequest.js';
import type { OpenResponse as _tensorshare_daemon_v1_OpenResponse, OpenResponse__Output as _tensorshare_daemon_v1_OpenResponse__Output } from './tensorshare/daemon/v1/OpenResponse.js';
import type { PinRequest as _tensorshare_daemon_v1_PinRequest, PinRequest__Output as _tensorshare_daemon_v1_PinRequest__Output } from './tensorshare/daemon/v1/PinRequest.js';
import type { PinResponse as _tensorshare_daemon_v1_PinResponse, PinResponse__Output as _tensorshare_daemon_v1_PinResponse__Output } from './tensorshare/daemon/v1/PinResponse.js';
import type { RejectedLease as _tensorshare_daemon_v1_RejectedLease, RejectedLease__Output as _tensorshare_daemon_v1_RejectedLease__Output } from './tensorshare/daemon/v1/RejectedLease.js';
import type { StatsRequest as _tensorshare_daemon_v1_StatsRequest, StatsRequest__Output as _tensorshare_daemon_v1_StatsRequest__Output } from './tensorshare/daemon/v1/StatsRequest.js';
import type { StatsResponse as _tensorshare_daemon_v1_StatsResponse, StatsResponse__Output as _tensorshare_daemon_v1_StatsResponse__Output } from './tensorshare/daemon/v1/StatsResponse.js';
import type { TensorStats as _tensorshare_daemon_v1_TensorStats, TensorStats__Output as _tensorshare_daemon_v1_TensorStats__Output } from './tensorshare/daemon/v1/TensorStats.js';
import type { Totals as _tensorshare_daemon_v1_Totals, Totals__Output as _tensorshare_daemon_v1_Totals__Output } from './tensorshare/daemon/v1/Totals.js';
import type { UploadHeader as _tensorshare_daemon_v1_UploadHeader, UploadHeader__Output as _tensorshare_daemon_v1_UploadHeader__Output } from './tensorshare/daemon/v1/UploadHeader.js';
import type { UploadRequest as _tensorshare_daemon_v1_UploadRequest, UploadRequest__Output as _tensorshare_daemon_v1_UploadRequest__Output } from './tensorshare/daemon/v1/UploadRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  tensorshare: {
    daemon: {
      v1: {
        Attached: MessageTypeDefinition<_tensorshare_daemon_v1_Attached, _tensorshare_daemon_v1_Attached__Output>
        ClientEvent: MessageTypeDefinition<_tensorshare_daemon_v1_ClientEvent, _tensorshare_daemon_v1_ClientEvent__Output>
        CloseRequest: MessageTypeDefinition<_tensorshare_daemon_v1_CloseRequest, _tensorshare_daemon_v1_CloseRequest__Output>
        CloseResponse: MessageTypeDefinition<_tensorshare_daemon_v1_CloseResponse, _tensorshare_daemon_v1_CloseResponse__Output>
        Daemon: SubtypeConstructor<typeof grpc.Client, _tensorshare_daemon_v1_DaemonClient> & { service: _tensorshare_daemon_v1_DaemonDefinition }
        DaemonEvent: MessageTypeDefinition<_tensorshare_daemon_v1_DaemonEvent, _tensorshare_daemon_v1_DaemonEvent__Output>
        EvictRequest: MessageTypeDefinition<_tensorshare_daemon_v1_EvictRequest, _tensorshare_daemon_v1_EvictRequest__Output>
        EvictResponse: MessageTypeDefinition<_tensorshare_daemon_v1_EvictResponse, _tensorshare_daemon_v1_EvictResponse__Output>
        Hello: MessageTypeDefinition<_tensorshare_daemon_v1_Hello, _tensorshare_daemon_v1_Hello__Output>
        ImportRequest: MessageTypeDefinition<_tensorshare_daemon_v1_ImportRequest, _tensorshare_daemon_v1_ImportRequest__Output>
        ImportResponse: MessageTypeDefinition<_tensorshare_daemon_v1_ImportResponse, _tensorshare_daemon_v1_ImportResponse__Output>
        Lease: MessageTypeDefinition<_tensorshare_daemon_v1_Lease, _tensorshare_daemon_v1_Lease__Output>
        LeaseClaim: MessageTypeDefinition<_tensorshare_daemon_v1_LeaseClaim, _tensorshare_daemon_v1_LeaseClaim__Output>
        LeaseInfo: MessageTypeDefinition<_tensorshare_daemon_v1_LeaseInfo, _tensorshare_daemon_v1_LeaseInfo__Output>
        ListRequest: MessageTypeDefinition<_tensorshare_daemon_v1_ListRequest, _tensorshare_daemon_v1_ListRequest__Output>
        ListResponse: MessageTypeDefinition<_tensorshare_daemon_v1_ListResponse, _tensorshare_daemon_v1_ListResponse__Output>
        ModelInfo: MessageTypeDefinition<_tensorshare_daemon_v1_ModelInfo, _tensorshare_daemon_v1_ModelInfo__Output>
        ModelStats: MessageTypeDefinition<_tensorshare_daemon_v1_ModelStats, _tensorshare_daemon_v1_ModelStats__Output>
        OpenRequest: MessageTypeDefinition<_tensorshare_daemon_v1_OpenRequest, _tensorshare_daemon_v1_OpenRequest__Output>
        OpenResponse: MessageTypeDefinition<_tensorshare_daemon_v1_OpenResponse, _tensorshare_daemon_v1_OpenResponse__Output>
        PinRequest: MessageTypeDefinition<_tensorshare_daemon_v1_PinRequest, _tensorshare_daemon_v1_PinRequest__Output>
        PinResponse: MessageTypeDefinition<_tensorshare_daemon_v1_PinResponse, _tensorshare_daemon_v1_PinResponse__Output>
        RejectedLease: MessageTypeDefinition<_tensorshare_daemon_v1_RejectedLease, _tensorshare_daemon_v1_RejectedLease__Output>
        StatsRequest: MessageTypeDefinition<_tensorshare_daemon_v1_StatsRequest, _tensorshare_daemon_v1_StatsRequest__Output>
        StatsResponse: MessageTypeDefinition<_tensorshare_daemon_v1_StatsResponse, _tensorshare_daemon_v1_StatsResponse__Output>
        TensorStats: MessageTypeDefinition<_tensorshare_daemon_v1_TensorStats, _tensorshare_daemon_v1_TensorStats__Output>
        Totals: MessageTypeDefinition<_tensorshare_daemon_v1_Totals, _tensorshare_daemon_v1_Totals__Output>
        UploadHeader: MessageTypeDefinition<_tensorshare_daemon_v1_UploadHeader, _tensorshare_daemon_v1_UploadHeader__Output>
        UploadRequest: MessageTypeDefinition<_tensorshare_daemon_v1_UploadRequest, _tensorshare_daemon_v1_UploadRequest__Output>
      }
    }
  }
}

