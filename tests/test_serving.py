"""companion.serving: the HTTP service answers correctly, refuses bad requests with a clear
4xx and never crashes; a real uvicorn process starts, serves and stops (Chapter 13.3)."""

import json
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from companion.serving import (
    Classifier,
    load_checkpoint,
    load_test,
    save_checkpoint,
    serve,
    start_server,
)
from companion.serving import server as server_mod
from companion.serving.app import create_app
from companion.serving.ratelimit import TokenBucket
from companion.transformer import GPT, GPTConfig

F, K = 6, 3


@pytest.fixture(scope="module")
def classifier_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    model = Classifier(F, [8], K)
    model.set_standardisation(torch.rand(50, F) * 4 + 1)
    return model.eval(), save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "clf.pt")


@pytest.fixture(scope="module")
def client(classifier_ckpt):
    return TestClient(create_app(classifier_ckpt[1], max_batch=16, max_body_bytes=20_000))


VOCAB = "abcdefgh ."


@pytest.fixture(scope="module")
def gpt_client(tmp_path_factory):
    torch.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=len(VOCAB), block_size=8, n_layer=1, n_head=2, n_embd=16))
    path = save_checkpoint(gpt, tmp_path_factory.mktemp("gpt") / "gpt.pt", vocab=VOCAB)
    return gpt.eval(), TestClient(create_app(path, max_new_tokens=20))


def test_checkpoint_round_trip_is_exact_and_weights_only(classifier_ckpt):
    model, path = classifier_ckpt
    loaded, payload = load_checkpoint(path)
    assert payload["kind"] == "classifier"
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    torch.load(path, weights_only=True)  # loads without unpickling arbitrary objects


def test_standardisation_matches_numpy():
    X = torch.rand(40, F, dtype=torch.float32) * 16
    model = Classifier(F, [4], K).set_standardisation(X)
    np.testing.assert_allclose(model.mean.numpy(), X.numpy().mean(0), rtol=1e-5)
    np.testing.assert_allclose(model.std.numpy(), X.numpy().std(0, ddof=1), rtol=1e-5)


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() | {} == {
        "status": "ok", "kind": "classifier", "n_parameters": F * 8 + 8 + 8 * K + K,
        "in_features": F, "num_classes": K, "max_batch": 16,
    }  # fmt: skip


def test_predict_equals_the_model(client, classifier_ckpt):
    model = classifier_ckpt[0]
    x = torch.rand(5, F) * 4
    r = client.post("/predict", json={"inputs": x.tolist()})
    assert r.status_code == 200
    with torch.no_grad():
        probs = model(x).softmax(-1)
    got = torch.tensor(r.json()["probabilities"])
    torch.testing.assert_close(got, probs, atol=1e-6, rtol=1e-5)
    assert r.json()["predictions"] == probs.argmax(-1).tolist()
    # JSON integers are numbers too: [[1, 2, ...]] equals [[1.0, 2.0, ...]]
    ints = client.post("/predict", json={"inputs": [[1] * F]}).json()
    floats = client.post("/predict", json={"inputs": [[1.0] * F]}).json()
    assert ints == floats


