"""``python -m oairt_anyio._cli``: the ``oairt`` command without the console script."""

import sys

from . import main

if __name__ == "__main__":  # imported by doctest discovery too, which must not run the CLI
    sys.exit(main())
