"""Reading an uploaded CSV file of people to invite: plain functions, no Flask, no database.

Spreadsheets save CSV in many ways: UTF-8 with or without a byte-order mark, commas or
semicolons (the latter where the comma is the decimal separator), headers typed by hand.
Each way a file can't be read is refused as a whole with a message saying what to change,
before anything is stored.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from portal.errors import Invalid

MAX_ROWS = 10_000

# Header cells, compared without case, spaces or punctuation ("E-mail address" = "email address").
COLUMNS = {
    "email": {"email", "emailaddress", "mail", "address"},
    "full_name": {"name", "fullname"},
    "message": {"message", "personalmessage", "note"},
}


@dataclass(frozen=True)
class Line:
    number: int  # in the file, the header being line 1
    email: str
    full_name: str
    message: str


def _key(header: str) -> str:
    return re.sub(r"[\W_]+", "", header.casefold())


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Invalid(
            f"The file isn't UTF-8 text (line {line} has the byte 0x{data[exc.start]:02X}, "
            "which UTF-8 doesn't allow there). Save it as “CSV UTF-8” and upload it again.",
            field="file",
        ) from exc


def _delimiter(header_line: str) -> str:
    """Semicolon when the header has more of them than commas (outside quotes)."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    return ";" if unquoted.count(";") > unquoted.count(",") else ","


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        key = _key(cell)
        for column, names in COLUMNS.items():
            if key in names and column not in found:
                found[column] = index
    if "email" not in found:
        seen = ", ".join(f"“{cell.strip()}”" for cell in header if cell.strip()) or "nothing"
        raise Invalid(
            "The file has no e-mail column. Its first line should name the columns, one of "
            f"them “email” (and optionally “name” and “message”); it has {seen}.",
            field="file",
        )
    return found


def read_lines(data: bytes) -> list[Line]:
    """The file's data lines (blank lines skipped), or Invalid saying why it can't be read."""
    if not data.strip():
        raise Invalid(
            "The file is empty. Choose a CSV file with a header line and rows.", field="file"
        )
    if b"\x00" in data:
        raise Invalid(
            "This isn't a CSV text file (it contains NUL bytes; is it a spreadsheet file "
            "such as .xlsx?). Save it as “CSV UTF-8” and upload it again.",
            field="file",
        )
    text = _text(data)
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first), strict=True)
        lines = _data_lines(rows)
    except csv.Error as exc:
        raise Invalid(
            f"The file can't be read as CSV near line {rows.line_num}: {exc}. "
            "Check its quotes and upload it again.",
            field="file",
        ) from exc
    if not lines:
        raise Invalid("The file has a header line but no rows of people to invite.", field="file")
    return lines


def _data_lines(rows: csv.Reader) -> list[Line]:
    columns: dict[str, int] | None = None
    lines: list[Line] = []

    def cell(row: list[str], column: str) -> str:
        index = columns.get(column) if columns else None
        return row[index].strip() if index is not None and index < len(row) else ""

    for row in rows:
        if not any(value.strip() for value in row):
            continue  # blank lines, or a line of empty cells, are no one
        if columns is None:
            columns = _columns(row)
            continue
        if len(lines) == MAX_ROWS:
            raise Invalid(
                f"The file has more than {MAX_ROWS:,} rows. Split it into files of at most "
                f"{MAX_ROWS:,} rows each and upload them one by one; nothing was saved.",
                field="file",
            )
        lines.append(
            Line(rows.line_num, cell(row, "email"), cell(row, "full_name"), cell(row, "message"))
        )
    return lines
