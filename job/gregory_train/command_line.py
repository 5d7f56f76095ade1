"""Running a management command from a shell: what manage.py and `python -m gregory_train` share.

A configuration Django cannot start with (a malformed DATABASE_URL, a missing database driver)
is a usage error: one line on stderr and exit status 2, since the same invocation cannot succeed
on a retry.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from gregory import exit_codes


def run(argv: Sequence[str]) -> None:
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(list(argv))
    except ImproperlyConfigured as error:
        command = argv[1] if len(argv) > 1 else argv[0]
        message = " ".join(str(error).split())
        sys.stderr.write(f"{command}: error: {message}\n")
        sys.exit(exit_codes.USAGE)
