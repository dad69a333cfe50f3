"""Editing the configured sources from the command line (`monitor sources add`, `remove`,
`import`, `export`).

The config file stays the truth. New sources go to a managed file, ``sources.d/cli.yaml``
beside the config, which the config includes (``- include: sources.d/*.yaml``; added to the
user's ``sources:`` when missing). The user's files are edited with a round-trip YAML editor
(ruamel.yaml) that keeps comments, order and quoting, and an edit that would change any line
other than the ones added or removed is refused. Every edit is validated as the whole config
would be (`load_settings` and `validate_config`, as `monitor check` does) before anything is
written, then written atomically (a temporary file in the same folder, then a rename), keeping
the file's mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import email.utils
import fcntl
import io
import os
import re
import stat
import tempfile
import unicodedata
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.scalarstring import SingleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from monitor.config import IncludeConfig, OpmlConfig
from monitor.config_errors import environment_variable
from monitor.db.sources import SourceSpec
from monitor.durations import config_duration
from monitor.errors import ConfigError, MonitorError
from monitor.fetch import HttpOptions, fetch_feed, make_client
from monitor.opml import read_opml
from monitor.parse import parse_feed
from monitor.plural import plural
from monitor.redact import MASK, redact_url
from monitor.settings import LoadedSettings, Settings, load_settings
from monitor.sourcefiles import Located, included_files, located_sources, read_included
from monitor.validate import ValidConfig, validate_config
from monitor.yamllines import FAST_COMPOSER

MANAGED_FILE = "sources.d/cli.yaml"  # relative to the config file's folder
INCLUDE_PATTERN = "sources.d/*.yaml"
MANAGED_HEADER = (
    "# Sources added by `monitor sources add` and `monitor sources import` (and removed by\n"
    "# `monitor sources remove`). Managed by `monitor sources`; hand edits are fine, comments\n"
    "# included. Each entry is written as under `sources:` in the config (docs/config.md).\n"
)


class SourceEditError(MonitorError):
    """The edit could not be made (unknown or ambiguous source, an OPML source, a file that
    cannot be written): the operation failed, exit 1."""


@dataclass
class Edit:
    """New contents of files, by path; nothing is written until `apply`."""

    files: dict[Path, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def managed_path(loaded: LoadedSettings) -> Path:
    return loaded.resolve(MANAGED_FILE)


def refuse_environment_sources() -> None:
    """The config file's sources are not the ones used when MONITOR_SOURCES overrides them."""
    variable = environment_variable(("sources",))
    if variable is not None:
        raise ConfigError(
            f"the sources come from the environment variable {variable}, which overrides the "
            "config file's: unset it to manage the config file's sources"
        )


# --- round-trip YAML ---------------------------------------------------------------------

# (mapping indent, sequence indent, dash offset) tried in turn: the first that reproduces the
# file's untouched lines exactly is used (ruamel.yaml does not detect a file's indentation).
_INDENTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 4, 0), (4, 6, 4), (2, 4, 0), (4, 2, 0), (3, 5, 2))


def _yaml(indent: tuple[int, int, int] = (2, 4, 2)) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never wrap a long line
    yaml.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return yaml


def _dump(yaml: YAML, data: Any) -> str:
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def _only(kind: Literal["insert", "delete"], old: str, new: str, free: set[int]) -> bool:
    """True when ``new`` is ``old`` with lines only inserted (or only deleted); lines of
    ``old`` in ``free`` (0-based) may also be replaced."""
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag == "equal" or tag == kind:
            continue
        if tag == "replace" and set(range(i1, i2)) <= free:
            continue
        return False
    return True


