"""Start the model server as a separate process, wait until it is healthy, stop it cleanly.

(Chapter 13, section 13.3.) ``with serve(checkpoint) as server:`` runs
``python -m companion.serving --checkpoint ... --port ...`` (uvicorn on 127.0.0.1, on a
free port), polls ``GET /health`` until the model is loaded, and yields a
:class:`RunningServer` with its ``url``. On leaving the block - normally or because a cell
raised - the process gets SIGTERM (uvicorn finishes the requests in flight), then SIGKILL
if it has not exited within ``stop_timeout`` seconds. Every process started here is also
registered with :mod:`atexit`, so none outlives the Python session that started it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from ..validation import check_int, check_positive, describe

_RUNNING: set[subprocess.Popen] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it; bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGTERM, wait up to ``timeout`` s, then SIGKILL; return the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _RUNNING.discard(proc)
    return proc.returncode


@atexit.register
def _stop_all() -> None:
    for proc in list(_RUNNING):
        stop_process(proc, timeout=5.0)


@dataclass
class RunningServer:
    """A server process started by :func:`start_server`; also a context manager that stops it."""

    url: str
    process: subprocess.Popen
    log_path: Path
    stop_timeout: float = 10.0

    def log(self) -> str:
        """What the server wrote to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace")

    def wait_healthy(self, timeout: float = 60.0) -> RunningServer:
        """Poll ``GET /health`` until it answers 200; raise (and stop the process) otherwise."""
        timeout = check_positive(timeout, "timeout")
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"the server exited with code {self.process.returncode} before it was "
                        f"healthy; its log:\n{self.log()[-2000:]}"
                    )
                try:
                    if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"the server was not healthy after {timeout} s; its log:\n"
                        f"{self.log()[-2000:]}"
                    )
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after ``stop_timeout`` s; return the exit code."""
        return stop_process(self.process, timeout=self.stop_timeout)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_server(
    checkpoint: str | os.PathLike,
    *,
    port: int | None = None,
    max_batch: int = 256,
    threads: int = 1,
    stop_timeout: float = 10.0,
) -> RunningServer:
    """Start the server in a child process and return at once (call ``wait_healthy()`` later).

    The child watches this process: if it disappears (a kernel killed without running its
    exit handlers), the server stops itself within a second.
    """
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be a str or os.PathLike, got {describe(checkpoint)}")
    if not Path(checkpoint).is_file():
        raise ValueError(f"checkpoint must name an existing file, got {str(checkpoint)!r}")
    port = free_port() if port is None else check_int(port, "port", min=1, max=65535)
    max_batch = check_int(max_batch, "max_batch", min=1)
    threads = check_int(threads, "threads", min=1)
    stop_timeout = check_positive(stop_timeout, "stop_timeout")
    cmd = [sys.executable, "-m", "companion.serving", "--checkpoint", str(checkpoint),
           "--port", str(port), "--max-batch", str(max_batch), "--threads", str(threads),
           "--parent-pid", str(os.getpid())]  # fmt: skip
    with tempfile.NamedTemporaryFile(
        "w+b", prefix="companion-server-", suffix=".log", delete=False
    ) as log_file:
        proc = subprocess.Popen(
            cmd, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    _RUNNING.add(proc)
    return RunningServer(f"http://127.0.0.1:{port}", proc, Path(log_file.name), stop_timeout)


@contextlib.contextmanager
def serve(
    checkpoint: str | os.PathLike,
    *,
    port: int | None = None,
    max_batch: int = 256,
    threads: int = 1,
    start_timeout: float = 60.0,
    stop_timeout: float = 10.0,
) -> Iterator[RunningServer]:
    """Run the server on 127.0.0.1 for the duration of the ``with`` block, healthy on entry."""
    start_timeout = check_positive(start_timeout, "start_timeout")
    server = start_server(checkpoint, port=port, max_batch=max_batch, threads=threads,
                          stop_timeout=stop_timeout)  # fmt: skip
    try:
        yield server.wait_healthy(start_timeout)
    finally:
        server.stop()
