"""Entry point: `python -m myorl.compare PATH... [--out DIR]` (see `myorl.tools.compare`)."""

import sys

from myorl.tools.compare import main

if __name__ == "__main__":
    sys.exit(main())
