"""Text from the database, the models dir or the environment, made safe for a terminal.

A feed title or a `triggered_by` can carry ANSI/OSC escapes (clear the screen, set the window
title, hide text) or other control characters; printed raw they act on the operator's terminal.
`plain` removes them. `PlainWriter` applies it to everything the CLI writes.
"""

from __future__ import annotations

import re
from typing import Protocol, TextIO

# Whole escape sequences first, so their parameters do not survive as visible junk:
# CSI (ESC [ or C1 0x9b), OSC (ESC ] or 0x9d, ended by BEL or ST), DCS/SOS/PM/APC strings,
# and any other ESC-introduced sequence.
_SEQUENCES = re.compile(
    r"""
      (?:\x1b\[|\x9b) [0-?]* [ -/]* [@-~]?
    | (?:\x1b\]|\x9d) [^\x07\x1b\x9c]* (?:\x07|\x1b\\|\x9c)?
    | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f]) [^\x1b\x9c]* (?:\x1b\\|\x9c)?
    | \x1b [ -/]* [0-~]?
    """,
    re.VERBOSE,
)
# C0 except \t and \n, DEL, C1.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: object) -> str:
    """`text` as a string without escape sequences or control characters (\\n and \\t kept)."""
    return _CONTROLS.sub("", _SEQUENCES.sub("", str(text)))


def one_line(value: object) -> str:
    """`value` as one line of plain text: escapes and control characters removed, newlines
    and tabs as spaces."""
    return " ".join(plain(value).split())


def error_line(error: BaseException) -> str:
    """An error as one line of plain text: its message, else its type's name."""
    return one_line(error) or type(error).__name__


class Output(Protocol):
    """What the CLI writes to: a text stream, or a `PlainWriter` over one."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...

    def isatty(self) -> bool: ...


class PlainWriter:
    """A text stream that passes everything written through `plain`.

    `raw` writes the launcher's own control sequences (redrawing a progress line) unfiltered.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(plain(text))
        return len(text)

    def raw(self, text: str) -> None:
        self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    def __getattr__(self, name: str):
        return getattr(self.stream, name)
