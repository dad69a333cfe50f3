"""Why an article matched or not, as a typed record: every name found and what kept or dropped
it, every rule's value and terms, every watchlist's alert (built from ``Matcher``'s trace)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from monitor.match.context import OTHER_BRIEFS
from monitor.match.limits import MAX_DETAIL_BYTES, MAX_MENTIONS_PER_ENTITY, MIN_DETAIL_BYTES
from monitor.match.names import phrase_key
from monitor.match.result import FIELDS, JsonObject, MatchResult, WatchlistMatch
from monitor.match.rules import Evidence, Not, RuleNode, Scope, Term, word_distance
from monitor.match.scan import FieldScan, Hit, NameTarget, Rejection
from monitor.match.watchlist import Entity, Proximity, Watchlist
from monitor.text import is_word_char

if TYPE_CHECKING:
    from monitor.match.context import Verdict
    from monitor.match.trace import MatchTrace

__all__ = [
    "Candidate",
    "Explanation",
    "RuleValue",
    "TermValue",
    "WatchlistDecision",
    "explain_trace",
]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A name of a watchlist entity found in a field (``text == plain[start:end]``), kept or
    not. ``decided_by`` names what decided: "" (nothing: kept), a context rule key
    (``exclude_if_near``, ``keep_if_near``, ...), ``overlap``, ``cap``, or, for a name that
    is no mention, ``inside_word``, ``acronym_case``, ``arabizi``, ``lower_case`` or
    ``arabic_prefix``."""

    watchlist: str
    entity: str
    field: str
    start: int
    end: int
    text: str
    kept: bool
    decided_by: str
    reason: str

    def to_json(self) -> JsonObject:
        return {
            "watchlist": self.watchlist,
            "entity": self.entity,
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "kept": self.kept,
            "decided_by": self.decided_by,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class TermValue:
    """One term of a rule: where it occurs (surviving mentions for an entity id)."""

    term: str
    kind: Literal["entity", "phrase"]
    negated: bool  # under an odd number of NOTs: occurring works against the rule
    found_in: tuple[str, ...]
    occurrences: int

    def to_json(self) -> JsonObject:
        return {
            "term": self.term,
            "kind": self.kind,
            "negated": self.negated,
            "found_in": list(self.found_in),
            "occurrences": self.occurrences,
        }


@dataclass(frozen=True, slots=True)
class RuleValue:
    """A boolean rule of a watchlist and its value on the article; ``fired``: the alert
    names it (the first rule that holds)."""

    watchlist: str
    rule: str
    expr: str
    holds: bool
    fired: bool
    terms: tuple[TermValue, ...]

    def to_json(self) -> JsonObject:
        return {
            "watchlist": self.watchlist,
            "rule": self.rule,
            "expr": self.expr,
            "holds": self.holds,
            "fired": self.fired,
            "terms": [term.to_json() for term in self.terms],
        }


@dataclass(frozen=True, slots=True)
class WatchlistDecision:
    """Whether a watchlist alerts on the article and why; ``alert`` is the match an alert
    would carry (``WatchlistMatch.to_json()`` is the webhook's match part)."""

    watchlist: str
    alert_mode: str
    alerts: bool
    reason: str
    alert: WatchlistMatch | None

    def to_json(self) -> JsonObject:
        return {
            "watchlist": self.watchlist,
            "alert_mode": self.alert_mode,
            "alerts": self.alerts,
            "reason": self.reason,
            "alert": self.alert.to_json() if self.alert is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything the matcher decided about one article; ``result`` is ``Matcher.match``'s."""

    candidates: tuple[Candidate, ...]
    rules: tuple[RuleValue, ...]
    decisions: tuple[WatchlistDecision, ...]
    truncated_fields: tuple[str, ...]
    result: MatchResult

    def to_json(self) -> JsonObject:
        return {
            "candidates": [candidate.to_json() for candidate in self.candidates],
            "rules": [rule.to_json() for rule in self.rules],
            "watchlists": [decision.to_json() for decision in self.decisions],
            "truncated_fields": list(self.truncated_fields),
            "truncated": self.result.truncated,
        }


def explain_trace(
    watchlists: Sequence[Watchlist], trace: MatchTrace, result: MatchResult
) -> Explanation:
    """The explanation of one ``Matcher`` run from what it recorded and returned."""
    scans = {scan.field: scan for scan in trace.scans}
    alerts = {alert.watchlist: alert for alert in result.alerts}
    candidates: list[Candidate] = []
    rules: list[RuleValue] = []
    decisions: list[WatchlistDecision] = []
    for index, watchlist in enumerate(watchlists):
        alert = alerts.get(watchlist.name)
        candidates.extend(_candidates(index, watchlist, trace, scans, result, alert))
        holding = trace.holding.get(index, ())
        evidence = trace.evidence.get(index, Evidence({}, {}))
        for rule in watchlist.rules:
            rules.append(
                RuleValue(
                    watchlist=watchlist.name,
                    rule=rule.name,
                    expr=rule.expr,
                    holds=rule.name in holding,
                    fired=alert is not None and alert.rule == rule.name,
                    terms=_term_values(rule.tree, evidence),
                )
            )
        decisions.append(_decision(watchlist, alert, result))
    return Explanation(
        candidates=tuple(candidates),
        rules=tuple(rules),
        decisions=tuple(decisions),
        truncated_fields=tuple(scan.field for scan in trace.scans if scan.truncated),
        result=result,
    )


def _candidates(
    index: int,
    watchlist: Watchlist,
    trace: MatchTrace,
    scans: dict[str, FieldScan],
    result: MatchResult,
    alert: WatchlistMatch | None,
) -> list[Candidate]:
    entities = {entity.id: entity for entity in watchlist.entities}
    listed = {
        (m.entity, m.field, m.start, m.end)
        for m in result.mentions
        if m.watchlist == watchlist.name
    }
    in_alert = (
        {(m.entity, m.field, m.start, m.end) for m in alert.mentions} if alert is not None else None
    )
    lost = {(field, id(hit)): winner for i, field, hit, winner in trace.overlapped if i == index}
    found: list[Candidate] = []
    accepted: set[tuple[str, str, int, int]] = set()
    for i, field, hit, verdict in trace.verdicts:
        if i != index:
            continue
        scan = scans[field]
        entity = entities[_entity_of(hit)]
        accepted.add((entity.id, field, hit.start, hit.end))
        winner = lost.get((field, id(hit)))
        if not verdict.kept:
            kept, decided_by, reason = False, verdict.rule, _dropped(entity, verdict, hit, scan)
        elif winner is not None:
            kept, decided_by, reason = False, "overlap", _overlapped(hit, winner, scan)
        else:
            key = (entity.id, field, hit.start, hit.end)
            kept, decided_by, reason = True, verdict.rule, _kept(entity, verdict, hit, scan, scans)
            if key not in listed:
                decided_by = "cap"
                reason = (
                    f"kept for the rules but not listed: only the first "
                    f"{MAX_MENTIONS_PER_ENTITY} mentions of an entity in a field are (cap reached)"
                )
            elif in_alert is not None and key not in in_alert:
                decided_by = "cap"
                reason = (
                    "kept but left out of the alert, whose JSON is cut to twice the "
                    f"article's text ({MIN_DETAIL_BYTES:,} to {MAX_DETAIL_BYTES:,} bytes) "
                    "(cap reached)"
                )
        found.append(_candidate(watchlist, entity, field, hit, scan, kept, decided_by, reason))
    seen: set[tuple[str, str, int, int]] = set()
    for scan in trace.scans:
        for rejection in scan.rejected:
            target = rejection.target
            key = (target.entity, scan.field, rejection.start, rejection.end)
            if target.watchlist != index or key in accepted or key in seen:
                continue
            seen.add(key)
            found.append(
                Candidate(
                    watchlist=watchlist.name,
                    entity=target.entity,
                    field=scan.field,
                    start=rejection.start,
                    end=rejection.end,
                    text=scan.plain[rejection.start : rejection.end],
                    kept=False,
                    decided_by=rejection.reason,
                    reason=_rejected(rejection, scan.plain),
                )
            )
    found.sort(key=lambda c: (FIELDS.index(c.field), c.start, c.end, c.entity))
    return found


def _candidate(
    watchlist: Watchlist,
    entity: Entity,
    field: str,
    hit: Hit,
    scan: FieldScan,
    kept: bool,
    decided_by: str,
    reason: str,
) -> Candidate:
    return Candidate(
        watchlist=watchlist.name,
        entity=entity.id,
        field=field,
        start=hit.start,
        end=hit.end,
        text=scan.plain[hit.start : hit.end],
        kept=kept,
        decided_by=decided_by,
        reason=reason,
    )


def _entity_of(hit: Hit) -> str:
    return hit.target.entity if isinstance(hit.target, NameTarget) else ""


def _where(hit: Hit, scan: FieldScan) -> str:
    return f"{scan.plain[hit.start : hit.end]!r} ({scan.field} {hit.start}-{hit.end})"


def _distance(hit: Hit, other: Hit, scan: FieldScan) -> int:
    return word_distance(
        scan.word_span(hit.norm_start, hit.norm_end),
        scan.word_span(other.norm_start, other.norm_end),
    )


def _words(words: Sequence[str], keys: Sequence[str] = ()) -> str:
    """The words of a rule (those whose keys are given, when some are), quoted, at most 6."""
    chosen = [word for word in words if not keys or phrase_key(word) in keys] or list(keys)
    shown = ", ".join(repr(word) for word in chosen[:6])
    return shown + (f" and {len(chosen) - 6} more" if len(chosen) > 6 else "")


def _proximity(entity: Entity, rule: str) -> Proximity:
    proximity = getattr(entity, rule)
    assert isinstance(proximity, Proximity)
    return proximity


def _kept(
    entity: Entity, verdict: Verdict, hit: Hit, scan: FieldScan, scans: Mapping[str, FieldScan]
) -> str:
    if verdict.rule == "keep_if_near" and verdict.cause is not None:
        within = _proximity(entity, "keep_if_near").within
        away = _distance(hit, verdict.cause, scan)
        return (
            f"kept by keep_if_near of {entity.id}: {_where(verdict.cause, scan)} is {away} "
            f"word(s) away (within {within}), so no exclusion applies"
        )
    if verdict.rule == "unless_in_article" and verdict.cause is not None:
        phrases = [
            phrase
            for rule in ("exclude_if_near", "exclude_if_followed_by", "exclude_if_preceded_by")
            if (proximity := getattr(entity, rule)) is not None
            for phrase in proximity.unless_in_article
        ]
        return (
            f"kept: {_where(verdict.cause, scan)} would drop it, but the article has "
            f"{_words(phrases, verdict.phrases)} (the exclusion's unless_in_article: the "
            "article says which sense it means)"
        )
    if verdict.rule == OTHER_BRIEFS:
        return (
            f"kept: the article has {_words(entity.exclude_if_in_article, verdict.phrases)} "
            f"(exclude_if_in_article of {entity.id}), but only in other briefs of this digest, "
            "which speak of other things"
        )
    if verdict.rule == "unless_in_article":
        return (
            f"kept: the article has {_words(entity.exclude_if_in_article, verdict.phrases)} "
            f"(exclude_if_in_article of {entity.id}), but also "
            f"{_words(entity.unless_in_article, verdict.phrases)} (its unless_in_article), "
            "so that exclusion does not apply"
        )
    condition = _condition_met(entity, hit, scans)
    if condition is not None:
        return f"kept: {condition}; no context rule of the entity drops it"
    return "kept: no context rule of the entity drops it"


def _condition_met(entity: Entity, hit: Hit, scans: Mapping[str, FieldScan]) -> str | None:
    """For a conditional name or acronym kept: which of its words the article has (an
    outside probe's watchlist met its condition with the name itself, and explain said
    only that no rule dropped it)."""
    target = hit.target
    if not isinstance(target, NameTarget):
        return None
    if target.conditional_name and entity.conditional_names is not None:
        rule, words = "conditional_names", entity.conditional_names.if_in_article
    elif target.conditional and entity.conditional_acronyms is not None:
        rule, words = "conditional_acronyms", entity.conditional_acronyms.if_in_article
    else:
        return None
    present = {key for each in scans.values() for key in each.phrases_by_key}
    first_of_key: dict[str, str] = {}  # "Libia", "libia" and "Líbia" are one word
    for word in words:
        key = phrase_key(word)
        if key in present:
            first_of_key.setdefault(key, word)
    return f"the article has {_words(list(first_of_key.values()))} ({rule} of {entity.id})"


def _dropped(entity: Entity, verdict: Verdict, hit: Hit, scan: FieldScan) -> str:
    rule = verdict.rule
    head = f"dropped by {rule} of {entity.id}"
    if rule == "conditional_acronyms" and entity.conditional_acronyms is not None:
        words = _words(entity.conditional_acronyms.if_in_article)
        return f"{head}: the article has none of its if_in_article words ({words})"
    if rule == "conditional_names" and entity.conditional_names is not None:
        words = _words(entity.conditional_names.if_in_article)
        return f"{head}: the article has none of its if_in_article words ({words})"
    if rule == "ambiguous_names" and entity.ambiguous_names is not None:
        names = entity.ambiguous_names
        found = _words(names.exclude_if_in_article, verdict.phrases)
        unless = (
            f" and none of {_words(names.unless_in_article)}" if names.unless_in_article else ""
        )
        return f"{head}: the name is ambiguous and the article has {found}{unless}"
    if rule == "namesakes" and entity.namesakes is not None:
        found = _words(entity.namesakes.full_names, verdict.phrases)
        unless = _words(entity.namesakes.unless_in_article)
        return (
            f"{head}: the article names {found}, someone else of the name, and none of "
            f"unless_in_article ({unless}): the bare surname is theirs"
        )
    if rule == "one_case_acronyms":
        words = _words(entity.one_case_acronyms)
        return (
            f"{head}: the field is written in one case, so the acronym's case tells nothing, "
            f"and the article has none of {words}"
        )
    if rule in ("exclude_if_followed_by", "exclude_if_preceded_by") and verdict.cause:
        within = _proximity(entity, rule).within
        away = _distance(hit, verdict.cause, scan)
        side = "after" if rule == "exclude_if_followed_by" else "before"
        return (
            f"{head}: {_where(verdict.cause, scan)} is {away} word(s) {side} it (within {within})"
        )
    if rule == "exclude_phrases":
        (key,) = verdict.phrases
        overlapping = [
            other
            for other in scan.phrases_by_key.get(key, ())
            if other.norm_start < hit.norm_end and hit.norm_start < other.norm_end
        ]
        shown = _where(overlapping[0], scan) if overlapping else repr(key)
        return f"{head}: {shown} overlaps it"
    if rule == "exclude_if_in_article":
        found = _words(entity.exclude_if_in_article, verdict.phrases)
        lifting = [w for w in entity.unless_in_article if phrase_key(w) in verdict.phrases]
        if lifting:  # a digest's other briefs have them (`context._in_other_briefs`)
            return (
                f"{head}: the article has {found}; its unless_in_article words "
                f"({_words(lifting)}) stand only in other briefs of this digest"
            )
        unless = (
            f" and none of unless_in_article ({_words(entity.unless_in_article)})"
            if entity.unless_in_article
            else ""
        )
        return f"{head}: the article has {found}{unless}"
    if rule == "defined_otherwise":
        return (
            f"{head}: the article spells the acronym out as {verdict.phrases[0]!r}, which is "
            f"not {entity.id}"
        )
    if rule == "require_in_article":
        return f"{head}: the article has none of {_words(entity.require_in_article)}"
    if rule == "exclude_if_near" and verdict.cause is not None:
        within = _proximity(entity, rule).within
        away = _distance(hit, verdict.cause, scan)
        return f"{head}: {_where(verdict.cause, scan)} is {away} word(s) away (within {within})"
    if rule == "one_sense":
        return (
            f"{head}: no words around it tell, and the same word {verdict.phrases[0]!r} is "
            "dropped elsewhere in the article for the words around it (one word, one sense)"
        )
    if rule == "require_near":
        proximity = _proximity(entity, rule)
        return f"{head}: none of {_words(proximity.words)} within {proximity.within} word(s)"
    return head


def _overlapped(hit: Hit, winner: Hit, scan: FieldScan) -> str:
    entity = _entity_of(winner)
    inside = winner.norm_start <= hit.norm_start and hit.norm_end <= winner.norm_end
    same = (winner.norm_start, winner.norm_end) == (hit.norm_start, hit.norm_end)
    kind = "the same" if same else "a longer" if inside else "an earlier"
    if isinstance(winner.target, NameTarget) and winner.target.negative:
        return (
            f"overlapped by {kind} not_names entry of entity {entity} (someone or something "
            f"else): {_where(winner, scan)}"
        )
    return f"overlapped by {kind} name of entity {entity}: {_where(winner, scan)}"


def _rejected(rejection: Rejection, plain: str) -> str:
    start, end = rejection.start, rejection.end
    text = plain[start:end]
    if rejection.reason == "inside_word":
        while start > 0 and is_word_char(plain[start - 1]):
            start -= 1
        while end < len(plain) and is_word_char(plain[end]):
            end += 1
        return f"not a mention: {text!r} is part of the longer word {plain[start:end]!r}"
    if rejection.reason == "acronym_case":
        return (
            f"not a mention: the acronym {rejection.target.case_form!r} is case-sensitive "
            f"and the text has {text!r}"
        )
    if rejection.reason == "lower_case":
        return (
            f"not a mention: {text!r} is written in lower case and the entity is a proper noun "
            "(proper_noun); the field has capitals, so this is a common word"
        )
    if rejection.reason == "arabizi":
        return (
            f"not a mention: {text!r} is not written in capitals, in a field of Arabic written "
            'in Latin letters and digits (Arabizi), where such letters are a word ("lna": to us)'
        )
    if rejection.reason == "in_link":
        return f"not a mention: {text!r} is part of a web or e-mail address written in the text"
    return f"not a mention: the letters joined before {text!r} are no Arabic prefix it accepts"


def _term_values(tree: RuleNode, evidence: Evidence) -> tuple[TermValue, ...]:
    values: dict[tuple[str, str, bool], TermValue] = {}
    for term, negated in _terms(tree, negated=False):
        fields = tuple(field for field in FIELDS if evidence.spans(term, field))
        occurrences = sum(len(evidence.spans(term, field)) for field in FIELDS)
        key = (term.kind, term.key, negated)
        values.setdefault(key, TermValue(term.value, term.kind, negated, fields, occurrences))
    return tuple(values.values())


def _terms(node: RuleNode, *, negated: bool) -> list[tuple[Term, bool]]:
    if isinstance(node, Term):
        return [(node, negated)]
    if isinstance(node, Not):
        return _terms(node.operand, negated=not negated)
    if isinstance(node, Scope):
        return _terms(node.operand, negated=negated)
    return _terms(node.left, negated=negated) + _terms(node.right, negated=negated)


def _decision(
    watchlist: Watchlist, alert: WatchlistMatch | None, result: MatchResult
) -> WatchlistDecision:
    mentions = [m for m in result.mentions if m.watchlist == watchlist.name]
    entities = sorted({m.entity for m in mentions})
    found = f"{len(mentions)} mention(s) of {', '.join(entities)}" if mentions else "no mention"
    if alert is not None and alert.rule is not None:
        reason = f"rule {alert.rule!r} holds ({found})"
    elif alert is not None:
        reason = f"{found} (alert: any); no rule holds"
    elif watchlist.alert == "rules":
        reason = f"alert: rules, and no rule holds ({found})"
    else:
        reason = "no mention survived and no rule holds"
    return WatchlistDecision(
        watchlist=watchlist.name,
        alert_mode=watchlist.alert,
        alerts=alert is not None,
        reason=reason,
        alert=alert,
    )
