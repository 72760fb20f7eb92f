"""``python -m companion.instructor`` (the commands are in ``cli.py``)."""

import sys

from companion.instructor.cli import main

sys.exit(main())
