"""`python -m wzbounds` runs the `wzbounds` command."""

import sys

from wzbounds.cli import main

sys.exit(main())
