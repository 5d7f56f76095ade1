"""An import CSV read and checked whole before anything is written: every bad row by its line.

What is checked is what would otherwise fail halfway through the write, or succeed wrongly: the
encoding, the CSV's own structure (an unterminated quote, a row shorter or longer than the
header), each cell's meaning (dates, labels) and each value against the column it goes into
(its max_length, a NUL character PostgreSQL refuses).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from gregory.models import Articles

REQUIRED_COLUMNS = ("title", "summary", "relevant")
# A row without a link gets one from its id column, so re-importing the file updates its articles
# (migration 0004 gave articles imported by external_id the same links).
ID_COLUMNS = ("external_id", "article_id")
DERIVED_LINK = "urn:gregory-import:{}"
TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "f"}
# The columns whose text is stored as it is, and the model field each goes into.
STORED_COLUMNS = {"title": "title", "summary": "summary", "link": "link"}
# Enough to fix a file in one pass without burying the first problems.
MAX_REPORTED = 20


class CsvFileError(ValueError):
    """The file cannot be imported; the message names every bad line found, one per line."""


class RowError(ValueError):
    pass


class BrokenStructure(ValueError):
    """The CSV structure broke at `line`: nothing after it can be read reliably."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line


@dataclass
class Row:
    """One article of the file. None means the cell was empty: no information, keep what is
    stored (a new article gets no summary, now as its discovery date, and no label)."""

    title: str
    summary: str | None
    relevant: bool | None
    discovery_date: dt.datetime | None
    link: str

    @property
    def key(self) -> tuple[str, str]:
        """An article's identity, as GregoryAI's unique constraint on articles has it."""
        return self.title, self.link


def parse_relevant(value: str) -> bool | None:
    word = value.strip().lower()
    if word == "":
        return None  # not reviewed yet: the pseudo-labelling pool
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise RowError(f"relevant must be 1/0, true/false, yes/no or empty, not {value!r}")


def parse_discovery(value: str) -> dt.datetime | None:
    text = value.strip()
    if not text:
        return None
    try:
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            if day is None:
                raise RowError(f"discovery_date {value!r} is not an ISO date or datetime")
            moment = dt.datetime.combine(day, dt.time())
    except ValueError as error:  # well formed but impossible: month 13, a UTC offset of 25 h
        if isinstance(error, RowError):
            raise
        why = "its UTC offset is not within ±24 hours" if "offset" in str(error) else error
        raise RowError(f"discovery_date {value!r} is not a real date or time ({why})") from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return moment


def parse_link(record: dict[str, str]) -> str:
    link = record.get("link", "").strip()
    if not link:
        ids = [record.get(column, "").strip() for column in ID_COLUMNS]
        link = next((DERIVED_LINK.format(i) for i in ids if i), "")
    if not link:
        raise RowError(f"link is empty and there is no {' or '.join(ID_COLUMNS)} to derive it from")
    return link


def check_stored_values(record: dict[str, str], link: str) -> None:
    """Refuse what the database would refuse, naming the column instead of the SQL."""
    values = {**record, "link": link}
    for column, field_name in STORED_COLUMNS.items():
        value = values.get(column, "")
        if "\x00" in value:
            raise RowError(f"column {column} contains a NUL character")
        limit = Articles._meta.get_field(field_name).max_length
        length = len(value.strip())
        if limit is not None and length > limit:
            raise RowError(f"column {column} is {length} characters, over its limit of {limit}")


def parse_row(record: dict[str, str]) -> Row:
    link = parse_link(record)
    check_stored_values(record, link)
    title = record.get("title", "").strip()
    if not title:
        raise RowError("title is empty")
    return Row(
        title=title,
        summary=record.get("summary", "").strip() or None,
        relevant=parse_relevant(record.get("relevant", "")),
        discovery_date=parse_discovery(record.get("discovery_date", "")),
        link=link,
    )


