"""``python -m network_functions.hss --config hss.yaml``"""

from __future__ import annotations

import sys

from network_functions.runtime.service import main

from .app import Hss

if __name__ == "__main__":
    sys.exit(main(Hss))
