"""Entry point: `python -m myorl.trials SWEEP_DIR [--top K] [--seeds N] [key=value ...]` (see `myorl.tools.trials`)."""

import sys

from myorl.tools.trials import main

if __name__ == "__main__":
    sys.exit(main())
