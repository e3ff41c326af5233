"""``python -m network_functions.sgw --config sgw.yaml``"""

from __future__ import annotations

import sys

from network_functions.runtime.service import main

from .app import Sgw

if __name__ == "__main__":
    sys.exit(main(Sgw))
