"""The story MinHash is datasketch's ``affine32`` MinHash (seed 1), value for value: stored
signatures must stay comparable with every later version of the code."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.stories.signature import _permutations, minhash_values, signature, story_tokens

datasketch = pytest.importorskip("datasketch", reason="datasketch is a dev dependency")


def _reference(items: list[bytes], num_perm: int) -> np.ndarray:
    minhash = datasketch.MinHash(num_perm=num_perm, seed=1, scheme="affine32")
    minhash.update_batch(items)
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


@given(st.lists(st.binary(max_size=40), max_size=80), st.sampled_from([16, 128, 256]))
def test_values_are_datasketch_affine32(items: list[bytes], num_perm: int) -> None:
    assert minhash_values(items, num_perm) == _reference(items, num_perm).tolist()


@pytest.mark.parametrize("count", [1, 2, 3, 500, 5000])
def test_values_of_many_items_are_datasketch_affine32(count: int) -> None:
    # The running minimum is kept on lanes of one integer: no lane may spill into the next,
    # however many items (duplicates included) pass through it.
    items = [f"shingle {n % 997} {n}".encode() for n in range(count)] + [b"", b"x", b"x"]
    assert minhash_values(items, 128) == _reference(items, 128).tolist()


@pytest.mark.parametrize("num_perm", [1, 16, 128, 256, 333, 1000])
def test_permutations_are_numpys_random_state_draws(num_perm: int) -> None:
    # Made without numpy (the workers do not load it), they must be numpy.random's draws.
    generator = np.random.RandomState(1)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    ours_a, ours_b = _permutations(num_perm)
    assert ours_a == a.tolist() and ours_b == b.tolist()


def test_signature_of_an_article_is_datasketch_minhash_of_its_shingles() -> None:
    title = "Clashes erupt in southern Tripoli"
    lead = "TRIPOLI, May 3 (Maghreb Wire) - Armed groups clashed overnight near the airport road."
    sig = signature(title, lead, "")
    title_words, lead_words = story_tokens(title, lead, "")
    # Word pairs of the title and of the lead (no pair across the seam; dateline dropped).
    shingles = {
        " ".join(w[i : i + 2]) for w in (title_words, lead_words) for i in range(len(w) - 1)
    }
    assert "maghreb wire" not in shingles and "tripoli armed" not in shingles
    assert sig.size == len(shingles)
    expected = _reference(sorted(s.encode() for s in shingles), 128)
    assert sig.values == expected.tolist()


def test_a_feeds_stock_lead_is_left_out_of_its_signatures() -> None:
    from monitor.stories import feed_signatures

    stock = "Click here to read more."
    long_lead = " ".join(f"word{n}" for n in range(40)) + "."
    titles = ["Haftar visits Cairo today", "Oil output rises at Sharara", "Floods hit Derna again"]
    three = feed_signatures([(t, stock, "") for t in titles])
    assert [s.values for s in three] == [signature(t, "", "").values for t in titles]
    two_short = feed_signatures([(t, stock, "") for t in titles[:2]])
    assert two_short[0].size == signature(titles[0], "", "").size
    # Two entries sharing a long lead their headlines tell of are two copies of one wire
    # story: they keep it; headlines that do not tell of it make it stock text.
    wire = long_lead + " Haftar arrived in Cairo today for talks on the visit."
    copies = ["Haftar visits Cairo today", "Haftar in Cairo for talks"]
    two_long = feed_signatures([(t, wire, "") for t in copies])
    assert two_long[0].values == signature(copies[0], wire, "").values
    unrelated = feed_signatures([(t, long_lead, "") for t in titles[:2]])
    assert unrelated[0].values == signature(titles[0], "", "").values
    alone = feed_signatures([(titles[0], stock, "")])
    assert alone[0].values == signature(titles[0], stock, "").values