BAD_BODIES = [
    ("not JSON", b"{inputs: [[1, 2]]", 422, "JSON decode error"),
    ("a bare list", json.dumps([[0.0] * F]).encode(), 422, "valid dictionary"),
    ("missing field", b"{}", 422, "inputs"),
    ("misspelt field", json.dumps({"input": [[0.0] * F]}).encode(), 422, "inputs"),
    ("extra field", json.dumps({"inputs": [[0.0] * F], "x": 1}).encode(), 422, "Extra inputs"),
    ("empty batch", json.dumps({"inputs": []}).encode(), 422, "at least 1"),
    ("1-D instead of 2-D", json.dumps({"inputs": [0.0] * F}).encode(), 422, "valid list"),
    ("3-D", json.dumps({"inputs": [[[0.0] * F]]}).encode(), 422, "valid number"),
    ("strings", json.dumps({"inputs": [["1"] * F]}).encode(), 422, "valid number"),
    ("booleans", json.dumps({"inputs": [[True] * F]}).encode(), 422, "valid number"),
    ("null", json.dumps({"inputs": [[None] * F]}).encode(), 422, "valid number"),
    ("NaN", b'{"inputs": [[NaN, 0, 0, 0, 0, 0]]}', 422, "finite number"),
    ("Infinity", b'{"inputs": [[Infinity, 0, 0, 0, 0, 0]]}', 422, "finite number"),
    ("short row", json.dumps({"inputs": [[0.0] * (F - 1)]}).encode(), 422, f"hold {F} numbers"),
    ("ragged rows", json.dumps({"inputs": [[0.0] * F, [0.0] * (F + 1)]}).encode(), 422, "row 1"),
    ("too many rows", json.dumps({"inputs": [[0.0] * F] * 17}).encode(), 413, "at most 16"),
    ("oversize body", json.dumps({"inputs": [[0.5] * F] * 2000}).encode(), 413, "limit"),
]


@pytest.mark.parametrize("what, body, status, needle", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_requests_get_a_clear_4xx(client, what, body, status, needle):
    r = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, (what, r.text)
    assert needle in r.text, (what, r.text)
    assert client.get("/health").status_code == 200  # still serving


def test_wrong_method_wrong_path_and_wrong_content_type(client):
    assert client.get("/predict").status_code == 405
    assert client.post("/generate", json={"prompt": "a"}).status_code == 404
    r = client.post("/predict", content=b"inputs=1", headers={"content-type": "text/plain"})
    assert r.status_code == 422


def test_chunked_oversize_body_without_length_is_refused(client):
    def chunks():
        yield b'{"inputs": ['
        for _ in range(3000):
            yield b"[0, 0, 0, 0, 0, 0],"
        yield b"[0, 0, 0, 0, 0, 0]]}"

    r = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_generate_is_greedy_decoding_of_the_model(gpt_client):
    gpt, client = gpt_client
    r = client.post("/generate", json={"prompt": "abc", "max_new_tokens": 12, "temperature": 0})
    assert r.status_code == 200
    ids = torch.tensor([[VOCAB.index(c) for c in "abc"]])
    expected = gpt.generate(ids, 12, temperature=0)[0, 3:]
    assert r.json()["completion"] == "".join(VOCAB[i] for i in expected.tolist())


def test_streaming_sends_the_same_text_piece_by_piece(gpt_client):
    _, client = gpt_client
    body = {"prompt": "ab", "max_new_tokens": 10, "temperature": 0.8, "seed": 3}
    whole = client.post("/generate", json=body).json()["completion"]
    with client.stream("POST", "/generate", json=body | {"stream": True}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        pieces = list(r.iter_text())
    assert "".join(pieces) == whole and len(whole) == 10


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"prompt": "xyz"}, "alphabet"),
        ({"prompt": ""}, "at least 1"),
        ({"prompt": 12}, "valid string"),
        ({"prompt": "ab", "max_new_tokens": 21}, "at most 20"),
        ({"prompt": "ab", "max_new_tokens": 0}, "greater than or equal to 1"),
        ({"prompt": "ab", "max_new_tokens": 2.5}, "valid integer"),
        ({"prompt": "ab", "max_new_tokens": True}, "valid integer"),
        ({"prompt": "ab", "temperature": -1}, "greater than or equal to 0"),
        ({"prompt": "ab", "temperature": "hot"}, "valid number"),
        ({"prompt": "ab", "stream": "yes"}, "valid boolean"),
    ],
)
def test_generate_bad_requests(gpt_client, body, needle):
    r = gpt_client[1].post("/generate", json=body)
    assert r.status_code == 422 and needle in r.text, r.text


