"""`python -m validation` runs the `wzbounds` command (also under torchrun)."""

import sys

from validation.cli import main

sys.exit(main())
