#!/usr/bin/env python
"""Django's command-line utility for the gregory-train job."""

import os
import sys
from pathlib import Path


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gregory.ml.core.threads import configure_process

    configure_process()  # before torch or tokenizers size their thread pools
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gregory_train.settings")
    from gregory_train.command_line import run

    run(sys.argv)


if __name__ == "__main__":
    main()