def test_real_uvicorn_process_round_trip_and_clean_shutdown(classifier_ckpt):
    model, path = classifier_ckpt
    x = torch.rand(3, F)
    with serve(path, max_batch=16) as server:
        assert server.url.startswith("http://127.0.0.1:")
        r = httpx.post(server.url + "/predict", json={"inputs": x.tolist()}, timeout=10)
        bad = httpx.post(server.url + "/predict", json={"inputs": [["a"]]}, timeout=10)
        result = load_test(server.url, [{"inputs": x.tolist()}], n_requests=20, concurrency=4)
        proc = server.process
    assert r.status_code == 200 and bad.status_code == 422
    with torch.no_grad():
        torch.testing.assert_close(torch.tensor(r.json()["probabilities"]), model(x).softmax(-1))
    assert result.ok and result.n_requests == 20 and result.p50 <= result.p95 <= result.p99
    assert proc.poll() is not None  # no process left behind


def test_server_is_stopped_when_start_up_fails_or_the_block_raises(classifier_ckpt):
    before = set(server_mod._RUNNING)
    with pytest.raises(TimeoutError, match="not healthy after"):
        with serve(classifier_ckpt[1], start_timeout=0.01):
            pass  # never reached: the model takes longer than 10 ms to load
    server = start_server(classifier_ckpt[1])
    with pytest.raises(RuntimeError, match="a failing cell"):
        with server:
            raise RuntimeError("a failing cell")
    assert not server.running
    assert set(server_mod._RUNNING) == before  # nothing left for atexit either


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return not any(line.startswith("State:") and "Z" in line for line in f)
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_server_stops_itself_when_its_parent_is_killed(classifier_ckpt):
    """Even a parent killed without running any exit handler (SIGKILL) leaves no server."""
    code = (
        "import sys, time; from companion.serving import start_server; "
        f"s = start_server({str(classifier_ckpt[1])!r}).wait_healthy(); "
        "print(s.process.pid, flush=True); time.sleep(120)"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        server_pid = int(parent.stdout.readline())
        assert _alive(server_pid)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 20
        while _alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(server_pid)
    finally:
        parent.kill()
        parent.wait()


def test_demo_checkpoint_trains_and_serves(tmp_path):
    from companion.serving.demo import main, train_digits

    path, acc = train_digits(tmp_path / "digits.pt", epochs=2)
    assert acc > 0.85
    model, payload = load_checkpoint(path)
    assert payload["kind"] == "classifier" and model.in_features == 64
    client = TestClient(create_app(path))
    x = [[0.0] * 64, [0.5] * 64]
    assert client.post("/predict", json={"inputs": x}).json()["predictions"] == (
        model(torch.tensor(x)).argmax(1).tolist()
    )
    main([str(tmp_path / "again.pt"), "--epochs", "1"])
    assert (tmp_path / "again.pt").is_file()


def test_token_bucket_by_hand():
    now = [0.0]
    bucket = TokenBucket(per_minute=60, burst=2, clock=lambda: now[0])  # 1 token per second
    assert [bucket.allow("a")[0] for _ in range(3)] == [True, True, False]
    assert bucket.allow("a")[1] == pytest.approx(1.0)  # empty: one second to the next token
    assert bucket.allow("b")[0]  # another client has its own bucket
    now[0] = 0.5
    assert not bucket.allow("a")[0]
    now[0] = 1.0
    assert bucket.allow("a")[0] and not bucket.allow("a")[0]
    now[0] = 100.0  # refills to the burst, not beyond
    assert [bucket.allow("a")[0] for _ in range(3)] == [True, True, False]


def test_rate_limited_app_answers_429_per_key(classifier_ckpt):
    client = TestClient(create_app(classifier_ckpt[1], requests_per_minute=1, burst=3))
    body = {"inputs": [[0.0] * F]}
    codes = [client.post("/predict", json=body).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    r = client.post("/predict", json=body)
    assert int(r.headers["retry-after"]) >= 1 and "rate limit" in r.json()["detail"]
    assert client.get("/health").status_code == 200  # health checks are not limited
    other = client.post("/predict", json=body, headers={"X-API-Key": "team-b"})
    assert other.status_code == 200  # a different key has its own budget
