"""Serving a trained model over HTTP (Chapter 13, section 13.3).

* :mod:`.checkpoint` - :class:`Classifier`, :func:`save_checkpoint`, :func:`load_checkpoint`
  (``weights_only=True``);
* :mod:`.app` - :func:`create_app`: the FastAPI service (``/health``, ``/predict``,
  ``/generate`` with optional streaming);
* :mod:`.server` - :func:`serve`: the service in a child process on a free port, stopped
  cleanly;
* :mod:`.load` - :func:`load_test`: a bounded concurrent load and its latency percentiles;
* :mod:`.ratelimit` - a token bucket per client (``create_app(..., requests_per_minute=)``);
* :mod:`.demo` - ``python -m companion.serving.demo digits.pt`` trains the chapter's model.

Run it on its own: ``python -m companion.serving --checkpoint digits.pt --port 8000``.
"""

from .checkpoint import Classifier, load_checkpoint, save_checkpoint
from .load import LoadResult, load_test
from .server import RunningServer, free_port, serve, start_server

__all__ = [
    "Classifier",
    "LoadResult",
    "RunningServer",
    "free_port",
    "load_checkpoint",
    "load_test",
    "save_checkpoint",
    "serve",
    "start_server",
]
