"""Entry point: `python -m myorl.distill ...` (see `myorl.tools.distill`)."""

import sys

from myorl.tools.distill import main

if __name__ == "__main__":
    sys.exit(main())
