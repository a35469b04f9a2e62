"""``python -m autodiffx``: the ``autodiffx`` command, for when its script is not on the
``PATH`` (a virtual environment that is not activated, a notebook's ``!`` line)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