def decode(path: Path) -> str:
    """The file as text: UTF-8, with or without a byte order mark."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CsvFileError(f"{path}: cannot read it ({error.strerror or error})") from None
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CsvFileError(
            f"{path}, line {line}: not UTF-8 (byte 0x{data[error.start]:02x}); "
            "save the file as UTF-8; nothing imported"
        ) from None


def unclosed_quote_line(text: str, first_line: int) -> int:
    """The line on which the quote that never closes opened, in a record that starts at
    `first_line` and runs to the end of the file."""
    # Lines as the csv reader counts them (str.splitlines would also split at \f, \v, …).
    lines = io.StringIO(text, newline="").readlines()
    in_quotes, at_field_start, opened = False, True, first_line
    for number, line in enumerate(lines[first_line - 1 :], start=first_line):
        previous = ""
        for char in line:
            if in_quotes:
                if char == '"':
                    in_quotes = False
            elif char == '"' and at_field_start:
                in_quotes, opened = True, number
            elif char == '"' and previous == '"':
                in_quotes = True  # a doubled quote inside a quoted field
            at_field_start = not in_quotes and char in ",\r\n"
            previous = char
    return opened


def records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of each non-blank record; raises BrokenStructure."""
    # strict: an unterminated quote is an error at the end of the file, not rows merged into one.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "unexpected end of data" in str(error):
                line = unclosed_quote_line(text, start)
                reason = "a quoted field opens here and never closes"
            elif "field larger than field limit" in str(error):
                line = start
                reason = f"a field is longer than the limit of {csv.field_size_limit()} characters"
            else:
                line, reason = reader.line_num, f"not valid CSV ({error})"
            raise BrokenStructure(line, reason) from None
        if cells:
            yield start, cells


def read_rows(path: Path) -> list[Row]:
    """Every row of the file, or CsvFileError naming each bad line (the first MAX_REPORTED)."""
    text = decode(path)
    problems: list[tuple[int, str]] = []
    rows: list[Row] = []
    first_line: dict[tuple[str, str], int] = {}
    header: list[str] = []
    try:
        for line, cells in records(text):
            if not header:
                header = [name.strip() for name in cells]
                check_header(header, path)
                continue
            try:
                if len(cells) != len(header):
                    raise RowError(
                        f"{len(cells)} fields where the header has {len(header)}"
                        + (" (a missing comma or value?)" if len(cells) < len(header) else "")
                    )
                row = parse_row(dict(zip(header, cells, strict=True)))
                if row.key in first_line:
                    raise RowError(f"title and link {row.link!r} repeat line {first_line[row.key]}")
                first_line[row.key] = line
                rows.append(row)
            except RowError as error:
                problems.append((line, str(error)))
    except BrokenStructure as error:
        problems.append((error.line, str(error)))
    if not header:
        raise CsvFileError(f"{path}: empty file, no header; nothing imported")
    if problems:
        raise CsvFileError(describe_problems(path, problems))
    return rows


def check_header(header: list[str], path: Path) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if not any(c in header for c in ("link", *ID_COLUMNS)):
        missing.append(f"link (or {' or '.join(ID_COLUMNS)})")
    if missing:
        raise CsvFileError(
            f"{path}: missing column(s) {', '.join(missing)}; "
            f"need {', '.join(REQUIRED_COLUMNS)}, link"
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise CsvFileError(f"{path}: column(s) {', '.join(repeated)} appear more than once")


def describe_problems(path: Path, problems: list[tuple[int, str]]) -> str:
    """One bad line: one line. More: a count, then a line per bad row."""
    if len(problems) == 1:
        line, reason = problems[0]
        return f"{path}, line {line}: {reason}; nothing imported"
    lines = [f"{path}: {len(problems)} bad rows; nothing imported"]
    lines += [f"{path}, line {line}: {reason}" for line, reason in problems[:MAX_REPORTED]]
    if len(problems) > MAX_REPORTED:
        lines.append(f"… and {len(problems) - MAX_REPORTED} more")
    return "\n".join(lines)
