"""The matcher: compiles watchlists once, then for each article scans its fields, applies
context rules, resolves overlaps, evaluates boolean rules and builds excerpts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from monitor.errors import ConfigError
from monitor.match.acronyms import (
    DEFINED_OTHERWISE,
    Expansion,
    defined_otherwise,
    definitions,
    name_words,
)
from monitor.match.context import EntityContext, Verdict, is_digest
from monitor.match.excerpts import RuleSpan, build_excerpts
from monitor.match.explain import Explanation, explain_trace
from monitor.match.limits import (
    MAX_DETAIL_BYTES,
    MAX_EXCERPTS,
    MAX_MENTIONS_PER_ENTITY,
    MIN_DETAIL_BYTES,
)
from monitor.match.result import (
    FIELDS,
    Excerpt,
    MatchResult,
    Mention,
    WatchlistMatch,
    fit_detail,
)
from monitor.match.rules import (
    Evidence,
    Support,
    WordSpan,
    evaluate_rule,
    rule_support,
    rule_terms,
)
from monitor.match.scan import FieldScan, Hit, NameTarget, PatternIndex, PhraseTarget
from monitor.match.trace import MatchTrace
from monitor.match.watchlist import MIN_EXCERPT_CHARS, Watchlist

__all__ = ["Matcher"]


class Matcher:
    """Matches articles against watchlists. Build once (compiles every name into one
    automaton), then call ``match`` per article; it holds no per-article state."""

    def __init__(self, watchlists: Sequence[Watchlist], excerpt_chars: int = 300) -> None:
        if excerpt_chars < MIN_EXCERPT_CHARS:
            raise ValueError(f"excerpt_chars must be at least {MIN_EXCERPT_CHARS}")
        seen: dict[str, str] = {}
        for watchlist in watchlists:
            if watchlist.name in seen:
                raise ConfigError(
                    f"{watchlist.source}: watchlist name {watchlist.name!r} is already used by "
                    f"{seen[watchlist.name]}: set a different `name:` in one of them"
                )
            seen[watchlist.name] = watchlist.source
        self.watchlists: tuple[Watchlist, ...] = tuple(watchlists)
        self.excerpt_chars = excerpt_chars
        self._index = PatternIndex(self.watchlists)
        self._contexts: list[dict[str, EntityContext]] = [
            {entity.id: EntityContext.of(entity) for entity in watchlist.entities}
            for watchlist in self.watchlists
        ]
        # The words of each entity's names: an acronym the article spells out otherwise is
        # not the entity's (`monitor.match.acronyms`).
        self._name_words: list[dict[str, frozenset[str]]] = [
            {entity.id: name_words(entity.names) for entity in watchlist.entities}
            for watchlist in self.watchlists
        ]
        # The entities and phrases each watchlist's rules name: only their word positions
        # are worth computing.
        self._rule_keys: list[tuple[frozenset[str], frozenset[str]]] = []
        for watchlist in self.watchlists:
            terms = [term for rule in watchlist.rules for term in rule_terms(rule.tree)]
            self._rule_keys.append(
                (
                    frozenset(term.key for term in terms if term.kind == "entity"),
                    frozenset(term.key for term in terms if term.kind == "phrase"),
                )
            )

    def match(self, fields: Mapping[str, str | None]) -> MatchResult:
        """Match one article; ``fields`` maps title/summary/content to HTML fragments.

        What it returns is bounded by ``monitor.match.limits``; ``truncated`` says when a
        limit was reached."""
        return self._match(fields, None)

    def explain(self, fields: Mapping[str, str | None]) -> Explanation:
        """Match one article as ``match`` does, recording every decision on the way: each
        name found (kept, or dropped and by what), each rule's value, each watchlist's
        alert. ``Explanation.result`` is what ``match`` returns for the same fields."""
        trace = MatchTrace()
        result = self._match(fields, trace)
        return explain_trace(self.watchlists, trace, result)

    def _match(self, fields: Mapping[str, str | None], trace: MatchTrace | None) -> MatchResult:
        """``match``, recording its decisions in ``trace`` when one is given."""
        scans, article_phrases = self._scan(fields, trace)
        text_cut = any(scan.truncated for scan in scans)
        plain_by_field = {scan.field: scan.plain for scan in scans}
        # What is stored of a match is bounded by the article's own size too: a feed whose
        # short entries repeat a name a hundred times made 44 KB of detail from 3 KB of text.
        detail_bytes = min(
            MAX_DETAIL_BYTES,
            max(MIN_DETAIL_BYTES, 2 * sum(len(plain) for plain in plain_by_field.values())),
        )
        built: dict[
            tuple[frozenset[tuple[str, int, int]], frozenset[RuleSpan], int], tuple[Excerpt, ...]
        ] = {}

        def excerpts(
            mentions: Sequence[Mention], rule_spans: Sequence[RuleSpan], max_chars: int
        ) -> tuple[Excerpt, ...]:
            # Excerpts depend only on the spans shown and the length limit: an alert over the
            # same spans as the whole result (one watchlist) reuses its excerpts.
            key = (
                frozenset((m.field, m.start, m.end) for m in mentions),
                frozenset(rule_spans),
                max_chars,
            )
            if key not in built:
                built[key] = build_excerpts(plain_by_field, mentions, max_chars, rule_spans)
            return built[key]

        every_mention: list[Mention] = []
        every_rule_span: list[RuleSpan] = []
        mentions_cut = False
        alerts: list[WatchlistMatch] = []
        spelled_out = _SpelledOut(scans)
        for index, watchlist in enumerate(self.watchlists):
            found = self._mentions(index, scans, article_phrases, spelled_out, trace)
            # Rules see every mention; results keep the first ones of each entity and field.
            mentions, cut = _first_per_entity([mention for mention, _ in found])
            mentions_cut |= cut
            every_mention.extend(mentions)
            evidence = self._rule_evidence(index, scans, found)
            holding = [
                rule for rule in watchlist.rules if evaluate_rule(rule.tree, evidence.evidence)
            ]
            if trace is not None:
                trace.evidence[index] = evidence.evidence
                trace.holding[index] = tuple(rule.name for rule in holding)
            fired = holding[0] if holding else None
            if fired is None and (watchlist.alert == "rules" or not mentions):
                continue
            # The words that make the rule that fired hold are shown, whatever else is.
            rule_spans = (
                evidence.spans(rule_support(fired.tree, evidence.evidence)) if fired else []
            )
            every_rule_span.extend(rule_spans)
            alert_excerpts = excerpts(
                mentions, rule_spans, watchlist.excerpt_chars or self.excerpt_chars
            )
            match = WatchlistMatch(
                watchlist=watchlist.name,
                entities=tuple(sorted({mention.entity for mention in mentions})),
                mentions=mentions,
                excerpts=alert_excerpts[:MAX_EXCERPTS],
                rule=fired.name if fired else None,
                rule_expr=fired.expr if fired else None,
                truncated=text_cut or cut or len(alert_excerpts) > MAX_EXCERPTS,
            )
            alerts.append(fit_detail(match, detail_bytes))
        every_mention.sort(key=_mention_order)
        all_excerpts = excerpts(every_mention, every_rule_span, self.excerpt_chars)
        return MatchResult(
            mentions=tuple(every_mention),
            excerpts=all_excerpts[:MAX_EXCERPTS],
            alerts=tuple(alerts),
            truncated=text_cut or mentions_cut or len(all_excerpts) > MAX_EXCERPTS,
            text_cut=text_cut,
        )

    def rules_holding(self, fields: Mapping[str, str | None]) -> dict[str, tuple[str, ...]]:
        """For each watchlist name, every rule that holds on the article (not only the first,
        which is the one an alert names): for tuning and ``check_examples``."""
        trace = MatchTrace()
        self._match(fields, trace)
        return {
            watchlist.name: trace.holding.get(index, ())
            for index, watchlist in enumerate(self.watchlists)
        }

    def _scan(
        self, fields: Mapping[str, str | None], trace: MatchTrace | None
    ) -> tuple[list[FieldScan], frozenset[str]]:
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown article fields {unknown}: use {', '.join(FIELDS)}")
        record = trace is not None
        scans = [
            self._index.scan(name, fields.get(name) or "", record_rejected=record)
            for name in FIELDS
        ]
        if trace is not None:
            trace.scans.extend(scans)
        article_phrases = frozenset(
            hit.target.key
            for scan in scans
            for hit in scan.phrases
            if isinstance(hit.target, PhraseTarget)
        )
        return scans, article_phrases

    def _mentions(
        self,
        index: int,
        scans: Sequence[FieldScan],
        article_phrases: frozenset[str],
        spelled_out: _SpelledOut,
        trace: MatchTrace | None,
    ) -> list[tuple[Mention, tuple[FieldScan, Hit]]]:
        """Surviving mentions of one watchlist, in field order, each with where it was found."""
        watchlist_name = self.watchlists[index].name
        contexts = self._contexts[index]
        name_words_of = self._name_words[index]
        found: list[tuple[Mention, tuple[FieldScan, Hit]]] = []
        judged: list[tuple[FieldScan, list[tuple[Hit, Verdict | None]]]] = []
        for scan in scans:
            verdicts: list[tuple[Hit, Verdict | None]] = []
            for hit in scan.names:
                target = hit.target
                if isinstance(target, NameTarget) and target.watchlist == index:
                    if target.negative:  # a not_names entry: it only consumes its span
                        verdicts.append((hit, None))
                        continue
                    verdict = contexts[target.entity].verdict(hit, scan, article_phrases, scans)
                    if verdict.kept and (target.case_form is not None or target.uncased):
                        other = defined_otherwise(
                            scan.plain[hit.start : hit.end],
                            spelled_out.definitions(),
                            name_words_of[target.entity],
                        )
                        if other is not None:
                            verdict = Verdict(False, DEFINED_OTHERWISE, (other,))
                    verdicts.append((hit, verdict))
            judged.append((scan, verdicts))
        _one_sense(judged)
        for scan, verdicts in judged:
            kept: list[Hit] = []
            for hit, judgement in verdicts:
                if judgement is not None and trace is not None:
                    trace.verdicts.append((index, scan.field, hit, judgement))
                if judgement is None or judgement.kept:
                    kept.append(hit)
            overlapped = trace.overlapped if trace is not None else None
            for hit in _leftmost_longest(kept, index, scan.field, overlapped):
                if isinstance(hit.target, NameTarget) and hit.target.negative:
                    continue
                mention = Mention(
                    watchlist=watchlist_name,
                    entity=_entity_of(hit),
                    field=scan.field,
                    start=hit.start,
                    end=hit.end,
                    text=scan.plain[hit.start : hit.end],
                )
                found.append((mention, (scan, hit)))
        return found

    def _rule_evidence(
        self,
        index: int,
        scans: Sequence[FieldScan],
        found: Sequence[tuple[Mention, tuple[FieldScan, Hit]]],
    ) -> _RuleEvidence:
        """Where the entities and phrases the watchlist's rules name occur."""
        # Evidence holds only what the rules look up: other entities and phrases would cost
        # word positions and change nothing.
        entities: dict[tuple[str, str], _HitWordSpans] = {}
        phrases: dict[tuple[str, str], _HitWordSpans] = {}
        if not self.watchlists[index].rules:
            return _RuleEvidence(entities, phrases)
        entity_keys, phrase_keys = self._rule_keys[index]
        for mention, (scan, hit) in found:
            if mention.entity in entity_keys:
                _add_hit(entities, (mention.field, mention.entity), scan, hit)
        for scan in scans:
            for hit in scan.phrases:
                if isinstance(hit.target, PhraseTarget) and hit.target.key in phrase_keys:
                    _add_hit(phrases, (scan.field, hit.target.key), scan, hit)
        return _RuleEvidence(entities, phrases)


