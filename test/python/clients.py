"""Drives a tensorshare gateway with the official Python clients of the
protocol: Triton's tritonclient (HTTP and gRPC) and KServe's SDK inference
clients (InferenceRESTClient, InferenceGRPCClient).

The gateway serves the `echo` and `spare` functions of
src/serve/gateway/python-clients.test.ts: inputs x FP32 [-1,2], half FP16
[-1], flag BOOL [-1], text BYTES [-1]; outputs y = 2x, half_out = half,
flag_out = not flag, text_out = text upper-cased.

Prints one JSON line per case: {"case": name, "ok": bool, "error": str}.
Where a client and the gateway could disagree, docs/protocol.md says what
the specification decides; the expectations here follow it.

usage: clients.py triton|kserve HTTP_HOST:PORT GRPC_HOST:PORT

One family per process: tritonclient and kserve both register the
protocol's messages (`inference.*`) in protobuf's default descriptor pool,
and a second registration of the same names fails.
"""

import asyncio
import json
import sys
import threading
import traceback

import grpc
import httpx
import numpy as np

FAMILY, HTTP, GRPC = sys.argv[1], sys.argv[2], sys.argv[3]
if FAMILY == "triton":
    import tritonclient.grpc as tgrpc
    import tritonclient.http as thttp
    from tritonclient.utils import InferenceServerException
elif FAMILY == "kserve":
    import kserve
    from kserve.protocol.infer_type import RequestedOutput
else:
    sys.exit(f"unknown client family {FAMILY!r}: triton or kserve")

X = np.array([[1.5, -2.0], [3.0, 0.25]], dtype=np.float32)
HALF = np.array([0.5, -1.0, 65504.0], dtype=np.float16)
FLAG = np.array([True, False, True], dtype=np.bool_)
TEXT = np.array([b"shared", b"weights", b"\xc3\xa9t\xc3\xa9"], dtype=np.object_)


def report(name, ok, error=""):
    print(json.dumps({"case": name, "ok": ok, "error": error}), flush=True)


def case(name, fn):
    try:
        fn()
        report(name, True)
    except Exception:  # every failure is reported, the run goes on
        report(name, False, traceback.format_exc(limit=4))


async def acase(name, fn):
    try:
        await fn()
        report(name, True)
    except Exception:
        report(name, False, traceback.format_exc(limit=4))


def check_outputs(y, half, flag, text):
    np.testing.assert_array_equal(y, X * 2)
    assert half.dtype == np.float16, half.dtype
    np.testing.assert_array_equal(half, HALF)
    np.testing.assert_array_equal(flag.astype(np.bool_), ~FLAG)
    got = [t if isinstance(t, bytes) else str(t).encode() for t in text.flatten()]
    assert got == [t.decode().upper().encode() for t in TEXT], got


def expect_error(fn, status):
    try:
        fn()
    except InferenceServerException as e:
        assert str(e.status()) == status, f"status {e.status()!r}, wanted {status!r}: {e.message()}"
        return e
    raise AssertionError(f"no error, wanted status {status}")


# --- Triton's tritonclient, HTTP and gRPC ------------------------------------


def triton_inputs(mod, binary):
    specs = [("x", X, "FP32"), ("half", HALF, "FP16"), ("flag", FLAG, "BOOL"), ("text", TEXT, "BYTES")]
    inputs = []
    for name, arr, dt in specs:
        i = mod.InferInput(name, list(arr.shape), dt)
        if mod is thttp:
            i.set_data_from_numpy(arr, binary_data=binary)
        else:
            i.set_data_from_numpy(arr)
        inputs.append(i)
    return inputs


def triton_outputs(mod, binary):
    names = ["y", "half_out", "flag_out", "text_out"]
    if mod is thttp:
        return [mod.InferRequestedOutput(n, binary_data=binary) for n in names]
    return [mod.InferRequestedOutput(n) for n in names]


def check_triton_result(r):
    check_outputs(r.as_numpy("y"), r.as_numpy("half_out"), r.as_numpy("flag_out"), r.as_numpy("text_out"))


