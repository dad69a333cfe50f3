"""monitor.opml: the shipped source list, nested outlines, and errors that name file and line."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from monitor.errors import ConfigError
from monitor.opml import OpmlSource, read_opml

SHIPPED_OPML = Path(__file__).resolve().parents[2] / "config" / "sources" / "libya.opml"


def write_opml(tmp_path: Path, body: str, name: str = "sources.opml") -> Path:
    path = tmp_path / name
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n'
        f"<head><title>t</title></head>\n<body>\n{body}\n</body>\n</opml>\n",
        encoding="utf-8",
    )
    return path


def test_shipped_libya_sources() -> None:
    sources = read_opml(SHIPPED_OPML)

    assert 8 <= len(sources) <= 20
    assert len({source.url for source in sources}) == len(sources)
    assert len({source.name for source in sources}) == len(sources)
    for source in sources:
        parts = urlsplit(source.url)
        assert parts.scheme == "https" and parts.hostname
        assert source.name.strip() == source.name != ""
    names = {source.name for source in sources}
    assert {"Libya Observer", "Libya Herald", "Libya Review"} <= names


def test_nested_outlines_in_document_order(tmp_path: Path) -> None:
    path = write_opml(
        tmp_path,
        """
  <outline text="Libya">
    <outline type="rss" text="Text name" title="Title name" xmlUrl="https://example.org/a.xml"/>
    <outline text="Deeper">
      <outline type="atom" text="Only text" xmlUrl="https://example.org/b.atom"/>
    </outline>
  </outline>
  <outline xmlUrl="http://example.net/c.rss" title="No type"/>
  <outline type="RSS" xmlUrl="  https://example.com/d.xml  "/>
  <outline type="link" text="A web page, not a feed" url="https://example.org/page"/>
  <outline type="rss" text="Listed again" xmlUrl="https://example.org/a.xml"/>
""",
    )

    assert read_opml(path) == [
        OpmlSource(name="Title name", url="https://example.org/a.xml"),
        OpmlSource(name="Only text", url="https://example.org/b.atom"),
        OpmlSource(name="No type", url="http://example.net/c.rss"),
        OpmlSource(name="https://example.com/d.xml", url="https://example.com/d.xml"),
    ]


def test_empty_body_gives_no_sources(tmp_path: Path) -> None:
    assert read_opml(write_opml(tmp_path, "")) == []


def test_source_is_frozen() -> None:
    source = OpmlSource(name="n", url="https://example.org/")

    with pytest.raises(AttributeError):
        source.url = "https://example.com/"  # type: ignore[misc]


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    path = write_opml(
        tmp_path,
        '  <outline type="rss" text="ok" xmlUrl="https://example.org/a.xml"/>\n'
        '  <outline type="rss" text="broken" xmlUrl="https://example.org/b.xml">',
    )

    with pytest.raises(ConfigError) as caught:
        read_opml(path)

    message = str(caught.value)
    assert str(path) in message
    assert "line 7, column 3" in message  # the </body> while <outline> is still open
    assert "not well-formed XML" in message


@pytest.mark.parametrize(
    "declaration",
    [
        '<!DOCTYPE opml [<!ENTITY boom "boom">]>',
        '<!doctype opml SYSTEM "file:///etc/passwd">',
    ],
)
def test_doctype_and_entities_are_refused(tmp_path: Path, declaration: str) -> None:
    path = tmp_path / "evil.opml"
    path.write_text(
        f'<?xml version="1.0"?>\n{declaration}\n<opml version="2.0"><body>'
        '<outline xmlUrl="https://example.org/&boom;.xml"/></body></opml>',
        encoding="utf-8",
    )

    with pytest.raises(ConfigError) as caught:
        read_opml(path)

    assert str(path) in str(caught.value)
    assert "DOCTYPE" in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.opml"

    with pytest.raises(ConfigError) as caught:
        read_opml(path)

    assert str(path) in str(caught.value)
    assert "cannot read" in str(caught.value)


def test_not_an_opml_document(tmp_path: Path) -> None:
    path = tmp_path / "feed.opml"
    path.write_text('<?xml version="1.0"?><rss version="2.0"><channel/></rss>', encoding="utf-8")

    with pytest.raises(ConfigError, match=r"root element is <rss>, expected <opml>"):
        read_opml(path)


def test_opml_without_body(tmp_path: Path) -> None:
    path = tmp_path / "headless.opml"
    path.write_text('<opml version="2.0"><head/></opml>', encoding="utf-8")

    with pytest.raises(ConfigError, match="no <body>"):
        read_opml(path)


def test_every_bad_outline_is_reported(tmp_path: Path) -> None:
    path = write_opml(
        tmp_path,
        """
  <outline type="rss" text="Relative" xmlUrl="/feeds/rss.xml"/>
  <outline type="rss" text="FTP" xmlUrl="ftp://example.org/rss.xml"/>
  <outline type="howto" text="Wrong type" xmlUrl="https://example.org/rss.xml"/>
  <outline type="rss" text="Fine" xmlUrl="https://example.org/fine.xml"/>
""",
    )

    with pytest.raises(ConfigError) as caught:
        read_opml(path)

    problems = caught.value.problems
    assert len(problems) == 3
    assert all(problem.startswith(f"{path}: ") for problem in problems)
    assert "'Relative'" in problems[0] and "absolute http:// or https://" in problems[0]
    assert "'FTP'" in problems[1]
    assert "type='howto'" in problems[2]


def test_feed_urls_under_the_attribute_names_exporters_use(tmp_path: Path) -> None:
    """Exporters differ: `xmlurl` in lower case, a feed-typed outline with `url`, `type` in
    capitals. Each is a feed; a link outline with `url` and an HTML page are not."""
    path = write_opml(
        tmp_path,
        '<outline text="Lower" xmlurl="https://a.example/rss"/>\n'
        '<outline TEXT="Upper" XMLURL="https://b.example/rss"/>\n'
        '<outline text="Url" type="rss" url="https://c.example/feed"/>\n'
        '<outline text="Typed" type="ATOM" url="https://d.example/atom"/>\n'
        '<outline text="A link" type="link" url="https://e.example/page"/>\n'
        '<outline text="A page" htmlUrl="https://f.example/"/>\n',
    )

    assert read_opml(path) == [
        OpmlSource("Lower", "https://a.example/rss"),
        OpmlSource("Upper", "https://b.example/rss"),
        OpmlSource("Url", "https://c.example/feed"),
        OpmlSource("Typed", "https://d.example/atom"),
    ]


def test_a_feed_outline_without_a_url_is_a_problem_not_skipped(tmp_path: Path) -> None:
    path = write_opml(
        tmp_path, '<outline text="Lost feed" type="rss" htmlUrl="https://x.example/"/>'
    )

    with pytest.raises(ConfigError) as caught:
        read_opml(path)

    assert "'Lost feed' has type='rss' but no xmlUrl" in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_bad_url_is_named_by_the_attribute_that_holds_it(tmp_path: Path) -> None:
    path = write_opml(
        tmp_path,
        '<outline text="Relative url" type="atom" url="feeds/b.xml"/>\n'
        '<outline text="Relative xmlUrl" type="rss" xmlUrl="feeds/c.xml"/>\n',
    )

    with pytest.raises(ConfigError) as caught:
        read_opml(path)

    first, second = caught.value.problems
    assert "'Relative url' has url='feeds/b.xml'" in first
    assert "'Relative xmlUrl' has xmlUrl='feeds/c.xml'" in second
