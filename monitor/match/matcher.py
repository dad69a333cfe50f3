"""The matcher: compiles watchlists once, then for each article scans its fields, applies
context rules, resolves overlaps, evaluates boolean rules and builds excerpts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence

from monitor.errors import ConfigError
from monitor.match.context import EntityContext
from monitor.match.excerpts import build_excerpts
from monitor.match.limits import MAX_DETAIL_BYTES, MAX_EXCERPTS, MAX_MENTIONS_PER_ENTITY
from monitor.match.result import (
    FIELDS,
    Excerpt,
    MatchResult,
    Mention,
    WatchlistMatch,
    fit_detail,
)
from monitor.match.rules import Evidence, WordSpan, evaluate_rule, rule_terms
from monitor.match.scan import FieldScan, Hit, NameTarget, PatternIndex, PhraseTarget
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
        scans, article_phrases = self._scan(fields)
        text_cut = any(scan.truncated for scan in scans)
        plain_by_field = {scan.field: scan.plain for scan in scans}
        built: dict[tuple[frozenset[tuple[str, int, int]], int], tuple[Excerpt, ...]] = {}

        def excerpts(mentions: Sequence[Mention], max_chars: int) -> tuple[Excerpt, ...]:
            # Excerpts depend only on the mentioned spans and the length limit: an alert over
            # the same mentions as the whole result (one watchlist) reuses its excerpts.
            key = (frozenset((m.field, m.start, m.end) for m in mentions), max_chars)
            if key not in built:
                built[key] = build_excerpts(plain_by_field, mentions, max_chars)
            return built[key]

        every_mention: list[Mention] = []
        mentions_cut = False
        alerts: list[WatchlistMatch] = []
        for index, watchlist in enumerate(self.watchlists):
            found = self._mentions(index, scans, article_phrases)
            # Rules see every mention; results keep the first ones of each entity and field.
            mentions, cut = _first_per_entity([mention for mention, _ in found])
            mentions_cut |= cut
            every_mention.extend(mentions)
            holding = self._holding_rules(index, scans, found)
            fired_rule = holding[0] if holding else None
            if fired_rule is None and (watchlist.alert == "rules" or not mentions):
                continue
            alert_excerpts = excerpts(mentions, watchlist.excerpt_chars or self.excerpt_chars)
            match = WatchlistMatch(
                watchlist=watchlist.name,
                entities=tuple(sorted({mention.entity for mention in mentions})),
                mentions=mentions,
                excerpts=alert_excerpts[:MAX_EXCERPTS],
                rule=fired_rule,
                rule_expr=next(
                    (rule.expr for rule in watchlist.rules if rule.name == fired_rule), None
                ),
                truncated=text_cut or cut or len(alert_excerpts) > MAX_EXCERPTS,
            )
            alerts.append(fit_detail(match, MAX_DETAIL_BYTES))
        every_mention.sort(key=_mention_order)
        all_excerpts = excerpts(every_mention, self.excerpt_chars)
        return MatchResult(
            mentions=tuple(every_mention),
            excerpts=all_excerpts[:MAX_EXCERPTS],
            alerts=tuple(alerts),
            truncated=text_cut or mentions_cut or len(all_excerpts) > MAX_EXCERPTS,
        )

    def rules_holding(self, fields: Mapping[str, str | None]) -> dict[str, tuple[str, ...]]:
        """For each watchlist name, every rule that holds on the article (not only the first,
        which is the one an alert names): for tuning and ``check_examples``."""
        scans, article_phrases = self._scan(fields)
        return {
            watchlist.name: tuple(
                self._holding_rules(index, scans, self._mentions(index, scans, article_phrases))
            )
            for index, watchlist in enumerate(self.watchlists)
        }

    def _scan(self, fields: Mapping[str, str | None]) -> tuple[list[FieldScan], frozenset[str]]:
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown article fields {unknown}: use {', '.join(FIELDS)}")
        scans = [self._index.scan(name, fields.get(name) or "") for name in FIELDS]
        article_phrases = frozenset(
            hit.target.key
            for scan in scans
            for hit in scan.phrases
            if isinstance(hit.target, PhraseTarget)
        )
        return scans, article_phrases

    def _mentions(
        self, index: int, scans: Sequence[FieldScan], article_phrases: frozenset[str]
    ) -> list[tuple[Mention, tuple[FieldScan, Hit]]]:
        """Surviving mentions of one watchlist, in field order, each with where it was found."""
        watchlist_name = self.watchlists[index].name
        contexts = self._contexts[index]
        found: list[tuple[Mention, tuple[FieldScan, Hit]]] = []
        for scan in scans:
            kept: list[Hit] = []
            for hit in scan.names:
                target = hit.target
                if (
                    isinstance(target, NameTarget)
                    and target.watchlist == index
                    and contexts[target.entity].keeps(hit, scan, article_phrases)
                ):
                    kept.append(hit)
            for hit in _leftmost_longest(kept):
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

    def _holding_rules(
        self,
        index: int,
        scans: Sequence[FieldScan],
        found: Sequence[tuple[Mention, tuple[FieldScan, Hit]]],
    ) -> list[str]:
        """The names of the rules that hold, in watchlist order."""
        watchlist = self.watchlists[index]
        if not watchlist.rules:
            return []
        # Evidence holds only what the rules look up: other entities and phrases would cost
        # word positions and change nothing.
        entity_keys, phrase_keys = self._rule_keys[index]
        entities: dict[tuple[str, str], _HitWordSpans] = {}
        for mention, (scan, hit) in found:
            if mention.entity in entity_keys:
                _add_hit(entities, (mention.field, mention.entity), scan, hit)
        phrases: dict[tuple[str, str], _HitWordSpans] = {}
        for scan in scans:
            for hit in scan.phrases:
                if isinstance(hit.target, PhraseTarget) and hit.target.key in phrase_keys:
                    _add_hit(phrases, (scan.field, hit.target.key), scan, hit)
        evidence = Evidence(entities, phrases)
        return [rule.name for rule in watchlist.rules if evaluate_rule(rule.tree, evidence)]


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


def _leftmost_longest(hits: Sequence[Hit]) -> list[Hit]:
    """Non-overlapping hits: the leftmost wins, then the longest ("Saddam Haftar" over
    "Haftar", "Khalifa Haftar" over "Haftar")."""
    chosen: list[Hit] = []
    taken_until = -1
    for hit in sorted(hits, key=lambda h: (h.norm_start, -h.norm_end)):
        if hit.norm_start >= taken_until:
            chosen.append(hit)
            taken_until = hit.norm_end
    return chosen


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
