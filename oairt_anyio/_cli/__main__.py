"""``python -m oairt_anyio._cli``: the ``oairt`` command without the console script."""

import sys

from . import main

sys.exit(main())