def _edited(
    path: Path,
    text: str,
    change: Callable[[Any], set[int]],
    kind: Literal["insert", "delete"],
    what: str,
) -> str:
    """``text`` (the file at ``path``) changed by ``change`` on its round-trip data, which
    returns the lines it may replace. Every other line stays as it is: the editor's output is
    used when it reproduces them, else only its inserted (or deleted) lines are applied to
    the file's own lines, and kept when the result reads as the edited data. ConfigError
    when neither works."""
    if not text.endswith("\n"):
        text += "\n"
    original = text.splitlines(keepends=True)
    for indent in _INDENTS:
        yaml = _yaml(indent)
        yaml.explicit_start = _EXPLICIT_START.match(text) is not None
        try:
            base = _dump(yaml, yaml.load(text))
            data = yaml.load(text)
        except RuamelError as error:
            raise ConfigError(f"{path}: not valid YAML ({error}); fix it first") from None
        free = change(data)
        new = _dump(yaml, data)
        if _only(kind, text, new, free):
            return new
        spliced = _splice(original, base, new, kind, free)
        if spliced is not None and _same_data(spliced, new):
            return spliced
    raise ConfigError(
        f"{path}: {what} would rewrite other lines of this file (its layout is one the YAML "
        "editor cannot reproduce), so nothing was changed; make the change by hand"
    )


_EXPLICIT_START = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\n)*---(?:[ \t]|\n|$)")


def _splice(original: list[str], base: str, new: str, kind: str, free: set[int]) -> str | None:
    """``original`` with the lines that ``new`` inserts into (or deletes from) ``base``, the
    editor's rendering of it, when the two have one line for each line."""
    rendered = base.splitlines(keepends=True)
    if len(rendered) != len(original):
        return None
    edited = new.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, rendered, edited, autojunk=False)
    result: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            result.extend(original[i1:i2])
        elif tag == kind == "insert":
            result.extend(edited[j1:j2])
        elif tag == kind == "delete":
            continue
        elif tag == "replace" and set(range(i1, i2)) <= free:
            result.extend(edited[j1:j2])
        else:
            return None
    return "".join(result)


def _same_data(first: str, second: str) -> bool:
    try:
        return bool(pyyaml.safe_load(first) == pyyaml.safe_load(second))
    except pyyaml.YAMLError:
        return False


def _trailing_slots(item: Any) -> list[Any] | None:
    """The comment slots after ``item``'s last scalar value (where ruamel.yaml keeps the
    end-of-line comment and the blank lines and comments that follow it), if any."""
    if not isinstance(item, CommentedMap) or not item:
        return None
    key = list(item.keys())[-1]
    if isinstance(item[key], CommentedMap | CommentedSeq):
        return None
    slots = item.ca.items.setdefault(key, [None, None, None, None])
    while len(slots) < 4:
        slots.append(None)
    return slots  # type: ignore[no-any-return]


def _split_trailing(slots: list[Any] | None) -> tuple[str, str, Any]:
    """(the end of the item's line with its comment, the lines after it, the token's mark)."""
    token = slots[2] if slots else None
    if token is None:
        return "\n", "", None
    value: str = token.value
    end = value.find("\n")
    if end < 0:
        return value + "\n", "", token.start_mark
    return value[: end + 1], value[end + 1 :], token.start_mark


def _set_trailing(slots: list[Any], text: str, mark: Any) -> None:
    slots[2] = None if text == "\n" else CommentToken(text, mark, None)


def _move_trailing_comment(previous: Any, new: CommentedMap) -> None:
    """Blank lines and comments after the old last item stay after the list: they move to
    the new last item (an end-of-line comment stays on its line)."""
    slots, target = _trailing_slots(previous), _trailing_slots(new)
    line_end, after, mark = _split_trailing(slots)
    if slots is None or target is None or not after or mark is None:
        return
    _set_trailing(slots, line_end, mark)
    _set_trailing(target, "\n" + after, mark)


def _carry_trailing_comment(removed: Any, previous: Any) -> None:
    """The lines after a removed item (blank lines, comments about what follows) stay: they
    go after the item before it."""
    _line_end, after, mark = _split_trailing(_trailing_slots(removed))
    slots = _trailing_slots(previous)
    if not after or slots is None or mark is None:
        return
    line_end, before, _mark = _split_trailing(slots)
    _set_trailing(slots, line_end + before + after, mark)


