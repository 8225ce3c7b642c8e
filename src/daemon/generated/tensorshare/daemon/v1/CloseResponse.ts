// Original file: proto/tensorshare/daemon.proto


export interface CloseResponse {
}

export interface CloseResponse__Output {
}