def triton_cases(mod, url, proto):
    c = mod.InferenceServerClient(url=url)
    p = f"triton.{proto}"
    meta = (lambda f, *a: f(*a)) if mod is thttp else (lambda f, *a: f(*a, as_json=True))
    not_found = "404" if mod is thttp else "StatusCode.NOT_FOUND"
    bad_request = "400" if mod is thttp else "StatusCode.INVALID_ARGUMENT"
    # A queue timeout: 503 over HTTP (Triton's too); over gRPC tensorshare says DEADLINE_EXCEEDED
    # where Triton says UNAVAILABLE (docs/protocol.md).
    expired_status = "503" if mod is thttp else "StatusCode.DEADLINE_EXCEEDED"

    case(f"{p}.server_live", lambda: _assert(c.is_server_live()))
    case(f"{p}.server_ready", lambda: _assert(c.is_server_ready()))

    def server_metadata():
        m = meta(c.get_server_metadata)
        assert m["name"] == "tensorshare", m
        assert "binary_tensor_data" in m["extensions"] and "model_repository" in m["extensions"], m

    case(f"{p}.server_metadata", server_metadata)

    def model_ready():
        assert c.is_model_ready("echo")
        assert_not_ready(c, "no-such-model")

    case(f"{p}.model_ready", model_ready)

    def model_metadata():
        m = meta(c.get_model_metadata, "echo")
        assert m["name"] == "echo", m
        got = [(t["name"], t["datatype"], [int(d) for d in t["shape"]]) for t in m["inputs"]]
        assert got == [("x", "FP32", [-1, 2]), ("half", "FP16", [-1]), ("flag", "BOOL", [-1]), ("text", "BYTES", [-1])], got
        assert [t["name"] for t in m["outputs"]] == ["y", "half_out", "flag_out", "text_out"], m

    case(f"{p}.model_metadata", model_metadata)

    if mod is thttp:
        # JSON tensors both ways, then the binary tensor data extension both ways.
        case(f"{p}.infer_json", lambda: check_triton_result(c.infer("echo", triton_inputs(mod, False), outputs=triton_outputs(mod, False))))
        case(f"{p}.infer_binary", lambda: check_triton_result(c.infer("echo", triton_inputs(mod, True), outputs=triton_outputs(mod, True))))
        case(f"{p}.infer_binary_in_json_out", lambda: check_triton_result(c.infer("echo", triton_inputs(mod, True), outputs=triton_outputs(mod, False))))
    else:
        case(f"{p}.infer_raw", lambda: check_triton_result(c.infer("echo", triton_inputs(mod, True), outputs=triton_outputs(mod, True))))
    case(f"{p}.infer_all_outputs", lambda: check_triton_result(c.infer("echo", triton_inputs(mod, True))))

    def parameters():
        # Triton's schedule-policy parameters: priority (1 = highest level) and timeout in microseconds.
        for priority in (1, 2):
            r = c.infer("echo", triton_inputs(mod, True), priority=priority, timeout=5_000_000, request_id=f"req-{priority}")
            check_triton_result(r)
            rid = r.get_response()["id"] if mod is thttp else r.get_response(as_json=True)["id"]
            assert rid == f"req-{priority}", rid

    case(f"{p}.parameters_priority_timeout", parameters)

    def timeout_expires():
        # One request holds echo's single instance for 1.5 s; requests with a 1 ms queue timeout
        # sent meanwhile expire in the queue and are not run.
        slow = {}

        def hold():
            try:
                slow["result"] = mod.InferenceServerClient(url=url).infer(
                    "echo", triton_inputs(mod, True), parameters={"sleep_ms": 1500}
                )
            except Exception as e:  # reported below
                slow["error"] = e

        t = threading.Thread(target=hold)
        t.start()
        expired = []
        while t.is_alive() and not expired:
            try:
                c.infer("echo", triton_inputs(mod, True), timeout=1000)
            except InferenceServerException as e:
                expired.append(e)
        t.join()
        assert "error" not in slow, slow.get("error")
        check_triton_result(slow["result"])
        assert expired, "no request expired while the instance was held"
        assert str(expired[0].status()) == expired_status, (expired[0].status(), expired[0].message())
        assert "timeout" in expired[0].message().lower() or "deadline" in expired[0].message().lower(), expired[0].message()

    case(f"{p}.timeout_expires_in_queue", timeout_expires)

    def index():
        got = c.get_model_repository_index() if mod is thttp else c.get_model_repository_index(as_json=True)["models"]
        return {m["name"]: m.get("state", "") for m in got}

    def repository():
        c.load_model("spare")  # loading a loaded model is a no-op
        assert index() == {"echo": "READY", "spare": "READY"}, index()
        c.unload_model("spare")
        # Triton lists an unloaded model as UNAVAILABLE; tensorshare drops it (docs/protocol.md).
        assert index().get("spare", "UNAVAILABLE") == "UNAVAILABLE", index()
        assert_not_ready(c, "spare")
        c.load_model("spare")
        assert index()["spare"] == "READY", index()
        assert c.is_model_ready("spare")
        check_triton_result(c.infer("spare", triton_inputs(mod, True)))

    case(f"{p}.repository_index_load_unload", repository)

    def unknown_model():
        e = expect_error(lambda: c.infer("no-such-model", triton_inputs(mod, True)), not_found)
        assert "no-such-model" in e.message(), e.message()
        expect_error(lambda: c.get_model_metadata("no-such-model"), not_found)

    case(f"{p}.error_unknown_model", unknown_model)

    def bad_shape():
        i = mod.InferInput("x", [3], "FP32")
        i.set_data_from_numpy(np.array([1, 2, 3], dtype=np.float32))
        e = expect_error(lambda: c.infer("echo", [i] + triton_inputs(mod, True)[1:]), bad_request)
        assert "shape" in e.message(), e.message()

    case(f"{p}.error_bad_shape", bad_shape)

    def bad_parameter():
        # tritonclient refuses to send `priority` or `timeout` as free parameters itself;
        # tensorshare's own `timeout_ms` goes through and is checked.
        e = expect_error(lambda: c.infer("echo", triton_inputs(mod, True), parameters={"timeout_ms": "soon"}), bad_request)
        assert "timeout_ms" in e.message(), e.message()

    case(f"{p}.error_bad_parameter", bad_parameter)
    c.close()


