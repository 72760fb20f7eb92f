"""``python -m companion.serving --checkpoint PATH [--host 127.0.0.1] [--port 8000]``.

Serves the checkpoint (written by :func:`companion.serving.save_checkpoint`) with uvicorn;
see :mod:`companion.serving.app` for the endpoints. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time


def _exit_with_parent(parent_pid: int) -> None:
    """Stop this server (SIGTERM to itself) once its parent ``parent_pid`` is gone: no orphans."""

    def watch() -> None:
        while os.getppid() == parent_pid:  # a child whose parent dies is adopted by another
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m companion.serving", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--checkpoint", required=True, help="a checkpoint from save_checkpoint")
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000)")
    parser.add_argument("--max-batch", type=int, default=256, help="most rows per /predict request")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when this process ends")
    args = parser.parse_args(argv)
    if args.parent_pid is not None:
        _exit_with_parent(args.parent_pid)

    import torch
    import uvicorn

    from .app import create_app

    torch.set_num_threads(args.threads)
    app = create_app(args.checkpoint, max_batch=args.max_batch)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