def _as_text(value: Any) -> Any:
    """``value``, quoted where the config's reader would take it for something else than
    text: the writer speaks YAML 1.2, the reader YAML 1.1, where ``Yes``, ``No``, ``On`` and
    ``Off`` are booleans (a feed titled "Yes" could not be added, and stopped the import of
    a whole OPML file: an outside probe, probe69)."""
    if not isinstance(value, str) or isinstance(value, SingleQuotedScalarString):
        return value
    if "://" in value or len(value) > 64:
        return value  # a URL, a long title: text in either version (ruamel quotes the rest)
    try:
        read = pyyaml.safe_load(f"k: {value}")
    except pyyaml.YAMLError:
        return SingleQuotedScalarString(value)
    if isinstance(read, dict) and read.get("k") == value and type(read.get("k")) is str:
        return value
    return SingleQuotedScalarString(value)


def _entry(item: dict[str, Any]) -> CommentedMap:
    """A source entry to write: its text values quoted where YAML 1.1 reads them otherwise."""
    return CommentedMap({key: _as_text(value) for key, value in item.items()})


def _append(seq: CommentedSeq, items: list[dict[str, Any]]) -> None:
    previous = seq[-1] if len(seq) else None
    maps = [_entry(item) for item in items]
    for item in maps:
        seq.append(item)
    if previous is not None and maps:
        _move_trailing_comment(previous, maps[-1])


def _appended(current: str, items: list[dict[str, Any]]) -> str | None:
    """``current`` (a managed file: a top-level block list) with ``items`` written after its
    last line, when that reads as its list followed by them; else None (another layout:
    the round-trip editor is used). No round trip of the whole file: with 10,000 sources it
    took 4 s a read, and `sources add` read it eight times (37 s: an outside probe)."""
    try:
        before = pyyaml.load(current, Loader=FAST_COMPOSER)  # noqa: S506 - a safe loader
        if not isinstance(before, list) or not before:
            return None
        text = current if current.endswith("\n") else current + "\n"
        text += _block_seq(items)
        after = pyyaml.load(text, Loader=FAST_COMPOSER)  # noqa: S506 - a safe loader
    except pyyaml.YAMLError:
        return None
    return text if after == [*before, *map(dict, items)] else None


def _block_seq(items: list[dict[str, Any]]) -> str:
    return _dump(_yaml((2, 2, 0)), CommentedSeq([_entry(item) for item in items]))


def _leading_comments(text: str) -> str:
    kept = []
    for line in text.splitlines(keepends=True):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        kept.append(line)
    return "".join(kept)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read it: {error}") from None


# --- planning edits ------------------------------------------------------------------------


def covers_managed(loaded: LoadedSettings) -> bool:
    """Whether an ``include:`` of the config covers the managed file."""
    target = managed_path(loaded)
    overlay = LoadedSettings(loaded.settings, loaded.path, (), {target: ""})
    return any(
        target in included_files(overlay, source)
        for source in loaded.settings.sources
        if isinstance(source, IncludeConfig)
    )


def plan_add(loaded: LoadedSettings, items: list[dict[str, Any]]) -> Edit:
    """Add ``items`` (source entries) to the managed file, and the include to the config
    when no include covers it."""
    refuse_environment_sources()
    edit = Edit()
    target = managed_path(loaded)
    current = _read(target)
    if current is None or not current.strip():
        edit.files[target] = (current or MANAGED_HEADER) + _block_seq(items)
    else:

        def add(data: Any) -> set[int]:
            if data is None:
                raise ConfigError(f"{target}: holds no list; empty it or write `[]` in it")
            if not isinstance(data, CommentedSeq):
                raise ConfigError(f"{target}: must be a YAML list of sources; fix it first")
            _append(data, items)
            return set()

        appended = _appended(current, items)
        if appended is not None:
            edit.files[target] = appended
        elif _yaml().load(current) in (None, []):
            edit.files[target] = _leading_comments(current) + _block_seq(items)
        else:
            edit.files[target] = _edited(target, current, add, "insert", "adding the source")
    if not covers_managed(loaded):
        edit.files[loaded.path] = _with_include(loaded.path)
        edit.notes.append(
            f"added `- include: {INCLUDE_PATTERN}` to the sources of {loaded.path}, so that "
            f"{MANAGED_FILE} is read"
        )
    return edit