def _assert(v):
    assert v, v


def assert_not_ready(c, name):
    """Over HTTP not ready is a 4xx (False); over gRPC tensorshare answers NOT_FOUND for a
    model it has no metadata for (unknown or unloaded), which tritonclient raises (docs/protocol.md)."""
    if isinstance(c, thttp.InferenceServerClient):
        assert not c.is_model_ready(name)
    else:
        expect_error(lambda: c.is_model_ready(name), "StatusCode.NOT_FOUND")


# --- KServe's SDK inference clients ------------------------------------------


def kserve_inputs(binary):
    specs = [("x", X, "FP32"), ("half", HALF, "FP16"), ("flag", FLAG, "BOOL"), ("text", TEXT, "BYTES")]
    out = []
    for name, arr, dt in specs:
        i = kserve.InferInput(name, list(arr.shape), dt)
        # KServe's REST client refuses FP16 as JSON (the JSON form has no half type): always binary.
        i.set_data_from_numpy(arr, binary_data=binary or dt == "FP16")
        out.append(i)
    return out


def check_kserve_response(r):
    by = {o.name: o for o in r.outputs}
    check_outputs(by["y"].as_numpy(), by["half_out"].as_numpy(), by["flag_out"].as_numpy(), by["text_out"].as_numpy())


async def kserve_rest_cases():
    base = f"http://{HTTP}"
    c = kserve.InferenceRESTClient(kserve.RESTConfig(protocol="v2", retries=0, timeout=30))
    p = "kserve.rest"

    async def live_ready():
        assert await c.is_server_live(base)
        assert await c.is_server_ready(base)

    await acase(f"{p}.server_live_ready", live_ready)

    async def model_ready():
        assert await c.is_model_ready(base, "echo")
        assert not await c.is_model_ready(base, "no-such-model")

    await acase(f"{p}.model_ready", model_ready)

    async def infer(binary):
        outputs = [RequestedOutput(n, {"binary_data": binary}) for n in ("y", "half_out", "flag_out", "text_out")]
        req = kserve.InferRequest("echo", kserve_inputs(binary), request_id="k1", request_outputs=outputs)
        r = await c.infer(base, req, model_name="echo")
        assert r.id == "k1", r.id
        check_kserve_response(r)

    await acase(f"{p}.infer_json", lambda: infer(False))
    await acase(f"{p}.infer_binary", lambda: infer(True))

    async def unknown_model():
        try:
            await c.infer(base, kserve.InferRequest("no-such-model", kserve_inputs(False)), model_name="no-such-model")
        except httpx.HTTPStatusError as e:
            assert e.response.status_code == 404, e.response.status_code
            assert "error" in e.response.json(), e.response.text
            return
        raise AssertionError("no error for an unknown model")

    await acase(f"{p}.error_unknown_model", unknown_model)
    await c.close()


async def kserve_grpc_cases():
    c = kserve.InferenceGRPCClient(GRPC, timeout=30)
    p = "kserve.grpc"

    async def live_ready():
        assert await c.is_server_live()
        assert await c.is_server_ready()

    await acase(f"{p}.server_live_ready", live_ready)

    async def model_ready():
        assert await c.is_model_ready("echo")

    await acase(f"{p}.model_ready", model_ready)

    async def infer():
        r = await c.infer(kserve.InferRequest("echo", kserve_inputs(True), request_id="g1"))
        assert r.id == "g1", r.id
        check_kserve_response(r)

    await acase(f"{p}.infer", infer)

    async def unknown_model():
        try:
            await c.infer(kserve.InferRequest("no-such-model", kserve_inputs(True)))
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.NOT_FOUND, e.code()
            return
        raise AssertionError("no error for an unknown model")

    await acase(f"{p}.error_unknown_model", unknown_model)
    await c.close()


def main():
    if FAMILY == "triton":
        triton_cases(thttp, HTTP, "http")
        triton_cases(tgrpc, GRPC, "grpc")
    else:
        asyncio.run(kserve_rest_cases())
        asyncio.run(kserve_grpc_cases())


if __name__ == "__main__":
    main()
