"""Excerpts: the sentence(s) around mentions and the words of the rule that fired, highlights
merged, trimmed at word boundaries to a maximum length with an ellipsis."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence

from monitor.match.names import is_unspaced_letter
from monitor.match.result import FIELDS, Excerpt, Mention
from monitor.text import is_word_char, iter_sentence_spans

__all__ = ["ELLIPSIS", "build_excerpts", "merge_spans"]

ELLIPSIS = "\u2026"
Span = tuple[int, int]
# (term, field, start, end): an occurrence of a term of the rule that fired, in the field's
# plain text; ``term`` tells the rule's terms apart (any label).
RuleSpan = tuple[str, str, int, int]


def merge_spans(spans: Sequence[Span]) -> list[Span]:
    """Sorted spans with overlapping ones merged."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def build_excerpts(
    plain_by_field: Mapping[str, str],
    mentions: Sequence[Mention],
    max_chars: int,
    rule_spans: Sequence[RuleSpan] = (),
) -> tuple[Excerpt, ...]:
    """One excerpt per run of neighbouring sentences with mentions or ``rule_spans`` (runs
    that fit in ``max_chars``); a longer sentence is cut into windows around them.

    Order: first, for each term of the rule, the first excerpt that shows it (so the
    evidence of the rule survives the cap on excerpts); then the other excerpts that show
    the rule's words; then those that hold more distinct entities. Ties keep field and text
    order."""
    ranked: list[tuple[set[str], int, Excerpt]] = []
    for field in FIELDS:
        in_field = [m for m in mentions if m.field == field]
        of_rule = [(term, start, end) for term, name, start, end in rule_spans if name == field]
        spans = merge_spans([(m.start, m.end) for m in in_field] + [s[1:] for s in of_rule])
        if not spans:
            continue
        entities_by_text: dict[str, set[tuple[str, str]]] = {}
        for mention in in_field:
            entities_by_text.setdefault(mention.text, set()).add(
                (mention.watchlist, mention.entity)
            )
        terms_in = _terms_in(spans, of_rule) if of_rule else {}
        for excerpt, inside in _field_excerpts(field, plain_by_field[field], spans, max_chars):
            held: set[tuple[str, str]] = set()
            for start, end in excerpt.highlights:
                held |= entities_by_text.get(excerpt.text[start:end], set())
            shown: set[str] = set()
            if terms_in:
                for span in inside:
                    shown |= terms_in.get(span, set())
            ranked.append((shown, len(held), excerpt))
    if not rule_spans:
        # sorted() is stable: equal counts keep their field and text order.
        return _distinct(excerpt for _, _, excerpt in sorted(ranked, key=lambda item: -item[1]))
    first_showing: set[int] = set()
    for term in dict.fromkeys(term for term, _, _, _ in rule_spans):
        first = next((i for i, (shown, _, _) in enumerate(ranked) if term in shown), None)
        if first is not None:
            first_showing.add(first)
    order = sorted(
        range(len(ranked)),
        key=lambda i: (i not in first_showing, not ranked[i][0], -ranked[i][1], i),
    )
    return _distinct(ranked[i][2] for i in order)


# Marks of a text cut short by its publisher: a summary that is the start of the content.
_CUT_MARKS = " .!?…。؟[]"
# Excerpts compared for containment with each new one (beyond, only repeats are dropped).
_COMPARED = 40


def _distinct(excerpts: Iterable[Excerpt]) -> tuple[Excerpt, ...]:
    """``excerpts`` without one that an earlier one shows (case, spaces and final stops
    aside): a title repeated as the summary, a summary that is the content's first
    paragraph, a summary cut short ("... officials told […]") of a content sentence, an
    all-capitals copy of the title. The first, in the given order, stays; where a later one
    of another field holds an earlier one whole (the full sentence of a cut summary), it
    takes the earlier one's place. Within a field only repeats go: its excerpts are
    different places of the text."""
    kept: list[Excerpt] = []
    cores: list[str] = []
    seen: set[str] = set()
    for excerpt in excerpts:
        core = _core(excerpt.text)
        if core in seen:
            continue
        seen.add(core)
        others = [i for i, other in enumerate(kept[:_COMPARED]) if other.field != excerpt.field]
        if any(_shows(cores[i], core) for i in others):
            continue
        holds = next((i for i in others if _shows(core, cores[i])), None)
        if holds is not None:
            kept[holds], cores[holds] = excerpt, core
            continue
        kept.append(excerpt)
        cores.append(core)
    return tuple(kept)


