"""``python -m gradfit.cli``."""

import sys

from . import main

sys.exit(main())