def _with_include(path: Path) -> str:
    text = _read(path)
    if text is None:
        raise ConfigError(f"{path}: config file not found")

    def add(data: Any) -> set[int]:
        if not isinstance(data, CommentedMap):
            raise ConfigError(f"{path}: the config file must be a mapping of keys")
        include = CommentedMap(include=INCLUDE_PATTERN)
        sources = data.get("sources")
        if isinstance(sources, CommentedSeq) and len(sources):
            _append(sources, [dict(include)])
            return set()
        line = data.lc.key("sources")[0] if "sources" in data else None
        data["sources"] = CommentedSeq([include])  # `sources:` empty, or not there
        return {line} if line is not None else set()

    return _edited(path, text, add, "insert", f"adding `- include: {INCLUDE_PATTERN}`")


def _describe(item: Located) -> str:
    where = f"{item.opml} (listed in {item.file})" if item.opml else str(item.file)
    return f"{item.name!r} ({redact_url(item.url)}) in {where}"


def plan_remove(loaded: LoadedSettings, given: str) -> tuple[Edit, list[Located]]:
    """Remove the source whose URL (else name) is ``given`` from the file that lists it."""
    refuse_environment_sources()
    everything = located_sources(loaded)
    chosen = [item for item in everything if item.url == given]
    if not chosen:
        chosen = [item for item in everything if item.name == given]
        urls = {item.url for item in chosen}
        if len(urls) > 1:
            listed = "; ".join(_describe(item) for item in chosen)
            raise SourceEditError(
                f"{len(urls)} sources are named {given!r}: {listed}; give the URL of the one "
                "to remove"
            )
        chosen = [item for item in everything if item.url in urls]
    if not chosen:
        words = [item.name for item in everything] + [item.url for item in everything]
        close = difflib.get_close_matches(given, words, n=1, cutoff=0.6)
        hint = f"; did you mean {redact_url(close[0])!r}?" if close else ""
        raise SourceEditError(
            f"no configured source has the name or URL {redact_url(given)!r}{hint} "
            "(`monitor sources export --format yaml` lists them)"
        )
    from_opml = [item for item in chosen if item.opml is not None]
    if from_opml:
        item = from_opml[0]
        raise SourceEditError(
            f"{item.name!r} ({redact_url(item.url)}) comes from the OPML file {item.opml}: "
            f"remove its outline from that file, or remove the `opml:` entry of {item.file} "
            "to drop all of its feeds"
        )
    edit = Edit()
    by_file: dict[Path, list[int]] = {}
    for item in chosen:
        by_file.setdefault(item.file, []).append(item.index)
    for file, indexes in by_file.items():
        edit.files[file] = _without_items(file, sorted(set(indexes), reverse=True), loaded)
    return edit, chosen


def _without_items(path: Path, indexes: list[int], loaded: LoadedSettings) -> str:
    text = _read(path)
    if text is None:
        raise SourceEditError(f"{path}: not found")
    is_config = path == loaded.path

    def remove(data: Any) -> set[int]:
        seq = data.get("sources") if is_config and isinstance(data, CommentedMap) else data
        if not isinstance(seq, CommentedSeq):
            raise ConfigError(f"{path}: its sources are not a YAML list")
        for index in indexes:  # from the last
            if index > 0:
                _carry_trailing_comment(seq[index], seq[index - 1])
            del seq[index]
        if len(seq) or not is_config:
            return set()
        # The list is empty now (`sources: []`): its key's line and its items' may change.
        keys = list(data.keys())
        first = data.lc.key("sources")[0]
        after = keys.index("sources") + 1
        last = data.lc.key(keys[after])[0] if after < len(keys) else len(text.splitlines())
        return set(range(first, last))

    if not is_config and path == managed_path(loaded):
        cut = _without_lines(text, indexes)
        if cut is not None:
            return cut
        data = _yaml().load(text)
        if isinstance(data, CommentedSeq) and len(data) == len(indexes):
            return _leading_comments(text)  # the last ones: the header stays
    return _edited(path, text, remove, "delete", "removing the source")


