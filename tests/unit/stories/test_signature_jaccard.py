"""`Signature.jaccard` counts equal 32-bit words without numpy (a word-parallel trick on one
big integer): it must agree with numpy's count for every kind of difference, including the
words whose bits make such tricks go wrong (zero, top bit only, low 31 bits only, all ones)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from monitor.stories import Signature

EDGE_WORDS = [0, 1, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF, 0xFFFFFFFE, 0x00010000]


def numpy_jaccard(a: bytes, b: bytes) -> float:
    x, y = np.frombuffer(a, dtype="<u4"), np.frombuffer(b, dtype="<u4")
    return float(np.count_nonzero(x == y)) / len(x)


def words(values: list[int]) -> bytes:
    return np.asarray(values, dtype="<u4").tobytes()


@pytest.mark.parametrize("num_perm", [1, 3, 128, 256])
def test_jaccard_agrees_with_numpy_on_edge_words_and_random_ones(num_perm: int) -> None:
    rng = random.Random(num_perm)
    for _ in range(500):
        first = [rng.choice(EDGE_WORDS + [rng.getrandbits(32)]) for _ in range(num_perm)]
        second = [
            value if rng.random() < 0.5 else rng.choice(EDGE_WORDS + [rng.getrandbits(32)])
            for value in first
        ]
        a, b = words(first), words(second)
        expected = numpy_jaccard(a, b)
        assert Signature(a, 10).jaccard(Signature(b, 10)) == expected
        assert Signature(b, 10).jaccard(Signature(a, 10)) == expected


def test_words_differing_in_one_bit_anywhere_are_counted_as_different() -> None:
    base = [0x12345678] * 128
    for bit in range(32):
        changed = list(base)
        changed[77] ^= 1 << bit
        assert Signature(words(base), 5).jaccard(Signature(words(changed), 5)) == 127 / 128
    zeros = [0] * 128
    for bit in range(32):
        changed = list(zeros)
        changed[0] = 1 << bit
        assert Signature(words(zeros), 5).jaccard(Signature(words(changed), 5)) == 127 / 128


def test_an_empty_shingle_set_is_like_nothing() -> None:
    data = words([7] * 128)
    assert Signature(data, 0).jaccard(Signature(data, 9)) == 0.0
    assert Signature(data, 9).jaccard(Signature(data, 9)) == 1.0
