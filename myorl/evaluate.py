"""Entry point: `python -m myorl.evaluate ...` (see `myorl.tools.evaluate`)."""

import sys

from myorl.tools.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
