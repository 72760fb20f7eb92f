"""Reference PyTorch implementations for the open deep-learning course.

One module per idea (see DESIGN.md): ``runtime`` (device, seeding, run profiles),
``data`` (offline data sets), ``plotting``, ``train`` (the training loop), ``history``
(Chapter 1's models and parameter counts), ``exercises`` (answer checks) and
``instructor`` (student versions and grading).
"""

__version__ = "0.1.0"