def _without_lines(text: str, indexes: list[int]) -> str | None:
    """``text`` (a managed file: a top-level block list) without the lines of its items at
    ``indexes``, when they hold no comment and the rest reads as the list without them;
    else None (the round-trip editor is used: with 10,000 sources it took 14 s)."""
    reader = FAST_COMPOSER(text)
    try:
        node = reader.get_single_node()  # one parse: its nodes, then the data they make
        before = reader.construct_document(node) if node is not None else None
    except pyyaml.YAMLError:
        return None
    finally:
        reader.dispose()
    if not isinstance(node, pyyaml.SequenceNode) or not isinstance(before, list):
        return None
    lines = text.splitlines(keepends=True)
    starts = [item.start_mark.line for item in node.value] + [node.end_mark.line]
    drop: set[int] = set()
    for index in indexes:
        if not 0 <= index < len(node.value) or node.value[index].start_mark.column != 2:
            return None
        span = range(starts[index], min(starts[index + 1], len(lines)))
        if any(lines[n].lstrip().startswith("#") or not lines[n].strip() for n in span):
            return None
        drop.update(span)
    kept = "".join(line for n, line in enumerate(lines) if n not in drop)
    wanted = [item for n, item in enumerate(before) if n not in indexes]
    try:
        after = pyyaml.load(kept, Loader=FAST_COMPOSER)  # noqa: S506 - a safe loader
    except pyyaml.YAMLError:
        return None
    return kept if (after or []) == wanted and wanted else None


# --- validating and writing ----------------------------------------------------------------


def validate_edit(loaded: LoadedSettings, edit: Edit) -> ValidConfig:
    """The config as it would be after ``edit``, validated as `monitor check` validates a
    config (without the sinks' secrets); ConfigError with every problem."""
    overlay = {path: text for path, text in edit.files.items() if path != loaded.path}
    after = load_settings(loaded.path, text=edit.files.get(loaded.path), overlay=overlay)
    return validate_config(after, need_sinks=False)


def write_atomically(path: Path, text: str, *, make_folders: bool = True) -> None:
    """Write ``text`` to ``path`` through a temporary file in its folder and a rename (never
    half a file), keeping its mode (a new file gets the umask's). A symbolic link is written
    through (its target is replaced, the link stays); a device, a pipe or a terminal (such as
    ``/dev/stdout``) is written in place, as a shell's ``>`` does: a rename would replace it.
    Without ``make_folders`` a missing folder is an error, as for a shell's ``>`` (an
    export's typo in its path made folders: probe85)."""
    try:
        try:
            info = os.stat(path)  # follows links
        except FileNotFoundError:
            info = None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise SourceEditError(f"cannot write {path}: it is a folder")
        if info is not None and not stat.S_ISREG(info.st_mode):
            with open(path, "w", encoding="utf-8") as stream:
                stream.write(text)
            return
        target = Path(os.path.realpath(path))  # a link's target, where the rename must happen
        if not make_folders and not target.parent.is_dir():
            raise SourceEditError(
                f"cannot write {path}: there is no folder {target.parent}; create it first, "
                "or give a path in a folder that exists"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        if info is not None:
            mode = stat.S_IMODE(info.st_mode)
            with open(target, "rb") as existing:  # the line ends in use, from its start
                newline = "\r\n" if b"\r\n" in existing.read(_NEWLINE_SAMPLE) else "\n"
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode, newline = 0o666 & ~umask, "\n"
        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline=newline) as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise SourceEditError(f"cannot write {path}: {error.strerror or error}") from None


_NEWLINE_SAMPLE = 64 * 1024  # bytes read to tell a file's line ends (not the whole file)


