"""The HTTP service: a FastAPI app around one checkpoint (Chapter 13, section 13.3).

``create_app(checkpoint)`` loads the model **once**, at start-up, with
``torch.load(..., weights_only=True)`` (see :mod:`.checkpoint`), and serves:

* ``GET /health`` - ``{"status": "ok", "kind": ..., "n_parameters": ...}``: a load balancer
  or :mod:`.server` polls it to know the model is ready;
* ``POST /predict`` (classifier) - body ``{"inputs": [[x_1, ..., x_F], ...]}``, one row per
  example, at most ``max_batch`` rows; answer ``{"predictions": [k, ...],
  "probabilities": [[p_1, ..., p_K], ...]}``;
* ``POST /generate`` (GPT) - body ``{"prompt": "...", "max_new_tokens": n, "temperature": t,
  "seed": s, "stream": false}``; with ``"stream": true`` the answer is ``text/plain`` sent
  character by character as each token is generated.

Bad requests never reach the model and never crash the server: malformed JSON, a missing or
extra field, a string, boolean or NaN where a number belongs, rows of the wrong length, too
many rows or too long a body, unknown characters in a prompt - each gets a 4xx answer whose
``detail`` says which field was wrong and why (422 for invalid content, 413 for oversize).
An unexpected error inside the model gets a 500 with a short message; the server keeps running.
With ``requests_per_minute``, each client (API key or address) gets that many requests a
minute, in bursts of up to ``burst`` (:mod:`.ratelimit`); beyond it, 429 with ``Retry-After``.
"""

from __future__ import annotations

import os

import torch
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from ..parameters import count_parameters
from ..validation import check_positive_int
from .checkpoint import load_checkpoint
from .ratelimit import TokenBucket


class PredictRequest(BaseModel):
    """``inputs``: a non-empty list of rows of finite numbers (JSON ints are accepted as floats)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    inputs: list[list[StrictFloat]] = Field(min_length=1)


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    prompt: StrictStr = Field(min_length=1)
    max_new_tokens: StrictInt = Field(default=32, ge=1)
    temperature: StrictFloat = Field(default=1.0, ge=0.0, le=10.0)
    seed: StrictInt | None = None
    stream: StrictBool = False


def create_app(
    checkpoint: str | os.PathLike,
    *,
    max_batch: int = 256,
    max_body_bytes: int = 1_000_000,
    max_new_tokens: int = 256,
    requests_per_minute: float | None = None,
    burst: int = 10,
) -> FastAPI:
    """A FastAPI app serving the model in ``checkpoint`` (loaded once, here, on the CPU)."""
    max_batch = check_positive_int(max_batch, "max_batch")
    max_body_bytes = check_positive_int(max_body_bytes, "max_body_bytes")
    max_new_tokens = check_positive_int(max_new_tokens, "max_new_tokens")
    limiter = None
    if requests_per_minute is not None:
        limiter = TokenBucket(requests_per_minute, burst)
    model, payload = load_checkpoint(checkpoint)
    kind = payload["kind"]
    app = FastAPI(title="companion model server", version="1.0")
    app.state.model, app.state.payload = model, payload
    info = {"status": "ok", "kind": kind, "n_parameters": count_parameters(model)}
    if kind == "classifier":
        info |= {
            "in_features": model.in_features,
            "num_classes": model.num_classes,
            "max_batch": max_batch,
        }
    else:
        info |= {
            "vocab_size": model.cfg.vocab_size,
            "block_size": model.cfg.block_size,
            "max_new_tokens": max_new_tokens,
        }

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        if limiter is not None and request.method == "POST":
            client = request.client.host if request.client else "unknown"
            allowed, wait = limiter.allow(request.headers.get("x-api-key") or client)
            if not allowed:
                return JSONResponse(
                    status_code=429,
                    headers={"Retry-After": TokenBucket.retry_after_header(wait)},
                    content={"detail": f"rate limit exceeded; retry in {wait:.1f} s"},
                )
        # Refuse an oversize body before reading it (the declared length), then after (chunked).
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_body_bytes:
            return JSONResponse(
                status_code=413,
                content={
                    "detail": f"request body is {int(length)} bytes; the limit is {max_body_bytes}"
                },
            )
        if request.method == "POST" and length is None:
            body = await request.body()
            if len(body) > max_body_bytes:
                return JSONResponse(
                    status_code=413,
                    content={
                        "detail": f"request body is {len(body)} bytes; limit {max_body_bytes}"
                    },
                )
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError):
        # Say where and what, without echoing the input back (it may be huge, or hold NaN,
        # which JSON cannot encode).
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in err.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(Exception)
    async def internal_error(request: Request, err: Exception):  # the server survives
        return JSONResponse(
            status_code=500, content={"detail": f"internal error: {type(err).__name__}"}
        )

    @app.get("/health")
    def health() -> dict:
        return info

    if kind == "classifier":

        @app.post("/predict")
        def predict(req: PredictRequest) -> dict:
            rows = req.inputs
            if len(rows) > max_batch:
                raise HTTPException(
                    413, f"inputs has {len(rows)} rows; at most {max_batch} per request"
                )
            bad = [i for i, row in enumerate(rows) if len(row) != model.in_features]
            if bad:
                raise HTTPException(
                    422,
                    f"every row of inputs must hold {model.in_features} numbers; "
                    f"row {bad[0]} has {len(rows[bad[0]])}",
                )
            x = torch.tensor(rows, dtype=torch.float32)  # (B, F)
            with torch.inference_mode():
                probs = model(x).softmax(dim=-1)  # (B, K)
            return {"predictions": probs.argmax(dim=-1).tolist(), "probabilities": probs.tolist()}

    else:
        vocab: str = payload["vocab"]
        index = {ch: i for i, ch in enumerate(vocab)}

        @app.post("/generate")
        def generate(req: GenerateRequest):
            unknown = sorted(set(req.prompt) - set(index))
            if unknown:
                raise HTTPException(
                    422, f"prompt holds characters outside the model's alphabet: {unknown[:10]}"
                )
            if req.max_new_tokens > max_new_tokens:
                raise HTTPException(
                    422,
                    f"max_new_tokens must be at most {max_new_tokens}, got {req.max_new_tokens}",
                )
            ids = torch.tensor([[index[ch] for ch in req.prompt]])  # (1, T)
            gen = torch.Generator().manual_seed(req.seed) if req.seed is not None else None

            def tokens():
                # One token per step; the window slides when the context is full.
                nonlocal ids
                for _ in range(req.max_new_tokens):
                    ids = model.generate(
                        ids[:, -model.cfg.block_size :],
                        1,
                        temperature=req.temperature,
                        generator=gen,
                    )
                    yield vocab[int(ids[0, -1])]

            if req.stream:
                return StreamingResponse(tokens(), media_type="text/plain; charset=utf-8")
            return {"prompt": req.prompt, "completion": "".join(tokens())}

    return app
