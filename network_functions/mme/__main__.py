"""``python -m network_functions.mme --config mme.yaml``"""

from __future__ import annotations

import sys

from network_functions.runtime.service import main

from .app import Mme

if __name__ == "__main__":
    sys.exit(main(Mme))
