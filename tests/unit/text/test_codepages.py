"""monitor.codepages: which Windows Latin code page undeclared bytes are in."""

from __future__ import annotations

import pytest

from monitor.codepages import latin_code_page


@pytest.mark.parametrize(
    ("text", "page"),
    [
        ("Talks in Wrocław and Łódź resumed on Monday, officials said.", "windows-1250"),
        ("Hükümet sözcüsü Trablus'ta açıklama yaptı.", "windows-1254"),
        ("Le ministre a évoqué la sécurité à Tripoli.", None),  # 1252 stays
        ("Die Flüchtlinge überquerten die Grenze.", None),  # same bytes in 1250: a tie
        ("Tripoli, Benghazi, Misrata: no accents here.", None),
    ],
)
def test_the_clearly_more_plausible_reading_wins(text: str, page: str | None) -> None:
    body = text.encode(page or "windows-1252")

    assert latin_code_page(body, "windows-1252") == page


def test_a_reading_that_fails_to_decode_is_never_chosen() -> None:
    # 0x81 is undefined in windows-1252 and -1254; windows-1250 leaves it undefined too.
    assert latin_code_page(b"\x81\x81 abc", "iso-8859-2") is None
