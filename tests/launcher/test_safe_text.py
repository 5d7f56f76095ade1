"""`launcher.safe_text.plain`: what reaches the operator's terminal carries no control codes."""

from __future__ import annotations

import io

import pytest

from launcher.safe_text import PlainWriter, plain


@pytest.mark.parametrize(
    ("hostile", "shown"),
    [
        ("a\x1b[2J\x1b[Hb", "ab"),  # clear screen, cursor home
        ("x\x1b]0;pwned\x07y", "xy"),  # OSC window title, BEL-terminated
        ("x\x1b]2;pwned\x1b\\y", "xy"),  # ... ST-terminated
        ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink
        ("c\x9b31mred", "cred"),  # C1 CSI
        ("e\x1bcreset", "ereset"),  # RIS, full reset
        ("\x1bP1$qm\x1b\\dcs", "dcs"),  # DCS string
        ("bell\x07 nul\x00 cr\r del\x7f nel\x85", "bell nul cr del nel"),
        ("tab\tand\nnewline kept", "tab\tand\nnewline kept"),
        ("é 中文 [@click=app.quit]x[/]", "é 中文 [@click=app.quit]x[/]"),
        ("unterminated \x1b]0;title", "unterminated "),
    ],
)
def test_plain_removes_escapes_and_controls(hostile: str, shown: str) -> None:
    assert plain(hostile) == shown


def test_plain_writer_filters_writes_but_not_raw() -> None:
    sink = io.StringIO()
    writer = PlainWriter(sink)
    print("title \x1b]0;owned\x07 here", file=writer)
    writer.raw("\r\x1b[K")
    assert sink.getvalue() == "title  here\n\r\x1b[K"
