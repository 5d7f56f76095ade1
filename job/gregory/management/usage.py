"""A usage error is one line and exit status 2, from the command line and from call_command.

argparse prints the whole usage block before its message; an operator reading a Job's log, or
the launcher showing a run's last line, needs the message itself.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gregory import exit_codes


class OneLineUsageErrors(BaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        from_command_line = parser.called_from_command_line

        def usage_error(message: str) -> NoReturn:
            if not from_command_line:
                # call_command: a usage error (2) there too, not Django's generic 1.
                raise CommandError(message, returncode=exit_codes.USAGE)
            sys.stderr.write(f"{subcommand}: error: {message}\n")
            sys.exit(exit_codes.USAGE)

        parser.error = usage_error
        return parser