@contextlib.contextmanager
def editing(loaded: LoadedSettings) -> Iterator[None]:
    """Hold the config folder's lock while an edit is planned, validated and written, so
    that two commands editing the sources at once do not lose one's change (an advisory
    lock on the folder itself: no lock file is left behind)."""
    try:
        handle = os.open(loaded.path.parent, os.O_RDONLY)
    except OSError:
        yield  # a folder that cannot be opened: the write says what is wrong
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # releases the lock


def apply(loaded: LoadedSettings, edit: Edit) -> None:
    """Write the edit: included files first, the config last (an included file that is not
    yet included is never read)."""
    for path in sorted(edit.files, key=lambda p: p == loaded.path):
        write_atomically(path, edit.files[path])


# --- checking feeds ------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedCheck:
    """The outcome of fetching a feed once: its title and entry count, or the error."""

    url: str
    title: str | None = None
    entries: int = 0
    error: str | None = None


async def _check_one(client: Any, url: str, options: HttpOptions) -> FeedCheck:
    from monitor.text import html_to_text

    try:
        result = await fetch_feed(client, url, etag=None, last_modified=None, options=options)
        parsed = parse_feed(result.body or b"", result.url, result.content_type)
    except MonitorError as error:
        return FeedCheck(url, error=str(error))
    title = " ".join(html_to_text(parsed.title).split()) or None
    return FeedCheck(url, title=title, entries=len(parsed.entries))


async def check_feeds(
    urls: list[str],
    options: HttpOptions,
    *,
    concurrency: int,
    per_host: int,
    done: Callable[[FeedCheck], None] | None = None,
) -> list[FeedCheck]:
    """Fetch and parse each feed once with the service's fetch stack, at most
    ``concurrency`` at once and ``per_host`` per host; results in the order of ``urls``."""
    overall = asyncio.Semaphore(max(1, concurrency))
    hosts: dict[str, asyncio.Semaphore] = {}

    async with make_client(options) as client:

        async def one(url: str) -> FeedCheck:
            host = (urlsplit(url).hostname or "").lower()
            per = hosts.setdefault(host, asyncio.Semaphore(max(1, per_host)))
            async with overall, per:
                outcome = await _check_one(client, url, options)
            if done is not None:
                done(outcome)
            return outcome

        return list(await asyncio.gather(*(one(url) for url in urls)))


def as_literal(text: str) -> str:
    """``text`` taken from a feed or an imported file, as config text that says just that:
    control and bidirectional-format characters dropped, and ``${`` written ``$${``, so that
    it never names an environment variable (a feed titled ``${MONITOR_WEBHOOK_SECRET}``
    would otherwise put the secret in every alert of the source)."""
    return _printable(text).replace("${", "$${")


def _printable(text: str) -> str:
    """``text`` without control and bidirectional-format characters; a line break or a tab
    is a space (they joined words: "multi\nline" was exported as "multiline")."""
    spaced = text.translate(_SPACING)
    return "".join(c for c in spaced if unicodedata.category(c) not in ("Cc", "Cf"))


_SPACING = str.maketrans(dict.fromkeys("\t\n\r\x0b\x0c\x85\u2028\u2029", " "))


def as_read(literal: str) -> str:
    """What the config reads from text written by `as_literal`: the name a user is shown."""
    return literal.replace("$${", "${")


def default_name(url: str, check: FeedCheck | None, taken: Collection[str] = ()) -> str:
    """A new source's name: its feed's title (`as_literal`), else its host, port and path
    (two feeds of one site get two names; the query, which may hold a token, is left out).
    A name in ``taken`` (another source's) gets the host and path after it, then a number:
    two sources never share a name (alerts and `monitor sources` tell them apart by it)."""
    where = _host_and_path(url)
    first = where
    if check is not None and check.title:
        named = " ".join(as_literal(check.title[:200]).split())
        if named:
            first = named
    candidates = [first] if first == where else [first, f"{first} ({where})"]
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    number = 2
    while f"{candidates[-1]} {number}" in taken:
        number += 1
    return f"{candidates[-1]} {number}"


