"""Drives `tensorshare serve --model-repository` with Triton's own
tritonclient (HTTP and gRPC), as a Triton user would: the repository of
src/serve/triton-repository/serve.test.ts (control mode none) serves
ppocr-rec versions 1 and 2 (input x FP32 [-1,3,48,-1], output
softmax_11.tmp_0 FP32 [-1,-1,6625], the same weights in both), ppocr-det 1,
silero-vad 1, and a model `broken` whose config.pbtxt does not parse.

Prints one JSON line per case: {"case": name, "ok": bool, "error": str}.

usage: triton_repository.py HTTP_HOST:PORT GRPC_HOST:PORT
"""

import json
import sys
import traceback

import numpy as np
import tritonclient.grpc as tgrpc
import tritonclient.http as thttp
from tritonclient.utils import InferenceServerException

HTTP, GRPC = sys.argv[1], sys.argv[2]
X = (np.arange(3 * 48 * 64, dtype=np.float32).reshape(1, 3, 48, 64) % 64) / 64 - 0.5
OUT = "softmax_11.tmp_0"


def report(name, ok, error=""):
    print(json.dumps({"case": name, "ok": ok, "error": error}), flush=True)


def case(name, fn):
    try:
        fn()
        report(name, True)
    except Exception:  # every failure is reported, the run goes on
        report(name, False, traceback.format_exc(limit=4))


def refused(fn):
    try:
        fn()
    except InferenceServerException as e:
        return e
    raise AssertionError("expected the server to refuse")


def run(kind, mod, client):
    def versions():
        assert client.is_model_ready("ppocr-rec", "1")
        assert client.is_model_ready("ppocr-rec", "2")
        # No such version: HTTP answers 404 (not ready); gRPC NOT_FOUND, which tritonclient raises.
        try:
            assert not client.is_model_ready("ppocr-rec", "3")
        except InferenceServerException as e:
            assert "has no version '3'" in str(e), str(e)
        meta = client.get_model_metadata("ppocr-rec")
        got = meta["versions"] if kind == "http" else list(meta.versions)
        assert got == ["1", "2"], got

    def infer():
        results = {}
        for version in ["1", ""]:
            x = mod.InferInput("x", list(X.shape), "FP32")
            x.set_data_from_numpy(X)
            res = client.infer("ppocr-rec", [x], model_version=version, outputs=[mod.InferRequestedOutput(OUT)])
            r = res.get_response()
            results[r["model_version"] if kind == "http" else r.model_version] = res.as_numpy(OUT)
        assert sorted(results) == ["1", "2"], sorted(results)
        assert results["1"].shape[0] == 1 and results["1"].shape[2] == 6625, results["1"].shape
        np.testing.assert_array_equal(results["1"], results["2"])

    def index():
        entries = client.get_model_repository_index()
        if kind == "grpc":
            entries = [{"name": m.name, "version": m.version, "state": m.state, "reason": m.reason} for m in entries.models]
        got = sorted((e["name"], e.get("version", ""), e["state"]) for e in entries)
        assert got == [
            ("broken", "1", "UNAVAILABLE"),
            ("ppocr-det", "1", "READY"),
            ("ppocr-rec", "1", "READY"),
            ("ppocr-rec", "2", "READY"),
            ("silero-vad", "1", "READY"),
        ], got
        broken = next(e for e in entries if e["name"] == "broken")
        assert "broken/config.pbtxt:2:" in broken["reason"], broken

    def load_refused():
        e = refused(lambda: client.load_model("ppocr-det"))
        assert "model control mode 'none'" in str(e), str(e)

    case(f"{kind}.versions", versions)
    case(f"{kind}.infer_versions", infer)
    case(f"{kind}.repository_index", index)
    case(f"{kind}.load_refused", load_refused)


run("http", thttp, thttp.InferenceServerClient(HTTP))
run("grpc", tgrpc, tgrpc.InferenceServerClient(GRPC))
