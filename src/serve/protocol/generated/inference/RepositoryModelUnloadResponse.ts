// Original file: proto/kserve/grpc_predict_v2.proto


export interface RepositoryModelUnloadResponse {
}

export interface RepositoryModelUnloadResponse__Output {
}