@dataclass
class _RuleEvidence:
    """The occurrences a watchlist's rules read, as hits (for highlights) and as ``Evidence``
    (word positions, for the rules)."""

    entities: dict[tuple[str, str], _HitWordSpans]
    phrases: dict[tuple[str, str], _HitWordSpans]
    evidence: Evidence = field(init=False)

    def __post_init__(self) -> None:
        self.evidence = Evidence(self.entities, self.phrases)

    def spans(self, supports: Sequence[Support]) -> list[RuleSpan]:
        """The plain-text spans of the occurrences that support a rule (the first
        ``MAX_MENTIONS_PER_ENTITY`` of each term in each field), each with its term."""
        found: dict[RuleSpan, None] = {}
        for support in supports:
            table = self.entities if support.term.kind == "entity" else self.phrases
            occurrences = table.get((support.field, support.term.key))
            if occurrences is None:
                continue
            hits = occurrences.hits
            if support.window is not None:
                first, last = support.window
                hits = [
                    hit
                    for hit, (start, end) in zip(hits, occurrences, strict=True)
                    if first <= start and end <= last
                ]
            term = f"{support.term.kind}:{support.term.key}"
            for hit in hits[:MAX_MENTIONS_PER_ENTITY]:
                found[term, support.field, hit.start, hit.end] = None
        return list(found)


