"""`monitor sources add|remove|import|export` edit the config files (never reformatting the
user's own), validate every edit as `monitor check` would before writing it, and check feeds
with the service's fetch stack. Real subprocesses, a real loopback feed server."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.cli import run_monitor
from tests.support.feed_server import FeedServer, Reply

REPO = Path(__file__).resolve().parents[2]
SECRET = "whsec_" + base64.b64encode(b"k" * 24).decode()
MANAGED = Path("sources.d") / "cli.yaml"


def feed(title: str, items: int = 2) -> bytes:
    entries = "".join(
        f"<item><guid>{title}-{i}</guid><title>Weather {i}</title></item>" for i in range(items)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"{entries}</channel></rss>"
    ).encode()


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    result = run_monitor(
        args, cwd=cwd, env={**base, "PYTHONPATH": str(REPO), **(env or {})}, timeout=120
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.route("/wire.xml", Reply(body=feed("Wire", 3)))
        server.route("/other.xml", Reply(body=feed("Other & Co", 1)))
        server.route("/page.html", Reply(body=b"<html><body>Not a feed</body></html>"))
        yield server


def small_config(folder: Path, text: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "monitor.yaml"
    path.write_text(
        text
        if text is not None
        else "# my config\npoll:\n  allow_private_networks: true   # loopback feeds\n",
        encoding="utf-8",
    )
    return path


def managed_urls(config: Path) -> list[str]:
    data = yaml.safe_load((config.parent / MANAGED).read_text(encoding="utf-8")) or []
    return [entry["url"] for entry in data]


# --- 1. the shipped config ----------------------------------------------------------------


def test_add_then_remove_on_the_shipped_config_changes_one_line(
    tmp_path: Path, server: FeedServer
) -> None:
    shutil.copytree(REPO / "config", tmp_path / "config")
    config = tmp_path / "config" / "monitor.yaml"
    original = config.read_bytes()
    env = {
        "MONITOR_CONFIG": str(config),
        "MONITOR_WEBHOOK_URL": server.url("/hook"),
        "MONITOR_WEBHOOK_SECRET": SECRET,
        "MONITOR_POLL__ALLOW_PRIVATE_NETWORKS": "true",
    }
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    assert run("check", cwd=cwd, env=env).returncode == 0
    assert run("db", "upgrade", cwd=cwd, env=env).returncode == 0

    added = run("sources", "add", server.url("/wire.xml"), cwd=cwd, env=env)
    assert added.returncode == 0, added.stderr
    assert "'Wire', 3 entries" in added.stdout
    include = b"  - include: sources.d/*.yaml\n"
    after_add = config.read_bytes()
    assert after_add == original.replace(
        b"  - opml: sources/libya.opml\n", b"  - opml: sources/libya.opml\n" + include
    )
    comments = [line for line in original.splitlines() if line.lstrip().startswith(b"#")]
    assert len(comments) > 5
    assert all(line in after_add.splitlines() for line in comments)
    managed = config.parent / MANAGED
    assert managed.read_text(encoding="utf-8").startswith("# Sources added by `monitor sources")
    assert managed_urls(config) == [server.url("/wire.xml")]
    checked = run("check", cwd=cwd, env=env)
    assert checked.returncode == 0, checked.stderr
    assert "21 sources" in checked.stdout
    listed = run("sources", "--json", cwd=cwd, env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["url"]: row for row in json.loads(listed.stdout)}
    # Listed from the config, not written: the service adds it when it (re)loads the config.
    assert rows[server.url("/wire.xml")] == {
        "name": "Wire",
        "url": server.url("/wire.xml"),
        "in_database": False,
    }

    removed = run("sources", "remove", "Wire", cwd=cwd, env=env)
    assert removed.returncode == 0, removed.stderr
    assert config.read_bytes() == after_add  # only the include line differs from the original
    assert managed_urls(config) == []
    assert run("check", cwd=cwd, env=env).returncode == 0
    listed = run("sources", "--json", cwd=cwd, env=env)
    assert server.url("/wire.xml") not in {row["url"] for row in json.loads(listed.stdout)}


def test_listing_sources_reads_only_and_shows_how_the_config_differs(
    tmp_path: Path, server: FeedServer
) -> None:
    # The running service's sources are in the database; a config edited but not reloaded
    # must not change them (it had disabled a source the service still polled).
    server.route("/a.xml", Reply(body=feed("A")))
    server.route("/b.xml", Reply(body=feed("B")))
    config = small_config(tmp_path / "c")
    text = config.read_text(encoding="utf-8") + (
        f"database_url: sqlite:///m.db\nsinks: []\nsources:\n"
        f"  - {{name: A, url: '{server.url('/a.xml')}'}}\n"
        f"  - {{name: B, url: '{server.url('/b.xml')}'}}\n"
    )
    config.write_text(text, encoding="utf-8")
    assert run("once", "-c", str(config), cwd=tmp_path).returncode == 0
    edited = text.replace("/b.xml", "/c.xml").replace("name: B", "name: C")
    config.write_text(edited, encoding="utf-8")
    listed = run("sources", "--json", "-c", str(config), cwd=tmp_path)
    table = run("sources", "-c", str(config), cwd=tmp_path, env={"COLUMNS": "200"})
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["A"]["enabled"] is True and rows["A"]["in_config"] is True
    assert rows["B"]["enabled"] is True and rows["B"]["in_config"] is False
    assert rows["C"] == {"name": "C", "url": server.url("/c.xml"), "in_database": False}
    assert table.returncode == 0, table.stderr
    assert "not in this config: polled until the service reloads it" in table.stdout
    assert "1 source of this config not polled yet" in table.stdout and ": C" in table.stdout
    again = {
        row["name"]: row
        for row in json.loads(run("sources", "--json", "-c", str(config), cwd=tmp_path).stdout)
    }
    assert again == rows  # nothing was written
    # Once the config in force no longer lists B (a run with it disabled B), B is still not
    # in this config: it read `in_config: true`, like a source written `enabled: false`
    # (an outside probe, probe68).
    server.route("/c.xml", Reply(body=feed("C")))
    assert run("once", "-c", str(config), cwd=tmp_path).returncode == 0
    after = {
        row["name"]: row
        for row in json.loads(run("sources", "--json", "-c", str(config), cwd=tmp_path).stdout)
    }
    assert after["B"]["enabled"] is False and after["B"]["in_config"] is False
    assert after["C"]["in_config"] is True
    table = run("sources", "-c", str(config), cwd=tmp_path, env={"COLUMNS": "200"})
    assert "not in this config: no longer polled (its articles stay)" in table.stdout
    # The config that lists B again, unread by the service yet (or another instance's config
    # left without it): B is disabled in the database though this config enables it. An
    # outside probe ran two instances and saw `in_config: true`, disabled, no word why.
    config.write_text(text, encoding="utf-8")
    listed = {
        row["name"]: row
        for row in json.loads(run("sources", "--json", "-c", str(config), cwd=tmp_path).stdout)
    }
    assert listed["B"]["enabled"] is False and listed["B"]["disabled_elsewhere"] is True
    table = run("sources", "-c", str(config), cwd=tmp_path, env={"COLUMNS": "400"})
    assert "enabled in this config but disabled in the database" in table.stdout


# --- 2. export and import -----------------------------------------------------------------


def test_export_to_a_link_or_a_pipe_writes_through_it(tmp_path: Path, server: FeedServer) -> None:
    # `-o` replaced what it named by a rename after reading it whole: a link became a file
    # (its target unchanged), and a pipe or a device (/dev/stdout, /dev/null) was read
    # forever or replaced by a file. A link is written through; a pipe is written into.
    import threading

    config = small_config(
        tmp_path / "c",
        "poll: {allow_private_networks: true}\n"
        f"sources:\n  - name: Wire\n    url: {server.url('/wire.xml')}\n",
    )
    target = tmp_path / "target.opml"
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.opml"
    link.symlink_to(target)
    done = run("sources", "export", "-o", str(link), "-c", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink()
    assert server.url("/wire.xml") in target.read_text(encoding="utf-8")

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    base = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    written = subprocess.run(
        [sys.executable, "-m", "monitor", "sources", "export", "-o", str(pipe), "-c", str(config)],
        cwd=tmp_path,
        env={**base, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    reader.join(timeout=10)
    assert written.returncode == 0, written.stderr
    assert pipe.is_fifo()
    assert received and server.url("/wire.xml").encode() in received[0]

    # A path in a folder that does not exist is a typo, not folders to make (probe85).
    missing = tmp_path / "no-such-folder" / "x.opml"
    refused = run("sources", "export", "-o", str(missing), "-c", str(config), cwd=tmp_path)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"there is no folder {missing.parent}" in refused.stderr
    assert not missing.parent.exists()


@pytest.mark.parametrize("form", ["opml", "yaml"])
def test_export_then_import_round_trips(tmp_path: Path, server: FeedServer, form: str) -> None:
    first = small_config(
        tmp_path / "a",
        "poll: {allow_private_networks: true}\n"
        "sources:\n"
        "  - name: 'Quotes \"&\" <angles>'\n"
        f"    url: {server.url('/wire.xml')}?a=1&b=2\n"
        "  - opml: feeds.opml\n"
        "  - include: more/*.yaml\n",
    )
    (first.parent / "feeds.opml").write_text(
        '<opml version="2.0"><body>'
        f'<outline text="Other" xmlUrl="{server.url("/other.xml")}"/></body></opml>',
        encoding="utf-8",
    )
    (first.parent / "more").mkdir()
    (first.parent / "more" / "x.yaml").write_text(
        f"- name: Arabic العربية\n  url: {server.url('/ar.xml')}\n", encoding="utf-8"
    )
    exported = run("sources", "export", "--format", form, "-c", str(first), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    if form == "opml":
        ElementTree.fromstring(exported.stdout.split("\n", 1)[1])  # well-formed XML
    path = tmp_path / f"exported.{form}"
    path.write_text(exported.stdout, encoding="utf-8")

    second = small_config(tmp_path / "b", "poll: {allow_private_networks: true}\n")
    imported = run("sources", "import", str(path), "--no-check", "-c", str(second), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "3 new" in imported.stdout

    def named(config: Path) -> list[tuple[str, str]]:
        shown = run("sources", "export", "--format", "yaml", "-c", str(config), cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        return sorted((s["name"], s["url"]) for s in yaml.safe_load(shown.stdout)["sources"])

    assert named(second) == named(first)
    assert len(named(first)) == 3
    again = run("sources", "import", str(path), "-c", str(second), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "3 already configured (skipped), 0 new" in again.stdout


# --- 3. bad URLs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://user:hunter2@example.org/feed", "ftp://REDACTED@example.org/feed"),
        ("http://example.org:99999/feed", "Port out of range"),
        ("http:///feed", "must be an http:// or https:// URL"),
        ("https://user:hunter2@/feed", "REDACTED"),
        ("example.org/feed", "must be an http:// or https:// URL"),
        # what every poll would refuse (an outside probe: `check` passed them)
        ("http://0177.0.0.1:8812/feed", "Invalid IPv4 address"),
        ("http://256.1.1.1/feed", "Invalid IPv4 address"),
        ("http://127.0.0.1:0/feed", "has port 0"),
        ("http://[::1%25lo]:8812/feed", "names an IPv6 zone"),
        ("http://xn--/feed", "is not a valid URL"),
    ],
)
def test_a_bad_url_is_refused_before_writing(tmp_path: Path, url: str, expected: str) -> None:
    config = small_config(tmp_path / "c")
    before = config.read_bytes()
    result = run("sources", "add", url, "-c", str(config), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    assert "nothing was changed" in result.stderr
    # Named as what the command would write: the file and its line do not exist.
    assert "error: the entry this command would write to " in result.stderr
    assert not re.search(r"cli\.yaml:\d", result.stderr), result.stderr
    assert config.read_bytes() == before
    assert not (config.parent / "sources.d").exists()


def test_a_bad_interval_is_refused_and_names_the_option(tmp_path: Path) -> None:
    config = small_config(tmp_path / "c")
    before = config.read_bytes()
    result = run(
        "sources",
        "add",
        "https://example.org/f",
        "--interval",
        "soon",
        "-c",
        str(config),
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "--interval 'soon'" in result.stderr
    assert config.read_bytes() == before
    zero = run(
        "sources",
        "add",
        "https://example.org/f",
        "--interval",
        "0s",
        "-c",
        str(config),
        cwd=tmp_path,
    )
    assert zero.returncode == 2
    # The option typed, not the entry it would write (sources[N].interval: probe69).
    assert "--interval '0s': must be longer than 0s" in zero.stderr, zero.stderr
    assert config.read_bytes() == before


# --- 4. the feed check ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/missing.xml", "404"), ("/page.html", "not an RSS or Atom feed")],
)
def test_add_of_a_feed_that_fails_saves_nothing_unless_no_check(
    tmp_path: Path, server: FeedServer, path: str, expected: str
) -> None:
    config = small_config(tmp_path / "c")
    before = config.read_bytes()
    url = server.url(path)
    failed = run("sources", "add", url, "-c", str(config), cwd=tmp_path)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert expected in failed.stderr or "not a feed" in failed.stderr, failed.stderr
    assert "--no-check" in failed.stderr
    assert config.read_bytes() == before
    assert not (config.parent / "sources.d").exists()

    saved = run(
        "sources", "add", url, "--no-check", "--name", "Later", "-c", str(config), cwd=tmp_path
    )
    assert saved.returncode == 0, saved.stderr
    assert managed_urls(config) == [url]
    assert run("check", "-c", str(config), cwd=tmp_path).returncode == 0


def test_add_refuses_private_addresses_unless_the_config_allows_them(
    tmp_path: Path, server: FeedServer
) -> None:
    config = small_config(tmp_path / "c", "poll: {interval: 10m}\n")
    result = run("sources", "add", server.url("/wire.xml"), "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert "loopback" in result.stderr or "blocked" in result.stderr, result.stderr
    assert not server.requests
    assert not (config.parent / "sources.d").exists()


def test_add_without_a_check_warns_once_of_an_address_the_guard_refuses(tmp_path: Path) -> None:
    config = small_config(tmp_path / "c", "poll: {interval: 10m}\n")
    for url, kind in [("http://127.0.0.1:9/feed", "loopback"), ("http://10.1.2.3/f", "private")]:
        result = run("sources", "add", url, "--no-check", "-c", str(config), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stderr.count("warning:") == 1, result.stderr
        assert f"{url} is a {kind} address" in result.stderr
        assert "poll.allow_private_networks: true" in result.stderr
        assert "a running service reads the change at `monitor reload`" in result.stderr
    public = run(
        "sources", "add", "https://example.org/f", "--no-check", "-c", str(config), cwd=tmp_path
    )
    assert public.returncode == 0 and "warning" not in public.stderr, public.stderr
    assert managed_urls(config) == [
        "http://127.0.0.1:9/feed",
        "http://10.1.2.3/f",
        "https://example.org/f",
    ]
    # Unchecked, a source is named by its host and path: two feeds of a site, two names.
    other = run(
        "sources",
        "add",
        "https://example.org/g/?key=s3",
        "--no-check",
        "-c",
        str(config),
        cwd=tmp_path,
    )
    assert other.returncode == 0, other.stderr
    names = yaml.safe_load((config.parent / MANAGED).read_text(encoding="utf-8"))
    assert [entry["name"] for entry in names][-2:] == ["example.org/f", "example.org/g"]


def test_add_warns_of_a_url_that_names_a_variable(tmp_path: Path) -> None:
    # A URL copied from a feed's redirect or a page may name a secret of the config: its
    # value would reach the feed's server with every poll (an outside probe: probe66 F3).
    config = small_config(tmp_path / "c", "poll: {interval: 10m}\n")
    url = "https://example.org/f?x=${MONITOR_WEBHOOK_SECRET}"
    result = run("sources", "add", url, "--no-check", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        "warning: the URL names ${MONITOR_WEBHOOK_SECRET}: the value of that environment "
        "variable is sent to example.org with every poll"
    ) in " ".join(result.stderr.split()), result.stderr
    literal = "https://example.org/g?x=$${MONITOR_WEBHOOK_SECRET}"
    result = run("sources", "add", literal, "--no-check", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    assert managed_urls(config) == [url, literal]
    # A --name that names one is warned of too (probe85: '${HOME}' read back as /root).
    named = run(
        "sources", "add", "https://example.org/h", "--name", "${HOME} wire", "--no-check",
        "-c", str(config), cwd=tmp_path,
    )  # fmt: skip
    assert named.returncode == 0, named.stderr
    assert "warning: the name names ${HOME}: alerts and listings show" in " ".join(
        named.stderr.split()
    ), named.stderr


def test_added_sources_never_share_a_name(tmp_path: Path, server: FeedServer) -> None:
    # Named by host, port and path when unchecked; by title when checked, with the host and
    # path after a title another source has, then a number: `check` would otherwise warn
    # "two sources are named ..." after an add that said nothing.
    config = small_config(tmp_path / "c")
    urls = ["http://127.0.0.1:18200/c.xml", "http://127.0.0.1:18303/c.xml"]
    for url in urls:
        added = run("sources", "add", url, "--no-check", "-c", str(config), cwd=tmp_path)
        assert added.returncode == 0, added.stderr
    with FeedServer() as twin:  # another site whose feed has the same title, "Wire"
        twin.route("/wire.xml", Reply(body=feed("Wire", 1)))
        for url in (server.url("/wire.xml"), twin.url("/wire.xml"), server.url("/wire.xml?x=1")):
            added = run("sources", "add", url, "-c", str(config), cwd=tmp_path)
            assert added.returncode == 0, added.stderr
        where = f"127.0.0.1:{twin.port}/wire.xml"
    names = [e["name"] for e in yaml.safe_load((config.parent / MANAGED).read_text("utf-8"))]
    assert names == [
        "127.0.0.1:18200/c.xml",
        "127.0.0.1:18303/c.xml",
        "Wire",
        f"Wire ({where})",
        f"Wire (127.0.0.1:{server.port}/wire.xml)",
    ]
    checked = run("check", "--config", str(config), cwd=tmp_path)
    assert "two sources are named" not in checked.stderr, checked.stderr


def test_add_twice_and_watchlist_are_refused(tmp_path: Path, server: FeedServer) -> None:
    config = small_config(tmp_path / "c")
    url = server.url("/wire.xml")
    assert run("sources", "add", url, "-c", str(config), cwd=tmp_path).returncode == 0
    twice = run("sources", "add", url, "-c", str(config), cwd=tmp_path)
    assert twice.returncode == 1
    assert "already configured, as 'Wire'" in twice.stderr
    # The same feed in other words: scheme and host in capitals, the default port written.
    shouted = url.replace("http://127.0.0.1:", "HTTP://127.0.0.1:")
    again = run("sources", "add", shouted, "--no-check", "-c", str(config), cwd=tmp_path)
    assert again.returncode == 1, again.stderr
    assert "already configured, as 'Wire'" in again.stderr
    other = server.url("/other.xml")
    watch = run("sources", "add", other, "--watchlist", "libya", "-c", str(config), cwd=tmp_path)
    assert watch.returncode == 2
    assert "no watchlist is named 'libya'" in watch.stderr
    assert managed_urls(config) == [url]


# --- 5. import -----------------------------------------------------------------------------


def test_import_checks_every_new_feed_and_adds_only_the_good_ones(
    tmp_path: Path, server: FeedServer
) -> None:
    for number in range(30):
        if number % 7 == 3:
            continue  # no route: 404
        body = b"<html>no</html>" if number % 11 == 5 else feed(f"Feed {number}")
        server.route(f"/f{number}.xml", Reply(body=body, delay=0.05))
    bad = {n for n in range(30) if n % 7 == 3 or n % 11 == 5}
    outlines = "".join(
        f'<outline text="Feed {n} &amp; co" type="rss" xmlUrl="{server.url(f"/f{n}.xml")}"/>'
        for n in range(30)
    )
    opml = tmp_path / "many.opml"
    opml.write_text(f'<opml version="2.0"><body>{outlines}</body></opml>', encoding="utf-8")
    config = small_config(
        tmp_path / "c",
        "poll:\n  allow_private_networks: true\n"
        f"sources:\n  - name: Feed 0 & co\n    url: {server.url('/f0.xml')}\n",
    )
    result = run("sources", "import", str(opml), "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "30 feeds, 1 already configured (skipped), 29 new" in result.stdout
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert len(progress) == 29, result.stderr
    assert progress[-1].startswith("[29/29] ")
    good = [server.url(f"/f{n}.xml") for n in range(1, 30) if n not in bad]
    assert sorted(managed_urls(config)) == sorted(good)
    assert f"added {len(good)} sources" in result.stdout
    assert f"{len(bad)} failed, not added" in result.stdout
    names = yaml.safe_load((config.parent / MANAGED).read_text(encoding="utf-8"))
    assert names[0]["name"] == "Feed 1 & co"
    assert run("check", "-c", str(config), cwd=tmp_path).returncode == 0
    assert "a running service reads the change at `monitor reload`" in result.stderr
    # Again: nothing new is added, so nothing is there to reload.
    again = run("sources", "import", str(opml), "-c", str(config), cwd=tmp_path)
    assert "added 0 sources" in again.stdout, again.stdout + again.stderr
    assert "monitor reload" not in again.stderr, again.stderr


def test_import_checks_the_url_the_config_will_poll(tmp_path: Path, server: FeedServer) -> None:
    # An imported URL is saved as text ("${" written "$${"); its check fetched that escape,
    # not the URL the config reads and polls, and printed it (an outside probe, probe66 N4).
    server.route("/f.xml", Reply(body=feed("Feed")))
    url = server.url("/f.xml?x=${MONITOR_WEBHOOK_SECRET}")
    opml = tmp_path / "one.opml"
    opml.write_text(
        f'<opml version="2.0"><body><outline text="F" type="rss" xmlUrl="{url}"/></body></opml>',
        encoding="utf-8",
    )
    config = small_config(tmp_path / "c", "poll:\n  allow_private_networks: true\n")
    result = run("sources", "import", str(opml), "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "$$" not in result.stderr and "[1/1] ok " in result.stderr, result.stderr
    checked = server.requests[-1].path
    assert "$$" not in checked and "MONITOR_WEBHOOK_SECRET" in checked
    once = run("once", "-c", str(config), cwd=tmp_path)
    assert once.returncode == 0, once.stdout + once.stderr
    assert server.requests[-1].path == checked


def test_import_of_a_bad_opml_file_changes_nothing(tmp_path: Path) -> None:
    opml = tmp_path / "bad.opml"
    opml.write_text('<opml><body><outline xmlUrl="ftp://x/y"/></body></opml>', encoding="utf-8")
    config = small_config(tmp_path / "c")
    before = config.read_bytes()
    result = run("sources", "import", str(opml), "-c", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "bad.opml" in result.stderr
    assert config.read_bytes() == before


# --- remove ---------------------------------------------------------------------------------


def test_remove_from_the_users_config_keeps_its_comments(tmp_path: Path) -> None:
    text = (
        "# top\n"
        "poll:\n"
        "  allow_private_networks: true\n"
        "sources:\n"
        "  # the wires\n"
        '  - name: "A wire"     # quoted\n'
        "    url: https://a.example.org/feed\n"
        "  - name: B\n"
        "    url: https://b.example.org/feed   # B's feed\n"
        "    interval: 5m\n"
        "  - name: C\n"
        "    url: 'https://c.example.org/feed'\n"
        "\n"
        "# after the sources\n"
        "first_run: store_only\n"
    )
    config = small_config(tmp_path / "c", text)
    result = run("sources", "remove", "https://b.example.org/feed", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = text.splitlines(keepends=True)
    assert config.read_text(encoding="utf-8") == "".join(lines[:7] + lines[10:])
    assert run("sources", "remove", "C", "-c", str(config), cwd=tmp_path).returncode == 0
    assert config.read_text(encoding="utf-8") == "".join(lines[:7] + lines[12:])


def test_remove_refuses_opml_ambiguous_and_unknown_sources(tmp_path: Path) -> None:
    config = small_config(
        tmp_path / "c",
        "sources:\n"
        "  - name: Twin\n    url: https://a.example.org/feed\n"
        "  - name: Twin\n    url: https://b.example.org/feed\n"
        "  - opml: list.opml\n",
    )
    (config.parent / "list.opml").write_text(
        '<opml><body><outline text="Listed" xmlUrl="https://c.example.org/feed"/></body></opml>',
        encoding="utf-8",
    )
    before = config.read_bytes()
    opml = run("sources", "remove", "Listed", "-c", str(config), cwd=tmp_path)
    assert opml.returncode == 1
    assert "list.opml" in opml.stderr and "remove its outline" in opml.stderr
    twin = run("sources", "remove", "Twin", "-c", str(config), cwd=tmp_path)
    assert twin.returncode == 1
    assert "a.example.org" in twin.stderr and "b.example.org" in twin.stderr
    assert "give the URL" in twin.stderr
    unknown = run("sources", "remove", "Twim", "-c", str(config), cwd=tmp_path)
    assert unknown.returncode == 1
    assert "did you mean 'Twin'?" in unknown.stderr
    assert config.read_bytes() == before
    by_url = run("sources", "remove", "https://b.example.org/feed", "-c", str(config), cwd=tmp_path)
    assert by_url.returncode == 0, by_url.stderr
    assert b"b.example.org" not in config.read_bytes()


# --- include --------------------------------------------------------------------------------


def test_included_files_are_validated_with_their_file_and_line(tmp_path: Path) -> None:
    config = small_config(
        tmp_path / "c",
        "poll: {allow_private_networks: true}\n"
        "sources:\n"
        "  - name: A\n    url: https://a.example.org/feed\n"
        "  - include: sources.d/*.yaml\n",
    )
    folder = config.parent / "sources.d"
    folder.mkdir()
    (folder / "one.yaml").write_text(
        "# mine\n- name: B\n  url: https://b.example.org/feed\n- name: C\n  urll: x\n",
        encoding="utf-8",
    )
    (folder / "two.yaml").write_text(
        "- name: A again\n  url: https://a.example.org/feed\n  interval: 5m\n", encoding="utf-8"
    )
    result = run("check", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert f"{folder / 'one.yaml'}:5: sources[1].urll: unknown key 'urll'" in result.stderr
    assert f"{folder / 'two.yaml'}:1: sources[0] in two.yaml ('A again')" in result.stderr
    assert "with other settings" in result.stderr
    (folder / "one.yaml").write_text("- name: B\n  url: https://b.example.org/feed\n")
    (folder / "two.yaml").unlink()
    result = run("check", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 sources" in result.stdout


# --- writing --------------------------------------------------------------------------------


def test_writes_keep_the_mode_and_the_group_option_names_the_config(
    tmp_path: Path, server: FeedServer
) -> None:
    config = small_config(tmp_path / "c")
    config.chmod(0o600)
    url = server.url("/wire.xml")
    result = run("sources", "--config", str(config), "add", url, "--no-check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert config.stat().st_mode & 0o777 == 0o600
    assert b"- include: sources.d/*.yaml" in config.read_bytes()
    (config.parent / MANAGED).chmod(0o640)
    other = server.url("/other.xml")
    assert run("sources", "add", other, "-c", str(config), cwd=tmp_path).returncode == 0
    assert (config.parent / MANAGED).stat().st_mode & 0o777 == 0o640
    assert managed_urls(config) == [url, other]
    assert not [p for p in (config.parent / "sources.d").iterdir() if p.name != "cli.yaml"]


def test_commands_editing_at_once_lose_no_change(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    config = small_config(tmp_path / "c")
    urls = [f"https://example.org/feed-{n}.xml" for n in range(4)]
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda url: run(
                    "sources", "add", url, "--no-check", "-c", str(config), cwd=tmp_path
                ),
                urls,
            )
        )
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert sorted(managed_urls(config)) == urls
    assert config.read_text(encoding="utf-8").count("- include: sources.d/*.yaml") == 1


def test_a_credential_in_the_url_is_saved_but_never_shown(
    tmp_path: Path, server: FeedServer
) -> None:
    config = small_config(tmp_path / "c")
    url = server.url("/wire.xml").replace("http://", "http://reader:hunter2@") + "?token=s3cr3t"
    added = run("sources", "add", url, "-c", str(config), cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    removed_typo = run("sources", "remove", url + "x", "-c", str(config), cwd=tmp_path)
    assert removed_typo.returncode == 1
    for result in (added, removed_typo):
        shown = result.stdout + result.stderr
        assert "hunter2" not in shown and "s3cr3t" not in shown, shown
        assert "REDACTED" in shown
    assert managed_urls(config) == [url]  # the config keeps it, as written
    assert server.requests[0].headers["authorization"].startswith("Basic ")

    # export masks it unless told, and says so; import refuses a masked URL.
    for form in ("opml", "yaml"):
        masked = run("sources", "export", "--format", form, "-c", str(config), cwd=tmp_path)
        assert masked.returncode == 0, masked.stderr
        assert "hunter2" not in masked.stdout and "s3cr3t" not in masked.stdout
        assert "1 URL with credentials masked (REDACTED)" in masked.stderr
        exported = tmp_path / f"masked.{'yaml' if form == 'yaml' else 'opml'}"
        exported.write_text(masked.stdout, encoding="utf-8")
        other = small_config(tmp_path / f"other-{form}")
        refused = run("sources", "import", str(exported), "-c", str(other), cwd=tmp_path)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "masked by `monitor sources export`" in refused.stderr
        full = run(
            "sources", "export", "--format", form, "--include-credentials",
            "-c", str(config), cwd=tmp_path,
        )  # fmt: skip
        assert url in full.stdout.replace("&amp;", "&")


@pytest.mark.parametrize(
    ("layout", "after_line"),
    [
        ("---\nsources:\n  - opml: list.opml\nfirst_run: store_only\n", 2),
        ("poll: { interval: 10m }   # flow\nsources:\n- opml: list.opml\n\n# end\n", 2),
        ("database_url:   sqlite:///m.db\nsources:\n    - opml: list.opml   # c\n", 2),
        (
            "sources:\n  - opml: list.opml\nsinks:\n- name: ops\n  url: https://h.example.org/x\n"
            "  signing: none\n",
            1,
        ),
    ],
)
def test_the_include_line_is_the_only_change_whatever_the_layout(
    tmp_path: Path, layout: str, after_line: int
) -> None:
    config = small_config(tmp_path / "c", layout)
    text = config.read_text(encoding="utf-8")
    (config.parent / "list.opml").write_text(
        '<opml><body><outline text="L" xmlUrl="https://l.example.org/f"/></body></opml>',
        encoding="utf-8",
    )
    url = "https://n.example.org/feed"
    result = run("sources", "add", url, "--no-check", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = text.splitlines(keepends=True)
    indent = lines[after_line][: len(lines[after_line]) - len(lines[after_line].lstrip())]
    expected = lines[: after_line + 1] + [f"{indent}- include: sources.d/*.yaml\n"]
    assert config.read_text(encoding="utf-8") == "".join(expected + lines[after_line + 1 :])
    assert run("sources", "remove", url, "-c", str(config), cwd=tmp_path).returncode == 0
    assert managed_urls(config) == []


def test_check_reports_an_included_files_problems_with_the_configs_own(tmp_path: Path) -> None:
    config = small_config(
        tmp_path / "c", "poll: {intervall: 5m}\nsources:\n  - include: more.yaml\n"
    )
    (config.parent / "more.yaml").write_text("- name: B\n  urll: https://b.example.org/f\n")
    result = run("check", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert "poll.intervall: unknown key" in result.stderr
    assert f"{config.parent / 'more.yaml'}:2: sources[0].urll: unknown key" in result.stderr


def test_one_feed_listed_in_two_spellings_is_polled_once(
    tmp_path: Path, server: FeedServer
) -> None:
    # `HTTP://Host/x` and `http://host:80/x` were two sources: polled, stored (and with a
    # sink's `stories: all`, alerted) twice.
    url = server.url("/wire.xml")
    shouted = url.replace("http://127.0.0.1:", "HTTP://127.0.0.1:")
    config = small_config(
        tmp_path / "c",
        "poll: {allow_private_networks: true}\n"
        f"sources:\n  - name: Wire\n    url: {url}\n  - name: Wire again\n    url: {shouted}\n",
    )
    checked = run("check", "-c", str(config), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "again; it is polled once, as the first entry" in checked.stderr
    once = run("once", "-c", str(config), cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    assert "1 enabled: 1 polled ok" in once.stdout


def test_text_from_a_feed_or_an_imported_file_never_names_an_environment_variable(
    tmp_path: Path, server: FeedServer
) -> None:
    # A feed titled "${MONITOR_WEBHOOK_SECRET}" named its source after the secret once the
    # config was read (in every alert, log line and listing), and an OPML outline could put
    # a variable in a URL the service then fetched. Saved as text, they stay text; bidi and
    # control characters of a title are dropped.
    server.route("/titled.xml", Reply(body=feed("${MONITOR_WEBHOOK_SECRET}\u202e")))
    leak = f"{server.url('/leak.xml')}?k=${{MONITOR_WEBHOOK_SECRET}}"
    server.route("/leak.xml", Reply(body=feed("Leak")))
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        f'<opml version="2.0"><body><outline text="${{HOME}} wire" xmlUrl="{leak}"/></body></opml>',
        encoding="utf-8",
    )
    config = small_config(tmp_path / "c")
    env = {"MONITOR_WEBHOOK_SECRET": SECRET}
    added = run(
        "sources", "add", server.url("/titled.xml"), "-c", str(config), cwd=tmp_path, env=env
    )
    assert added.returncode == 0, added.stdout + added.stderr
    # Shown as the config reads it, not as the escape it is saved as ("$${...}").
    assert "added '${MONITOR_WEBHOOK_SECRET}' (" in added.stdout, added.stdout
    imported = run("sources", "import", str(opml), "-c", str(config), cwd=tmp_path, env=env)
    assert imported.returncode == 0, imported.stdout + imported.stderr

    saved = (config.parent / MANAGED).read_text(encoding="utf-8")
    assert "\u202e" not in saved
    requests_before = len(server.requests)
    once = run("once", "-c", str(config), cwd=tmp_path, env=env)
    assert once.returncode == 0, once.stdout + once.stderr
    assert SECRET not in once.stdout + once.stderr
    assert "ok ${MONITOR_WEBHOOK_SECRET}: " in once.stdout
    fetched = [r.path for r in server.requests[requests_before:]]
    assert len(fetched) == 2 and SECRET not in " ".join(fetched)
    listed = run("sources", "--json", "-c", str(config), cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert SECRET not in listed.stdout
    assert sorted(s["name"] for s in json.loads(listed.stdout)) == [
        "${HOME} wire",
        "${MONITOR_WEBHOOK_SECRET}",
    ]

    # The YAML export is a sources list to include (docs/config.md): written back as the
    # same text, never as a variable that an include would fill in (an outside probe: the
    # export turned "$${MONITOR_WEBHOOK_SECRET}" back into "${...}", and the included file
    # sent the secret to the feed's server and named the source after it).
    exported = tmp_path / "exported.yaml"
    done = run(
        "sources",
        "export",
        "--format",
        "yaml",
        "-o",
        str(exported),
        "-c",
        str(config),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "$${MONITOR_WEBHOOK_SECRET}" in exported.read_text(encoding="utf-8")
    including = tmp_path / "including" / "monitor.yaml"
    including.parent.mkdir()
    including.write_text(
        f"poll:\n  allow_private_networks: true\nsources:\n  - include: {exported}\n",
        encoding="utf-8",
    )
    requests_before = len(server.requests)
    once = run("once", "-c", str(including), cwd=tmp_path, env=env)
    assert once.returncode == 0, once.stdout + once.stderr
    assert SECRET not in once.stdout + once.stderr
    fetched = [r.path for r in server.requests[requests_before:]]
    assert fetched and SECRET not in " ".join(fetched)


def test_the_opml_export_leaves_out_control_characters_of_a_name(tmp_path: Path) -> None:
    # An outside probe: a name typed into the config with escape sequences went raw into
    # the OPML (to the terminal, by default), which then did not import again (XML 1.0).
    config = small_config(
        tmp_path / "c",
        'poll: {allow_private_networks: true}\nsources:\n  - name: "Evil\\e[31mName\\a"\n'
        "    url: http://127.0.0.1:9/evil.xml\n",
    )
    done = run("sources", "export", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert 'title="Evil[31mName"' in done.stdout
    exported = tmp_path / "out.opml"
    exported.write_text(done.stdout, encoding="utf-8")
    other = small_config(tmp_path / "d")
    imported = run("sources", "import", str(exported), "--no-check", "-c", str(other), cwd=tmp_path)
    assert imported.returncode == 0, imported.stdout + imported.stderr


def test_names_yaml_reads_as_another_type_are_written_quoted_and_read_back(
    tmp_path: Path,
) -> None:
    # An outside probe (probe69): a feed titled "Yes" (or an OPML outline "On") was written
    # unquoted, which the config's YAML reader takes for a boolean: the add was refused,
    # and one such outline stopped the import of a whole file. A name with a line break
    # lost it ("multi\nline" exported as "multiline").
    config = small_config(tmp_path / "c")
    for name in ("Yes", "off", "null", "2026-12-07", "12:30", "0x1F"):
        added = run(
            "sources", "add", f"http://127.0.0.1:9/{name.replace(':', '-')}.xml",
            "--name", name, "--no-check", "-c", str(config), cwd=tmp_path,
        )  # fmt: skip
        assert added.returncode == 0, added.stdout + added.stderr
    opml = tmp_path / "in.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body>'
        '<outline text="On" xmlUrl="http://127.0.0.1:9/on.xml"/>'
        '<outline text="multi&#10;line" xmlUrl="http://127.0.0.1:9/multi.xml"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    imported = run("sources", "import", str(opml), "--no-check", "-c", str(config), cwd=tmp_path)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    done = run("sources", "export", "--format", "yaml", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    names = [entry["name"] for entry in yaml.safe_load(done.stdout)["sources"]]
    assert names == ["Yes", "off", "null", "2026-12-07", "12:30", "0x1F", "On", "multi line"]


def test_an_add_appends_to_a_managed_list_without_reading_it_round_trip() -> None:
    # An outside probe: with 10,000 sources, `sources add` took 37 s (eight round trips of
    # the file). The common layout is appended to as text, checked by reading it back;
    # another layout goes through the editor, which keeps it.
    from monitor.sourceedit import _appended

    current = "# managed\n- name: A\n  url: https://a.example/feed\n"
    item = {"name": "B $${X}", "url": "https://b.example/feed"}
    assert _appended(current, [item]) == (
        current + "- name: B $${X}\n  url: https://b.example/feed\n"
    )
    indented = "sources_are:\n  - name: A\n    url: https://a.example/feed\n"
    assert _appended(indented, [item]) is None
    assert _appended("  - name: A\n    url: https://a.example/feed\n", [item]) is None
    assert _appended("[]\n", [item]) is None


def test_a_remove_cuts_the_lines_of_a_managed_entry_without_a_round_trip() -> None:
    # An outside probe: with 10,000 sources, `sources remove` took 14 s (round trips of the
    # file). The usual layout loses the entry's lines, checked by reading it back; an entry
    # with a comment in it goes through the editor, which keeps the comment where it goes.
    from monitor.sourceedit import _without_lines

    text = (
        "# managed\n- name: A\n  url: https://a.example/feed\n"
        "- name: B\n  url: https://b.example/feed\n- name: C\n  url: https://c.example/feed\n"
    )
    assert _without_lines(text, [1]) == (
        "# managed\n- name: A\n  url: https://a.example/feed\n"
        "- name: C\n  url: https://c.example/feed\n"
    )
    assert _without_lines(text, [2, 0]) == "# managed\n- name: B\n  url: https://b.example/feed\n"
    commented = text.replace("- name: B\n", "- name: B  # the wire\n  # kept for the desk\n")
    assert _without_lines(commented, [1]) is None
    assert _without_lines(text, [0, 1, 2]) is None  # the header alone: the editor's case


def test_sources_json_gives_the_wait_in_force_of_a_source_in_back_off(tmp_path: Path) -> None:
    # An outside probe (probe84): `--json` said `interval_seconds: 60` for a source whose
    # back-off made the next poll 482 s after the last, which the table showed as "8m2s
    # backoff". `wait_seconds` is the wait in force; `interval_seconds` stays the interval.
    with FeedServer() as failing:
        failing.route("/feed.xml", Reply(status=500))
        config = tmp_path / "monitor.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "database_url": f"sqlite:///{tmp_path}/m.db",
                    "poll": {"interval": "1m", "allow_private_networks": True},
                    "sources": [{"name": "Failing", "url": failing.url("/feed.xml")}],
                    "watchlists": [str(REPO / "config" / "watchlists" / "libya.yaml")],
                }
            ),
            encoding="utf-8",
        )
        waits = []
        for _ in range(3):
            run_monitor(["once", "--config", str(config)], cwd=tmp_path, timeout=120)
            (row,) = json.loads(
                run_monitor(
                    ["sources", "--json", "--config", str(config)], cwd=tmp_path, timeout=120
                ).stdout
            )
            assert row["schedule"] == "backoff" and row["interval_seconds"] == 60, row
            waits.append(row["wait_seconds"])
            run_monitor(["sources", "retry", "--config", str(config)], cwd=tmp_path, timeout=120)
    # interval x 2^(n-1), with up to 5 % of jitter either way: about 60, 120, 240.
    assert 50 <= waits[0] <= 70 and 100 <= waits[1] <= 140 and 200 <= waits[2] <= 280, waits
