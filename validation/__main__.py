"""`python -m validation` runs the `wzbounds` command (for torchrun, which launches modules)."""

import sys

from wzbounds.cli import main

sys.exit(main())