class _HitWordSpans(Collection[WordSpan]):
    """The word spans of some hits in one field, computed when first read: a rule reads
    word positions only under NEAR (finding words is costly); elsewhere it only asks whether
    there are any."""

    def __init__(self, scan: FieldScan) -> None:
        self.scan = scan
        self.hits: list[Hit] = []
        self._spans: list[WordSpan] | None = None

    def _word_spans(self) -> list[WordSpan]:
        if self._spans is None:
            self._spans = [self.scan.word_span(h.norm_start, h.norm_end) for h in self.hits]
        return self._spans

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self) -> Iterator[WordSpan]:
        return iter(self._word_spans())

    def __contains__(self, span: object) -> bool:
        return span in self._word_spans()


# The context rules that judge one occurrence by the words around it; exclude_phrases only
# for an acronym ("chiffrement AES", "GNA reporter" say what the article's AES or GNA is;
# "USS Tripoli" says nothing of the article's other Tripolis).
_NEAR_RULES = frozenset({"exclude_if_near", "exclude_if_followed_by", "exclude_if_preceded_by"})
ONE_SENSE = "one_sense"


def _is_acronym(hit: Hit) -> bool:
    return isinstance(hit.target, NameTarget) and hit.target.case_form is not None


def _one_sense(judged: Sequence[tuple[FieldScan, list[tuple[Hit, Verdict | None]]]]) -> None:
    """One word, one sense through an article: an occurrence of a one-word name that no
    context rule decided (no words around it either way: a bare "Tripoli" in a headline) is
    dropped when an occurrence of the same word, written the same way, in another field was
    dropped for the words around it ("Tripoli" beside "Akkar" in the body) or as part of an
    excluded phrase (a dateline "TRIPOLI, Lebanon", "طرابلس الشام") and no occurrence
    of the entity was kept for them (``keep_if_near``: "Tripoli, Libya") nor, for a name,
    the same word kept in another field (a body naming both Tripolis). Within one field
    each occurrence of a name keeps its own verdict (a Libya story may name Lebanon beside
    one of its Tripolis), while an acronym keeps one sense through the field too ("LNA
    probes ... LNA bases": the locked nucleic acid throughout). Names of several words are
    not ambiguous that way, and another form of a word may be another place (German
    "Tripolis" is Libya's, "Tripoli" Lebanon's). A dateline says where the whole story is
    ("NEW TRIPOLI, Pa. —" over "Residents of New Tripoli": heldout82): an occurrence dropped
    there also drops the occurrences of the same word that no rule decided, in every field.
    Changed in place."""
    dropped: dict[str, list[tuple[str, Hit, str]]] = {}  # entity -> (word, occurrence, field)
    datelines: set[tuple[str, str]] = set()  # (entity, word) dropped in a dateline
    decided: set[str] = set()  # entities with an occurrence kept by the words around it
    kept_in: dict[tuple[str, str], set[str]] = {}  # (entity, word) -> fields it is kept in
    for scan, verdicts in judged:
        for hit, verdict in verdicts:
            if verdict is None:
                continue
            entity = _entity_of(hit)
            word = scan.normalized.text[hit.norm_start : hit.norm_end]
            near = verdict.rule in _NEAR_RULES or verdict.rule == "exclude_phrases"
            if near and not verdict.kept and " " not in word:
                dropped.setdefault(entity, []).append((word, hit, scan.field))
                if _in_dateline(scan.plain, hit):
                    datelines.add((entity, word))
            elif verdict.kept:
                kept_in.setdefault((entity, word), set()).add(scan.field)
                if verdict.cause is not None:  # kept by a word near it (not article-wide)
                    decided.add(entity)
    if not dropped:
        return
    for scan, verdicts in judged:
        for position, (hit, verdict) in enumerate(verdicts):
            if verdict is None or not verdict.kept or verdict.cause is not None:
                continue
            entity = _entity_of(hit)
            if entity in decided or entity not in dropped:
                continue
            word = scan.normalized.text[hit.norm_start : hit.norm_end]
            acronym = _is_acronym(hit)
            dateline = (entity, word) in datelines and not verdict.rule
            if not acronym and not dateline and kept_in.get((entity, word), set()) - {scan.field}:
                continue  # the same word is kept in another field too: no one sense to follow
            for other, cause, where in dropped[entity]:
                if word != other:
                    continue
                if acronym and where == scan.field and _other_brief(scan, hit, cause):
                    continue  # a digest's briefs are stories of their own (heldout83)
                if where != scan.field or acronym or dateline:
                    verdicts[position] = (hit, Verdict(False, ONE_SENSE, (other,), cause))
                    break


