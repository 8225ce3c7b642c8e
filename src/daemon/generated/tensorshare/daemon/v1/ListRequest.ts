// Original file: proto/tensorshare/daemon.proto


export interface ListRequest {
}

export interface ListRequest__Output {
}
