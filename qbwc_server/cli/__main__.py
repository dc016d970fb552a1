"""`python -m qbwc_server.cli`: the same as the `qbwc-server` console script."""

import sys

from qbwc_server.cli import main

sys.exit(main())