def _other_brief(scan: FieldScan, one: Hit, other: Hit) -> bool:
    """Whether two occurrences stand in different briefs of a digest ("Libia – L'Lna di
    Haftar ..." over "Hockey – In LNA l'Ambrì-Piotta ...", a Swiss league)."""
    plain = scan.plain
    return plain.count("\n", 0, one.start) != plain.count("\n", 0, other.start) and is_digest(plain)


# A dateline: the first words of a field, in capitals ("NEW TRIPOLI, Pa. —", "TRIPOLI,
# Lebanon (AP) —").
_DATELINE_AT_MOST = 30


def _in_dateline(plain: str, hit: Hit) -> bool:
    """Whether ``hit`` opens its field as a dateline does: itself in capitals, within the
    first `_DATELINE_AT_MOST` characters, nothing but capitals before it on the first line."""
    before = plain[: hit.start]
    return (
        hit.start <= _DATELINE_AT_MOST
        and "\n" not in before.strip()
        and all(char.isupper() or not char.isalpha() for char in before)
        and plain[hit.start : hit.end].isupper()
    )


def _add_hit(
    table: dict[tuple[str, str], _HitWordSpans], key: tuple[str, str], scan: FieldScan, hit: Hit
) -> None:
    if key not in table:
        table[key] = _HitWordSpans(scan)
    table[key].hits.append(hit)


