"""`python -m gregory_train <command> …`: the job's commands from the installed package.

The same as `manage.py` in a checkout, without depending on one: the launcher and the image run
the job this way.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    from gregory.ml.core.threads import configure_process

    configure_process()  # before torch or tokenizers size their thread pools
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gregory_train.settings")
    from gregory_train.command_line import run

    # Django names the program after argv[0]; under -m that is this file's path.
    run(["python -m gregory_train", *sys.argv[1:]])


if __name__ == "__main__":
    main()
