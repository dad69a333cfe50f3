"""html_to_text: visible text only, entities decoded, blocks as line breaks."""

from __future__ import annotations

import pytest

from monitor.text import html_to_text, stand_in_title


def test_entities_are_decoded() -> None:
    assert (
        html_to_text("Haftar&#8217;s &amp; the &quot;LNA&quot; &lt;3") == 'Haftar’s & the "LNA" <3'
    )


def test_escaped_plain_text_round_trips() -> None:
    assert html_to_text("a &lt;b&gt; c") == "a <b> c"


def test_script_style_and_comments_are_dropped() -> None:
    fragment = (
        "<p>Before</p><script>var lna = 'Haftar';</script><style>.gna{}</style>"
        "<!-- Tripoli --><p>After</p>"
    )
    assert html_to_text(fragment) == "Before\nAfter"


@pytest.mark.parametrize("tag", ["iframe", "video", "audio", "IFRAME"])
def test_the_fallback_text_of_embedded_media_is_dropped(tag: str) -> None:
    # Shown only by a browser without iframes (or video, audio): none today.
    fragment = f'<p>Before</p><{tag} src="https://x.example/v">Watch the Tripoli video</{tag}>'
    assert html_to_text(fragment + "<p>After</p>") == "Before\nAfter"


@pytest.mark.parametrize(
    "fragment",
    ["Q&amp;A: Tripoli \x1a talks", "Q&amp;A: Tripoli &#26;talks", "Q&A: Tripoli \x85talks"],
)
def test_control_characters_are_not_text(fragment: str) -> None:
    assert html_to_text(fragment) == "Q&A: Tripoli talks"


def test_attributes_and_urls_never_appear() -> None:
    fragment = '<a href="https://example.org/haftar-tripoli" title="Haftar">a link</a>'
    assert html_to_text(fragment) == "a link"


@pytest.mark.parametrize(
    "fragment",
    [
        "<p>One.</p><p>Two.</p>",
        "<div>One.</div><div>Two.</div>",
        "One.<br>Two.",
        "One.<br/>Two.",
        "<ul><li>One.</li><li>Two.</li></ul>",
        "<h1>One.</h1>Two.",
    ],
)
def test_block_elements_become_line_breaks(fragment: str) -> None:
    assert html_to_text(fragment) == "One.\nTwo."


def test_inline_elements_do_not_break_words() -> None:
    assert html_to_text("Khalifa <b>Haf</b><i>tar</i> spoke") == "Khalifa Haftar spoke"


def test_layout_whitespace_collapses_but_blank_lines_separate_paragraphs() -> None:
    assert html_to_text("  Khalifa\n   Haftar  ") == "Khalifa Haftar"
    assert html_to_text("First paragraph.\n\nSecond paragraph.") == (
        "First paragraph.\nSecond paragraph."
    )


def test_nbsp_is_kept_for_the_normaliser() -> None:
    assert html_to_text("Khalifa&nbsp;Haftar") == "Khalifa\xa0Haftar"


def test_pre_keeps_line_breaks() -> None:
    assert html_to_text("<pre>line one\nline two</pre>") == "line one\nline two"


def test_empty_and_unbalanced_input() -> None:
    assert html_to_text("") == ""
    assert html_to_text("<p>unclosed <b>bold") == "unclosed bold"
    assert html_to_text("</p>stray end tag") == "stray end tag"


@pytest.mark.parametrize(
    ("summary", "title"),
    [
        ("<p>Clashes south of Tripoli. Residents fled.</p>", "Clashes south of Tripoli."),
        ("No sentence end here", "No sentence end here"),
        ("", ""),
        ("<p>" + "word " * 40 + "</p>", "word " * 23 + "word\u2026"),
        ("<script>x</script>", ""),
    ],
)
def test_an_untitled_entry_is_titled_by_its_first_sentence(summary: str, title: str) -> None:
    assert stand_in_title(summary) == title


def test_an_alert_title_is_cut_at_a_word() -> None:
    from monitor.db.articles import MAX_TITLE_CHARS, article_ref

    row = {
        "article_id": 1,
        "title": "<b>Haftar</b> " + "and more words " * 500,
        "url": None,
        "published_at": None,
        "source_name": "s",
        "source_url": "http://127.0.0.1/",
        "summary": "",
    }
    title = article_ref(row).title

    assert len(title) <= MAX_TITLE_CHARS and title.endswith(("words\u2026", "more\u2026"))
    assert title.startswith("Haftar and more words")
    assert article_ref({**row, "title": "Haftar in Tripoli"}).title == "Haftar in Tripoli"
