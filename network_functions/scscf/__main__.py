"""``python -m network_functions.scscf --config scscf.yaml``"""

from __future__ import annotations

import sys

from network_functions.runtime.service import main

from .app import Scscf

if __name__ == "__main__":
    sys.exit(main(Scscf))