def _first_per_entity(mentions: Sequence[Mention]) -> tuple[tuple[Mention, ...], bool]:
    """The first ``MAX_MENTIONS_PER_ENTITY`` mentions of each entity in each field, and
    whether any were left out."""
    if len(mentions) <= MAX_MENTIONS_PER_ENTITY:
        return tuple(mentions), False
    counts: Counter[tuple[str, str]] = Counter()
    kept: list[Mention] = []
    for mention in mentions:
        counts[mention.entity, mention.field] += 1
        if counts[mention.entity, mention.field] <= MAX_MENTIONS_PER_ENTITY:
            kept.append(mention)
    return tuple(kept), len(kept) < len(mentions)


def _leftmost_longest(
    hits: Sequence[Hit],
    watchlist: int,
    field: str,
    overlapped: list[tuple[int, str, Hit, Hit]] | None,
) -> list[Hit]:
    """Non-overlapping hits: the leftmost wins, then the longest ("Saddam Haftar" over
    "Haftar", "Khalifa Haftar" over "Haftar"), then a name over a ``not_names`` entry of the
    same span. ``overlapped`` receives each hit left out, with the one that won over it."""
    chosen: list[Hit] = []
    taken_until = -1
    for hit in sorted(hits, key=_overlap_order):
        if hit.norm_start >= taken_until:
            chosen.append(hit)
            taken_until = hit.norm_end
        elif overlapped is not None:
            overlapped.append((watchlist, field, hit, chosen[-1]))
    return chosen


def _overlap_order(hit: Hit) -> tuple[int, int, bool]:
    return hit.norm_start, -hit.norm_end, getattr(hit.target, "negative", False)


def _entity_of(hit: Hit) -> str:
    return hit.target.entity if isinstance(hit.target, NameTarget) else ""


def _mention_order(mention: Mention) -> tuple[int, int, int, str, str]:
    return (
        FIELDS.index(mention.field),
        mention.start,
        mention.end,
        mention.watchlist,
        mention.entity,
    )


class _SpelledOut:
    """The acronyms one article spells out, found when first asked (most articles hold no
    acronym of a watchlist, and need no look)."""

    def __init__(self, scans: Sequence[FieldScan]) -> None:
        self._scans = scans
        self._found: dict[str, tuple[Expansion, ...]] | None = None

    def definitions(self) -> dict[str, tuple[Expansion, ...]]:
        if self._found is None:
            self._found = definitions(scan.plain for scan in self._scans)
        return self._found
