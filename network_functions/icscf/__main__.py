"""``python -m network_functions.icscf --config icscf.yaml``"""

from __future__ import annotations

import sys

from network_functions.runtime.service import main

from .app import Icscf

if __name__ == "__main__":
    sys.exit(main(Icscf))
