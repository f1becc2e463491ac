"""`python -m jobkit` runs the command line."""

import sys

from jobkit.cli import main

sys.exit(main())
