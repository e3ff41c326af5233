"""``python -m network_functions.pcrf --config pcrf.yaml``"""

from __future__ import annotations

import sys

from network_functions.runtime.service import main

from .app import Pcrf

if __name__ == "__main__":
    sys.exit(main(Pcrf))
