#!/usr/bin/env bash
# Builds what the opt-in control-plane test (src/deploy/control-plane.test.ts)
# runs: kube-apiserver and kube-scheduler from Kubernetes' own sources (through
# the Go module proxy; the staging modules are replaced by their published
# versions, as k8s.io/kubernetes cannot be `go install`ed directly), and etcd
# from Debian's packages. Prints the folder of the binaries.
#   bash scripts/k8s-control-plane/build.sh      # once: 88 min here on 2 busy cores; Go caches it
set -euo pipefail
K8S_VERSION=1.37.2
STAGING_VERSION=0.37.2
ETCD_DEB=3.4.23-4+b4
OUT=${K8S_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/tensorshare/kubernetes-v$K8S_VERSION}
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v etcd >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "etcd-server=$ETCD_DEB" >&2
fi
if [[ -x $OUT/kube-apiserver && -x $OUT/kube-scheduler ]]; then echo "$OUT"; exit 0; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
cd "$work"
go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" > download.json
upstream=$(python3 -c "import json,sys; print(json.load(open('download.json'))['GoMod'])")
{
  echo "module tensorshare.dev/k8s-control-plane"
  grep -E '^go [0-9.]+$' "$upstream"
  echo "require k8s.io/kubernetes v$K8S_VERSION"
  echo "replace ("
  grep -E '^\s+k8s.io/[a-z0-9-]+ => ./staging' "$upstream" | awk -v v="$STAGING_VERSION" '{print "\t" $1 " => " $1 " v" v}'
  echo ")"
} > go.mod
cp "$here/tools.go" .
go mod tidy >&2
mkdir -p "$OUT"
go build -o "$OUT/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-scheduler >&2
echo "$OUT"
