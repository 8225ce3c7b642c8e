// Original file: proto/kserve/grpc_predict_v2.proto


export interface RepositoryModelLoadResponse {
}

export interface RepositoryModelLoadResponse__Output {
}
