"""html_to_text reads simple markup without HTMLParser: both paths must collect the same text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.text import _visible_pieces, _VisibleTextParser, html_to_text

TAG_NAMES = ["p", "P", "br", "a", "b", "em", "strong", "div", "li", "h2", "figure", "span", "td",
             "sup", "SUP", "script", "style", "pre", "noscript", "template", "img", "x1", "Q",
             "iframe", "video"]  # fmt: skip
ATTRIBUTES = ["", ' href="https://x.example/a?b=1&amp;c=2"', " href='x'", " class=lead",
              " data-id=7", " disabled", ' title="a > b"', ' title="a < b"', " href=x/",
              " href = x", ' a="1"b="2"', " alt=\"it's\"", ' xml:lang="fr"', "\n  id=x",
              " onclick=\"f('<p>')\"", " width=100%", " =x", " a==b"]  # fmt: skip
TEXTS = ["Haftar", " ", "\n", "\n\n", "\t", "Tripoli, Libya.", "&amp;", "&amp", "&nbsp;",
         "&#8217;", "&#0;", "&#x627;", "&lt;p&gt;", "&", "&unknown;", "&ampx", ";", ">", "<",
         "< b", "a<3", "\x00", "طرابلس", "é", "<!-- c -->", "<!DOCTYPE html>", "<?php ?>",
         "<![CDATA[x]]>", "</>", "</ p>", "<p", "<a href='x", "&#", "&#x"]  # fmt: skip


@st.composite
def tags(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(TAG_NAMES))
    kind = draw(st.sampled_from(["start", "end", "empty"]))
    space = draw(st.sampled_from(["", " ", "\n"]))
    if kind == "end":
        return f"</{name}{space}>"
    attributes = "".join(draw(st.lists(st.sampled_from(ATTRIBUTES), max_size=3)))
    return f"<{name}{attributes}{space}{'/' if kind == 'empty' else ''}>"


FRAGMENTS = st.lists(st.one_of(tags(), st.sampled_from(TEXTS), st.text(max_size=5)), max_size=30)


def parsed(fragment: str) -> str:
    parser = _VisibleTextParser()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.pieces)


@settings(max_examples=3000)
@given(FRAGMENTS.map("".join))
def test_the_regex_path_collects_what_the_parser_collects(fragment: str) -> None:
    assert "".join(_visible_pieces(fragment)) == parsed(fragment)


@pytest.mark.parametrize(
    "fragment",
    [
        '<p class="lead">Khalifa <a href="https://x.example/?a=1&amp;b=2">Haftar</a></p><p>x</p>',
        "<div>Tripoli&nbsp;&#8217;s <em>port</em><br/>again</div>",
        "<P>Upper</P><BR>case",
        "<a href=x/>Haftar</a>",  # an unquoted value may end in "/": a start tag, not "/>"
        "<noscript class=x/>hidden</noscript>shown",
        "<p>a &amp</p>; b",
        "x\x00y<b>z</b>",
        "<p>one</p>\n\n<p>two</p>",
        "<pre>line\nbreak</pre><script>var a = '<p>';</script>after",
        "plain text without markup",
    ],
)
def test_known_fragments_take_either_path_to_the_same_text(fragment: str) -> None:
    assert "".join(_visible_pieces(fragment)) == parsed(fragment)
    assert html_to_text(fragment) == html_to_text(fragment + "<b></b>")
