"""Reading an uploaded CSV file (portal/bulk/csvfile.py): the ways spreadsheets save one."""

from __future__ import annotations

import pytest

from portal.bulk.csvfile import MAX_ROWS, Line, read_lines
from portal.errors import Invalid


def refusal(data: bytes) -> str:
    with pytest.raises(Invalid) as refused:
        read_lines(data)
    assert refused.value.field == "file" and refused.value.status == 422
    return refused.value.message


def test_a_plain_file_gives_one_line_per_person_numbered_as_in_the_file():
    lines = read_lines(b"email,name,message\nada@example.org,Ada,Hello\nbob@example.org,Bob,\n")
    assert lines == [
        Line(2, "ada@example.org", "Ada", "Hello"),
        Line(3, "bob@example.org", "Bob", ""),
    ]


def test_a_byte_order_mark_is_not_part_of_the_first_header():
    lines = read_lines("\ufeffemail;name\nzoë@example.org;Zoë\n".encode())
    assert lines == [Line(2, "zoë@example.org", "Zoë", "")]


def test_semicolons_separate_columns_when_the_header_uses_them():
    lines = read_lines(b"Name;E-mail;Message\nDupont, Marie;marie@example.org;Bonjour, Marie\n")
    assert lines == [Line(2, "marie@example.org", "Dupont, Marie", "Bonjour, Marie")]


def test_quoted_commas_and_line_breaks_stay_inside_their_cell():
    data = b'email,name,message\nada@example.org,"Lovelace, Ada","Dear Ada,\nwelcome"\n'
    assert read_lines(data) == [Line(3, "ada@example.org", "Lovelace, Ada", "Dear Ada,\nwelcome")]


def test_blank_lines_and_lines_of_empty_cells_are_skipped_anywhere():
    data = b"\n\nemail,name\n\nada@example.org,Ada\n,\n \r\nbob@example.org,Bob\n\n"
    assert [(line.number, line.email) for line in read_lines(data)] == [
        (5, "ada@example.org"),
        (8, "bob@example.org"),
    ]


@pytest.mark.parametrize(
    "header", ["EMAIL,NAME", " Email , Full Name ", "E-mail address,full_name", "Mail,Name"]
)
def test_header_names_are_matched_in_any_case_and_with_spaces(header):
    lines = read_lines(f"{header}\r\nada@example.org,Ada\r\n".encode())
    assert lines == [Line(2, "ada@example.org", "Ada", "")]


def test_windows_line_endings_and_missing_trailing_cells_are_fine():
    assert read_lines(b"name,email,message\r\nAda,ada@example.org\r\n") == [
        Line(2, "ada@example.org", "Ada", "")
    ]


def test_a_file_that_is_not_utf8_is_refused_saying_where():
    message = refusal("email,name\nada@example.org,Zoë\n".encode("latin-1"))
    assert message.startswith("The file isn't UTF-8 text (line 2 has the byte 0xEB")
    assert "CSV UTF-8" in message


def test_a_file_without_an_email_column_is_refused_naming_its_columns():
    message = refusal(b"name,phone\nAda,123\n")
    assert message.startswith("The file has no e-mail column.")
    assert "“name”, “phone”" in message


def test_a_spreadsheet_file_is_refused_as_not_csv():
    assert "NUL bytes" in refusal(b"PK\x03\x04\x00\x00binary")


def test_an_empty_file_and_a_header_alone_are_refused():
    assert refusal(b"  \n").startswith("The file is empty.")
    assert refusal(b"email,name\n\n").startswith("The file has a header line but no rows")


def test_broken_quotes_are_refused_with_the_line():
    assert "near line" in refusal(b'email,name\nada@example.org,"Ada\n')


def test_ten_thousand_rows_are_read_and_ten_thousand_and_one_refused():
    rows = "".join(f"guest{n}@example.org,Guest {n}\n" for n in range(MAX_ROWS))
    assert len(read_lines(f"email,name\n{rows}".encode())) == MAX_ROWS
    message = refusal(f"email,name\n{rows}one@example.org,One\n".encode())
    assert message == (
        "The file has more than 10,000 rows. Split it into files of at most 10,000 rows each "
        "and upload them one by one; nothing was saved."
    )
