"""Start-up cost: the config file is parsed once, by libyaml when the wheel has it; the
pure-Python parser only runs to word an error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import monitor.settings as settings_module
from monitor.errors import ConfigError
from monitor.settings import load_settings

pytestmark = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")


def write_sources(tmp_path: Path, count: int, extra: str = "") -> Path:
    entries = "".join(
        f"  - name: Source {i}\n    url: https://news{i}.example.org/rss.xml\n"
        for i in range(count)
    )
    path = tmp_path / "monitor.yaml"
    path.write_text(f"sources:\n{entries}{extra}", encoding="utf-8")
    return path


@pytest.fixture
def parsers(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many libyaml and pure-Python parsers were made."""
    made = {"libyaml": 0, "python": 0}

    class CountingLoader(yaml.CSafeLoader):
        def __init__(self, stream: str) -> None:
            made["libyaml"] += 1
            super().__init__(stream)

    python_reader_init = yaml.reader.Reader.__init__

    def counting_reader_init(self: yaml.reader.Reader, stream: str) -> None:
        made["python"] += 1
        python_reader_init(self, stream)

    monkeypatch.setattr(settings_module, "_FAST_LOADER", CountingLoader)
    monkeypatch.setattr(yaml.reader.Reader, "__init__", counting_reader_init)
    return made


def test_a_valid_config_is_parsed_once_by_libyaml(tmp_path: Path, parsers: dict[str, int]) -> None:
    loaded = load_settings(write_sources(tmp_path, 1000))

    assert len(loaded.settings.sources) == 1000
    assert parsers == {"libyaml": 1, "python": 0}


def test_an_invalid_value_reads_the_nodes_again_for_its_line(
    tmp_path: Path, parsers: dict[str, int]
) -> None:
    path = write_sources(tmp_path, 10, extra="  - name: Bad\n    url: gopher://x\n")

    with pytest.raises(
        ConfigError, match=r":23: sources\[10\]\.url \(the feed.s URL\): url must be an http"
    ):
        load_settings(path)
    assert parsers == {"libyaml": 2, "python": 0}


def test_a_syntax_error_is_worded_by_the_python_parser(
    tmp_path: Path, parsers: dict[str, int]
) -> None:
    path = write_sources(tmp_path, 3, extra="  - name: [unclosed\n")

    with pytest.raises(ConfigError, match=r":9: not valid YAML: expected ',' or ']'"):
        load_settings(path)
    assert parsers == {"libyaml": 1, "python": 1}