_LONE_MARKS = frozenset({"-", "\u2013", "\u2014", "|", "\u00b7", "\u2022"})


def _core(text: str) -> str:
    """What an excerpt says: case folded, spaces collapsed, cut marks ("…", "[…]", "...")
    and final stops trimmed, a dash or bar standing alone between words dropped (an
    aggregator's "Headline - Outlet" title over its "Headline  Outlet" summary)."""
    core = " ".join(word for word in text.split() if word not in _LONE_MARKS).casefold()
    core = core.replace("[…]", "").replace("[...]", "")
    return core.strip(_CUT_MARKS)


def _shows(text: str, part: str) -> bool:
    """Whether ``part`` is in ``text`` as whole words ("day 1" is not in "day 10")."""
    at = text.find(part)
    while at != -1:
        end = at + len(part)
        if (at == 0 or not is_word_char(text[at - 1])) and (
            end == len(text) or not is_word_char(text[end])
        ):
            return True
        at = text.find(part, at + 1)
    return False


def _terms_in(
    merged: Sequence[Span], rule_spans: Sequence[tuple[str, int, int]]
) -> dict[Span, set[str]]:
    """The rule's terms that each merged span shows (each rule span is inside one of them)."""
    starts = [start for start, _ in merged]
    terms: dict[Span, set[str]] = {}
    for term, start, _ in rule_spans:
        terms.setdefault(merged[bisect_right(starts, start) - 1], set()).add(term)
    return terms


def _field_excerpts(
    field: str, text: str, spans: list[Span], max_chars: int
) -> list[tuple[Excerpt, list[Span]]]:
    """The excerpts of one field, each with the (absolute) spans it highlights."""
    # Sentences that hold a mention, each with its highlights (absolute offsets); a sentence
    # that directly follows the previous one on the same line joins its excerpt if it fits.
    groups: list[tuple[int, int, list[Span]]] = []
    next_span = 0
    previous_index = -2
    for index, (sentence_start, sentence_end) in enumerate(
        iter_sentence_spans(text, wrapped_lines=True)
    ):
        # Spans are sorted: those that start before this sentence ends belong to it.
        first_inside = next_span
        while next_span < len(spans) and spans[next_span][0] < sentence_end:
            next_span += 1
        inside = spans[first_inside:next_span]
        if not inside:
            continue
        start = min(sentence_start, inside[0][0])
        end = max(sentence_end, max(s[1] for s in inside))
        if (
            groups
            and previous_index == index - 1
            and "\n" not in text[groups[-1][1] : start]
            and end - groups[-1][0] <= max_chars
        ):
            groups[-1] = (groups[-1][0], end, groups[-1][2] + inside)
        else:
            groups.append((start, end, inside))
        previous_index = index
        if next_span == len(spans):
            break  # every mention has its sentence: the rest of the text is not needed
    _widen_lone_words(text, groups, max_chars)
    excerpts: list[tuple[Excerpt, list[Span]]] = []
    for start, end, inside in groups:
        if end - start <= max_chars:
            relative = tuple((s - start, e - start) for s, e in inside)
            shown = text[start:end].replace("\n", " ")  # a wrapped line's break
            excerpts.append((Excerpt(field, shown, relative), inside))
        else:
            excerpts.extend(_windows(field, text[start:end], start, inside, max_chars))
    return excerpts