def _host_and_path(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname:
        return redact_url(url)
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:  # a port that is not a number: the fetch records bad_url
        port = ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return as_literal(f"{host}{port}{parts.path.rstrip('/')}"[:200])


# --- exporting -----------------------------------------------------------------------------


def export_yaml(
    specs: Iterable[SourceSpec], settings: Settings, url_of: Callable[[str], str] = redact_url
) -> str:
    """A ``sources:`` list (loadable as a config) of every effective source; URLs through
    ``url_of`` (credentials masked unless the caller says otherwise). Names and URLs are
    written as the text they are (`as_literal`): an included export reads them back as
    they are, never as a variable ("${MONITOR_WEBHOOK_SECRET}", a feed's title, would
    otherwise send the secret to the feed's server and name the source after it)."""
    entries: list[dict[str, Any]] = []
    for spec in specs:
        entry: dict[str, Any] = {"name": as_literal(spec.name), "url": as_literal(url_of(spec.url))}
        if spec.pinned:
            entry["interval"] = config_duration(spec.interval)
        if not spec.enabled:
            entry["enabled"] = False
        if spec.first_run != settings.first_run:
            entry["first_run"] = spec.first_run
        if spec.first_run_window != settings.first_run_window:
            entry["first_run_window"] = config_duration(spec.first_run_window)
        entries.append(entry)
    yaml = _yaml()
    return _dump(yaml, {"sources": [_entry(e) for e in entries]})


def export_opml(
    specs: Iterable[SourceSpec],
    now: datetime | None = None,
    url_of: Callable[[str], str] = redact_url,
) -> str:
    """An OPML 2.0 document with one outline per effective source; URLs through ``url_of``
    (credentials masked unless the caller says otherwise)."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = "news-monitor sources"
    moment = now or datetime.now(UTC)
    ElementTree.SubElement(head, "dateCreated").text = email.utils.format_datetime(moment)
    body = ElementTree.SubElement(root, "body")
    for spec in specs:
        # Control characters of a name typed into the config ("Evil\x1b[31m"): XML 1.0
        # cannot hold them (the file would not import again), a terminal would act on them.
        name = _printable(spec.name)
        ElementTree.SubElement(
            body, "outline", type="rss", text=name, title=name, xmlUrl=_printable(url_of(spec.url))
        )
    ElementTree.indent(root)
    document = ElementTree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{document}\n'


# --- importing -----------------------------------------------------------------------------


def read_import(path: Path) -> list[dict[str, Any]]:
    """The source entries to import from ``path``: the feeds of an OPML file (name and URL),
    or the entries of a YAML sources list (a list, or a mapping with only ``sources:``, as
    `monitor sources export --format yaml` writes it), each URL once. Names and URLs are
    taken as written (`as_literal`): a ``${VAR}`` in them is text, not a variable."""
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    entries: list[dict[str, Any]]
    if path.suffix.lower() in (".yaml", ".yml"):
        raw: list[Any] = []
        items = read_included(path, raw=raw)
        if any(isinstance(item, OpmlConfig) for item, _line in items):
            raise ConfigError(
                f"{path}: an `opml:` entry cannot be imported from a YAML list; import the "
                "OPML file itself"
            )
        entries = [dict(item) for item in raw]
    else:
        entries = [{"name": o.name, "url": o.url} for o in read_opml(path)]
    masked = [str(e["url"]) for e in entries if has_masked_credentials(str(e["url"]))]
    if masked:
        raise ConfigError(
            f"{path}: {plural(len(masked), 'URL')} with credentials masked by `monitor "
            f"sources export` (REDACTED), e.g. {masked[0]}; export again with "
            "--include-credentials, or put the real credentials in place of REDACTED in "
            "the file"
        )
    unique: dict[str, dict[str, Any]] = {}
    for entry in entries:
        for key in ("name", "url"):
            if isinstance(entry.get(key), str):
                entry[key] = as_literal(entry[key])
        unique.setdefault(str(entry["url"]), entry)
    return list(unique.values())


def has_masked_credentials(url: str) -> bool:
    """Whether ``url`` is a redacted one: its userinfo or a parameter value is REDACTED."""
    return MASK in url and redact_url(url.replace(MASK, "x")) != url.replace(MASK, "x")
