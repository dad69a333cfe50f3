"""Many names: 10,000 names across entities compile into one matcher and are all findable."""

from __future__ import annotations

import random
import string
from pathlib import Path

from monitor.match import Matcher
from monitor.match.watchlist_file import parse_watchlist


def made_up_name(rng: random.Random, index: int) -> str:
    word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9)))
    return f"{word.title()} Q{index}"


def test_ten_thousand_names() -> None:
    rng = random.Random(7)
    entities = [
        {"id": f"e{i}", "names": [made_up_name(rng, 2 * i), made_up_name(rng, 2 * i + 1)]}
        for i in range(5000)
    ]
    watchlist = parse_watchlist({"entities": entities}, Path("big.yaml"))
    matcher = Matcher([watchlist])
    picked = rng.sample(range(5000), 50)
    filler = " ".join("".join(rng.choice("abcdefgh") for _ in range(6)) for _ in range(2000))
    content = filler + ". " + ", ".join(entities[i]["names"][1] for i in picked) + "."
    result = matcher.match({"content": f"<p>{content}</p>"})
    assert sorted(m.entity for m in result.mentions) == sorted(f"e{i}" for i in picked)