def _widen_lone_words(text: str, groups: list[tuple[int, int, list[Span]]], max_chars: int) -> None:
    """An excerpt that is one word on a line of its own (a dateline "TRIPOLI", a table cell
    "LNA") takes the sentence after it, when that fits and is no other excerpt's: one word
    tells an analyst nothing."""
    for number, (start, end, inside) in enumerate(groups):
        if not _lone_word(text[start:end]):
            continue
        limit = groups[number + 1][0] if number + 1 < len(groups) else len(text)
        following = next(iter_sentence_spans(text[end:limit], wrapped_lines=True), None)
        if following is not None and end + following[1] - start <= max_chars:
            groups[number] = (start, end + following[1], inside)


def _lone_word(text: str) -> bool:
    """One word of letters (Latin, Cyrillic, Arabic, ...), at most 25 characters and without
    a full stop: not a sentence of Chinese, Japanese or Thai, which write no spaces."""
    word = text.strip()
    return (
        0 < len(word) <= 25
        and all(is_word_char(char) or char in "-'’" for char in word)
        and not any(is_unspaced_letter(char) for char in word)
    )


def _windows(
    field: str, sentence: str, offset: int, spans: list[Span], max_chars: int
) -> list[tuple[Excerpt, list[Span]]]:
    """Cut a long sentence into windows of at most ``max_chars`` that cover every mention."""
    relative = [(s - offset, e - offset) for s, e in spans]
    budget = max(1, max_chars - 2 * len(ELLIPSIS))
    excerpts: list[tuple[Excerpt, list[Span]]] = []
    index = 0
    while index < len(relative):
        first_start = relative[index][0]
        last = index
        while last + 1 < len(relative) and relative[last + 1][1] - first_start <= budget:
            last += 1
        covered_end = relative[last][1]
        spare = max(0, budget - (covered_end - first_start))
        # Context before the mention gets a third of the room; after the rest.
        want_start = max(0, first_start - spare // 3)
        start = _cut_start(sentence, want_start, first_start)
        want_end = min(len(sentence), start + budget)
        end = _cut_end(sentence, max(want_end, covered_end), covered_end)
        while start < end and not is_word_char(sentence[start]) and start < first_start:
            start += 1
        while end > start and sentence[end - 1].isspace():
            end -= 1
        lead = ELLIPSIS if start > 0 else ""
        tail = ELLIPSIS if end < len(sentence) else ""
        shift = len(lead) - start
        highlights = tuple((s + shift, e + shift) for s, e in relative[index : last + 1])
        shown = sentence[start:end].replace("\n", " ")  # a wrapped line's break
        excerpt = Excerpt(field, lead + shown + tail, highlights)
        excerpts.append((excerpt, spans[index : last + 1]))
        index = last + 1
    return excerpts


def _inside_word(text: str, position: int) -> bool:
    return (
        0 < position < len(text)
        and is_word_char(text[position - 1])
        and is_word_char(text[position])
    )


# A run of word characters longer than this is cut inside: Chinese, Japanese and Thai
# write no spaces between words (a paragraph is one "word"), and a URL or a hash is long.
LONGEST_WORD = 30


def _cut_start(text: str, wanted: int, limit: int) -> int:
    """The first cut at or after ``wanted`` (not after ``limit``) that is not inside a word;
    else the start of the word that holds ``wanted``, if it is near; else ``wanted``."""
    position = wanted
    while position < limit and _inside_word(text, position):
        position += 1
    if not _inside_word(text, position):
        return position
    position = wanted
    while _inside_word(text, position) and wanted - position < LONGEST_WORD:
        position -= 1
    return position if not _inside_word(text, position) else wanted


def _cut_end(text: str, wanted: int, limit: int) -> int:
    """The last cut at or before ``wanted`` (not before ``limit``) that is not inside a word;
    else the end of the word that holds ``wanted``, if it is near; else ``wanted``."""
    position = wanted
    while position > limit and _inside_word(text, position):
        position -= 1
    if not _inside_word(text, position):
        return position
    position = wanted
    while _inside_word(text, position) and position - wanted < LONGEST_WORD:
        position += 1
    return position if not _inside_word(text, position) else wanted
