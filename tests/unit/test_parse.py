from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from index.parse import ParseError, content_id, discover, load_file, parse_date, parse_text
from tests.conftest import SEED_FILE


def test_seed_article_is_parsed_field_by_field():
    a = load_file(SEED_FILE)
    assert a.title == (
        "New outbreak of violence at Azerbaijan border claims lives of four Armenian soldiers"
    )
    assert a.published == date(2024, 9, 20)
    assert a.image == "DKusZ5IdL0hNS4g.png"
    assert a.body.startswith("Armenia has reported that four soldiers were killed")
    assert "DKusZ5IdL0hNS4g.png" not in a.body
    assert a.id == content_id(a.title, a.body) and len(a.id) == 16


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("September, Friday 20, 2024", date(2024, 9, 20)),
        ("2022/06/12", date(2022, 6, 12)),
        ("2024-03-05", date(2024, 3, 5)),
        ("Sept 3, 2021", date(2021, 9, 3)),
        ("March Madness begins", None),
        ("May the force be with you", None),
        ("Four soldiers killed in 2024", None),
        ("", None),
    ],
)
def test_parse_date_only_accepts_date_lines(line, expected):
    assert parse_date(line) == expected


def test_plain_text_first_line_is_title():
    a = parse_text("A quiet day\n\nNothing happened anywhere today.\nReally nothing.")
    assert a.title == "A quiet day"
    assert a.published is None
    assert a.body == "Nothing happened anywhere today.\nReally nothing."


def test_markdown_title_loses_hashes():
    a = parse_text("# Big news\n\nSomething big happened.", markdown=True)
    assert a.title == "Big news"


def test_same_text_other_whitespace_same_id():
    a = parse_text("Title\n\nBody  text here.")
    b = parse_text("Title\r\n\r\nBody text here.\n")
    assert a.id == b.id


def test_empty_and_binary_files_are_rejected(tmp_path: Path):
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n\n")
    with pytest.raises(ParseError, match="empty"):
        load_file(empty)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Caf\xe9 title\n\nbody".encode("latin-1"))
    with pytest.raises(ParseError, match="UTF-8"):
        load_file(latin)


def test_discover_reports_missing_and_unsupported(tmp_path: Path):
    (tmp_path / "a.txt").write_text("T\n\nbody")
    (tmp_path / "b.pdf").write_bytes(b"%PDF")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.txt").write_text("T\n\nbody")
    files, problems = discover([tmp_path, tmp_path / "b.pdf", tmp_path / "nope.txt"])
    assert files == [tmp_path / "a.txt"]
    assert {p.name for p, _ in problems} == {"b.pdf", "nope.txt"}
