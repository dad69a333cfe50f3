"""No control character a feed or a receiver wrote reaches the terminal (docs/operations.md,
"What is never shown"): a feed whose entry title and summary, feed title and configured
source name carry one class of control characters at a time (C0 escape sequences, CR and
backspace; DEL and C1; bidirectional controls), and a receiver that answers 500 with them in
its body. `monitor sources add`, `once`, `alerts`, `replay`, `explain`, `sources` and
`status` then print them as escapes (``\\x1b``, ``\\x9b``, ``\\u202e``), never raw, on standard
output and standard error alike; JSON output keeps the data (``\\u001b``). Run as a user runs
them: subprocesses in another folder than the config, loopback feed and receiver."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from monitor.redact import terminal_text
from tests.cli.test_check_command import monitor
from tests.integration.helpers import rss, write_config
from tests.support.feed_server import FeedServer, Reply
from tests.support.webhook_receiver import Reply as HookReply
from tests.support.webhook_receiver import WebhookReceiver

# Any of these in the output is a character the terminal acts on (a newline excepted).
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
CLASSES = {
    # An OSC sequence (sets the window title, ended by BEL), a CSI colour, CR and backspace
    # (overwrite what is shown), a CSI that erases the line.
    "c0": "\x1b]0;PWNED\x07\x1b[31mRED\r\x08\x1b[2K",
    # DEL, and C1: a one-character CSI (U+009B), NEL, DCS.
    "del-c1": "\x7f\x9b2J\x85\x90",
    # Bidirectional overrides, isolates and marks: they reorder what follows them.
    "bidi": "\u202eevil\u202a\u2066x\u2069\u200f",
}
ARTICLE_URL = "https://example.org/news/a-1?utm_source=rss"


def _run(*args: str, cwd: Path, code: int) -> subprocess.CompletedProcess[str]:
    result = monitor(*args, cwd=cwd)
    both = result.stdout + result.stderr
    assert result.returncode == code, (args, result.stdout, result.stderr)
    assert "Traceback" not in both, result.stderr
    raw = sorted({f"U+{ord(c):04X}" for c in RAW.findall(both)})
    assert not raw, (args, raw, result.stdout, result.stderr)
    return result


@pytest.mark.parametrize("hostile", list(CLASSES.values()), ids=list(CLASSES))
def test_feed_and_receiver_text_is_shown_as_escapes(tmp_path: Path, hostile: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    entry = (
        "a-1",
        f"Haftar's forces near Tripoli {hostile}",
        f"<p>Fighting south of Tripoli. {hostile}</p>",
    )
    refusing = WebhookReceiver(default=HookReply(500, body=f"down {hostile}".encode()))
    with FeedServer() as feeds, refusing as receiver:
        feeds.route("/f.xml", Reply(body=rss([entry], title=f"Wire {hostile}")))
        feeds.route("/g.xml", Reply(body=rss([("b-1", "Oslo", "<p>Rain.</p>")], f"Feed {hostile}")))
        config = write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path}/m.db",
            sources=[(f"Wire {hostile}", feeds.url("/f.xml"))],
            sink_url=receiver.url,
            retry_schedule=["0s"],
            first_run="alert_all",
        )
        c = ("--config", str(config))
        polled = _run("once", *c, cwd=elsewhere, code=4)  # the receiver refuses: retrying
        assert f"ok Wire {terminal_text(hostile)}: 1 entry, 1 new" in polled.stdout
        # A source named by its feed's title.
        added = _run("sources", "add", feeds.url("/g.xml"), *c, cwd=elsewhere, code=0)
        assert "feed OK: 'Feed " in added.stdout
        _run("once", *c, cwd=elsewhere, code=4)  # refused again: dead in this run
        listed = _run("alerts", *c, cwd=elsewhere, code=0)
        assert "dead" in listed.stdout
        replayed = _run("replay", *c, cwd=elsewhere, code=0)
        assert "1 would alert" in replayed.stdout
        explained = _run("explain", "--url", ARTICLE_URL, *c, cwd=elsewhere, code=0)
        assert "WOULD ALERT" in explained.stdout
        _run("sources", *c, cwd=elsewhere, code=0)
        status = _run("status", *c, cwd=elsewhere, code=3)  # no service running
        assert "HTTP 500 Internal Server Error: down " in status.stdout
        # JSON keeps the data exact: the control characters are escaped JSON, not dropped.
        # (An article's text has none: a page never shows C0, DEL or C1, so html_to_text
        # drops them; bidirectional controls are text, a right-to-left title needs them.)
        as_json = _run("alerts", "--json", *c, cwd=elsewhere, code=0)
        (delivery,) = json.loads(as_json.stdout)["deliveries"]
        assert RAW.search(delivery["last_error"])
        assert bool(RAW.search(delivery["title"])) is (hostile == CLASSES["bidi"])
        _run("replay", "--json", *c, cwd=elsewhere, code=0)
        _run("sources", "--json", *c, cwd=elsewhere, code=0)
        _run("status", "--json", *c, cwd=elsewhere, code=3)
        _run("--log-format", "json", "once", *c, cwd=elsewhere, code=0)
