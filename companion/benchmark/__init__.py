"""``make bench``: how fast the book runs here, measured, never enforced by the tests.

* :mod:`~companion.benchmark.timing`: repeats, medians and quartiles, paired ratios, and the
  fixed calibration workload that turns seconds into machine-independent units;
* :mod:`~companion.benchmark.notebooks`: each notebook's wall and CPU time against its budget;
* :mod:`~companion.benchmark.kernels`: the companion's from-scratch implementations against
  PyTorch's fused kernels (convolution, LSTM, attention), forward and backward;
* :mod:`~companion.benchmark.gpu`: small-GPT training throughput and MFU on a GPU;
* :mod:`~companion.benchmark.report`: the ``bench.json`` format, its check and the table.

Input policy (see :mod:`companion.validation`): counts and rates are checked at each public
function (a bool, string or tensor where a number belongs is a ``TypeError``; a negative, zero,
NaN or infinite rate a ``ValueError``), each message naming the argument.

Run it with ``make bench`` or ``python -m companion.benchmark``; the Performance appendix of
the book reads the committed results in ``book/appendix/bench_results/``.
"""
