"""``python -m network_functions.pgw --config pgw.yaml``"""

from __future__ import annotations

import sys

from network_functions.runtime.service import main

from .app import Pgw

if __name__ == "__main__":
    sys.exit(main(Pgw))
