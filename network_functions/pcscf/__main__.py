"""``python -m network_functions.pcscf --config pcscf.yaml``"""

from __future__ import annotations

import sys

from network_functions.runtime.service import main

from .app import Pcscf

if __name__ == "__main__":
    sys.exit(main(Pcscf))
