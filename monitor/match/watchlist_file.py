"""Watchlist files: the YAML format, its validation (every problem named with file, field and
fix), and building the ``Watchlist`` value (monitor.match.watchlist) from it."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from monitor.errors import ConfigError
from monitor.match.names import acronym_form, has_word_char, phrase_key
from monitor.match.result import FIELDS
from monitor.match.rules import Evidence, RuleSyntaxError, evaluate_rule, parse_rule
from monitor.match.watchlist import (
    MIN_EXCERPT_CHARS,
    AmbiguousNames,
    ConditionalAcronyms,
    ConditionalNames,
    DerivedForms,
    Entity,
    Example,
    Examples,
    Namesakes,
    Proximity,
    Rule,
    Watchlist,
    same_script,
)
from monitor.yamllines import (
    FAST_COMPOSER,
    FAST_STRICT_LOADER,
    RefusedYaml,
    StrictKeysLoader,
    check_nesting,
    line_of,
    location_of,
    without_own_keys,
)

__all__ = ["load_watchlist", "parse_watchlist", "watchlist_report"]

_ENTITY_ID = re.compile(r"[a-z][a-z0-9_]*")


# --- the YAML schema (pydantic at the config edge) -------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _flatten_lists(cls, value: object) -> object:
        # A list may hold other lists, so that a list named with a YAML anchor can be reused
        # and extended: `if_in_article: [*libya_words, ENL]`.
        if isinstance(value, list) and any(isinstance(item, list) for item in value):
            return [x for item in value for x in (item if isinstance(item, list) else [item])]
        return value


class _ProximityModel(_Strict):
    words: list[str] = Field(min_length=1)
    within: int = Field(ge=1, le=1000)
    unless_in_article: list[str] = Field(default_factory=list)


class _ExampleModel(_Strict):
    title: str | None = None
    summary: str | None = None
    content: str | None = None


class _ExamplesModel(_Strict):
    match: list[_ExampleModel] = Field(default_factory=list)
    no_match: list[_ExampleModel] = Field(default_factory=list)

    @field_validator("match", "no_match", mode="before")
    @classmethod
    def _text_is_content(cls, value: object) -> object:
        # A bare string is the article content; a mapping may set title/summary/content.
        if isinstance(value, list):
            return [{"content": item} if isinstance(item, str) else item for item in value]
        return value


class _ConditionalAcronymsModel(_Strict):
    acronyms: list[str] = Field(min_length=1)
    if_in_article: list[str] = Field(min_length=1)


class _ConditionalNamesModel(_Strict):
    names: list[str] = Field(min_length=1)
    if_in_article: list[str] = Field(min_length=1)


class _AmbiguousNamesModel(_Strict):
    names: list[str] = Field(min_length=1)
    exclude_if_in_article: list[str] = Field(min_length=1)
    unless_in_article: list[str] = Field(default_factory=list)


class _DerivedFormsModel(_Strict):
    stems: list[str] = Field(min_length=1)
    suffixes: dict[str, list[str]] = Field(min_length=1)
    prefixes: dict[str, list[str]] = Field(default_factory=dict)


class _NamesakesModel(_Strict):
    given_names: list[str] = Field(min_length=1)
    surnames: list[str] = Field(min_length=1)
    unless_in_article: list[str] = Field(default_factory=list)


class _OneCaseModel(_Strict):
    if_in_article: list[str] = Field(min_length=1)


class _EntityModel(_Strict):
    id: str
    kind: Literal["person", "organization", "place", "group", "event", "topic", "other"] = "other"
    description: str = ""
    names: list[str] = Field(default_factory=list)
    acronyms: list[str] = Field(default_factory=list)
    conditional_acronyms: _ConditionalAcronymsModel | None = None
    exclude_phrases: list[str] = Field(default_factory=list)
    keep_if_near: _ProximityModel | None = None
    exclude_if_near: _ProximityModel | None = None
    exclude_if_in_article: list[str] = Field(default_factory=list)
    unless_in_article: list[str] = Field(default_factory=list)
    require_near: _ProximityModel | None = None
    require_in_article: list[str] = Field(default_factory=list)
    not_names: list[str] = Field(default_factory=list)
    namesakes: _NamesakesModel | None = None
    derived_forms: _DerivedFormsModel | None = None
    conditional_names: _ConditionalNamesModel | None = None
    ambiguous_names: _AmbiguousNamesModel | None = None
    exclude_if_followed_by: _ProximityModel | None = None
    exclude_if_preceded_by: _ProximityModel | None = None
    proper_noun: bool = False
    one_case_acronyms: _OneCaseModel | None = None
    examples: _ExamplesModel = Field(default_factory=_ExamplesModel)


class _RuleModel(_Strict):
    name: str = Field(min_length=1)
    expr: str
    description: str = ""
    examples: _ExamplesModel = Field(default_factory=_ExamplesModel)


class _WatchlistModel(_Strict):
    name: str | None = Field(default=None, min_length=1)
    description: str = ""
    alert: Literal["any", "rules"] = "any"
    excerpt_chars: int | None = Field(default=None, ge=MIN_EXCERPT_CHARS)
    entities: list[_EntityModel] = Field(min_length=1)
    rules: list[_RuleModel] = Field(default_factory=list)
    abbreviations: dict[str, list[str]] = Field(default_factory=dict)
    optional_words: list[str] = Field(default_factory=list)


# Allowed keys by the name of the mapping that holds them (for "unknown key" messages).
_KEYS_BY_PARENT: Mapping[str, tuple[str, ...]] = {
    "": tuple(_WatchlistModel.model_fields),
    "entities": tuple(_EntityModel.model_fields),
    "rules": tuple(_RuleModel.model_fields),
    "keep_if_near": tuple(_ProximityModel.model_fields),
    "conditional_acronyms": tuple(_ConditionalAcronymsModel.model_fields),
    "conditional_names": tuple(_ConditionalNamesModel.model_fields),
    "ambiguous_names": tuple(_AmbiguousNamesModel.model_fields),
    "derived_forms": tuple(_DerivedFormsModel.model_fields),
    "one_case_acronyms": tuple(_OneCaseModel.model_fields),
    "namesakes": tuple(_NamesakesModel.model_fields),
    "exclude_if_near": tuple(_ProximityModel.model_fields),
    "exclude_if_followed_by": tuple(_ProximityModel.model_fields),
    "exclude_if_preceded_by": tuple(_ProximityModel.model_fields),
    "require_near": tuple(_ProximityModel.model_fields),
    "examples": tuple(_ExamplesModel.model_fields),
    "match": tuple(_ExampleModel.model_fields),
    "no_match": tuple(_ExampleModel.model_fields),
}


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "(top level)"


def _describe_error(error: ErrorDetails) -> str:
    location = tuple(error["loc"])
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        parents = [part for part in location[:-1] if isinstance(part, str)]
        allowed = _KEYS_BY_PARENT.get(parents[-1] if parents else "", ())
        close = difflib.get_close_matches(str(location[-1]), allowed, n=1, cutoff=0.6)
        if close:
            return f"unknown key {location[-1]!r}: did you mean {close[0]!r}?"
        return (
            f"unknown key {location[-1]!r}: remove it or fix the spelling "
            f"(allowed here: {', '.join(allowed)})"
        )
    if kind == "missing":
        return f"required key is missing: add `{location[-1]}:`"
    if kind == "string_type":
        return f"must be text, got {given!r}: write it as a quoted string"
    if kind == "list_type":
        return f"must be a list, got {given!r}: write [a, b] or one '- item' per line"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, got {given!r}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number, got {given!r}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        keys = _KEYS_BY_PARENT.get(str(location[-1]) if location else "", ())
        shape = (
            " (" + ", ".join(f"{key}: ..." for key in keys) + ")"
            if keys and not isinstance(location[-1], int)
            else ""
        )
        return f"must be a mapping (key: value lines){shape}, got {given!r}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        choices = [c.strip(" '") for c in str(expected).replace(" or ", ",").split(",")]
        close = difflib.get_close_matches(str(given), choices, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{given!r} is not allowed: use {expected}{hint}"
    ctx = error.get("ctx", {})
    if kind in ("greater_than_equal", "less_than_equal"):
        word, bound = (
            ("at least", ctx.get("ge")) if "greater" in kind else ("at most", ctx.get("le"))
        )
        return f"must be {word} {bound}, got {given!r}"
    if kind == "too_short":
        return f"must not be empty: list at least {ctx.get('min_length', 1)} item(s)"
    return f"{error['msg']} (got {given!r})"


# The YAML loaders (a key written twice is an error), shared with the config file.
_StrictKeysLoader = StrictKeysLoader
_FAST_LOADER = FAST_STRICT_LOADER
_FAST_COMPOSER = FAST_COMPOSER


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read watchlist file ({exc.strerror or exc}): check the path"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason}): save it as UTF-8") from exc


def _read_yaml(path: Path, text: str) -> object:
    try:
        data = yaml.load(text, Loader=_FAST_LOADER)  # safe loaders: no object tags
        check_nesting(path, data)
        return data
    except yaml.YAMLError as fast_error:
        # libyaml's messages are terser ("found undefined alias", without its name): read
        # the file again with the pure-Python parser and report what it says.
        error = fast_error
    try:
        yaml.load(text, Loader=_StrictKeysLoader)
    except yaml.YAMLError as exc:
        error = exc
    except RecursionError:  # nested deeper than the pure-Python parser goes: libyaml's
        pass
    mark = getattr(error, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(error, "problem", None) or str(error)
    if isinstance(error, RefusedYaml):  # a key twice, aliases expanding too far
        raise ConfigError(f"{path}: {where}{problem}") from error
    raise ConfigError(f"{path}: {where}invalid YAML ({problem}): fix the syntax") from error


def load_watchlist(path: Path) -> Watchlist:
    """Read and validate a watchlist file; raises ConfigError listing every problem, each
    with the line to fix."""
    text = _read_text(path)
    try:
        return parse_watchlist(_read_yaml(path, text), path)
    except ConfigError as error:
        raise ConfigError(_with_lines(error.problems, path, text)) from None


def watchlist_report(path: Path) -> tuple[Watchlist | None, list[str]]:
    """Every problem of a watchlist file in one pass, and the watchlist made of its valid
    entities and rules (None when nothing is usable), so that ``monitor check`` can also run
    the examples of the valid parts: one run reports everything there is to fix."""
    try:
        text = _read_text(path)
        data = _read_yaml(path, text)
    except ConfigError as error:
        return None, error.problems
    try:
        return parse_watchlist(data, path), []
    except ConfigError as error:
        partial = _partial(data, path) if isinstance(data, dict) else None
        return partial, _with_lines(error.problems, path, text)


def with_lines(problems: list[str], path: Path) -> list[str]:
    """Messages about ``path`` written ``file: field: ...`` made ``file:line: field: ...``
    (examples that fail, warnings found after loading); as they are if it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return problems
    return _with_lines(problems, path, text)


_FIELD = re.compile(r"[A-Za-z_][\w.\[\]-]*")


def _with_lines(problems: list[str], path: Path, text: str) -> list[str]:
    """``file: field: ...`` made ``file:line: field: ...`` (the form of config errors)."""
    prefix = f"{path}: "
    try:
        node = yaml.compose(text, Loader=_FAST_COMPOSER)
    except yaml.YAMLError:
        return problems
    lined = []
    for problem in problems:
        field, _, rest = problem.removeprefix(prefix).partition(": ")
        line = None
        if problem.startswith(prefix) and rest and _FIELD.fullmatch(field):
            line = line_of(node, location_of(field))
        lined.append(f"{path}:{line}: {field}: {rest}" if line else problem)
    return lined


def parse_watchlist(data: object, path: Path) -> Watchlist:
    """Validate already-loaded YAML data; ``path`` names the file in messages and gives the
    default watchlist name (its stem)."""
    if data is None:
        raise ConfigError(
            f"{path}: the watchlist is empty: add `entities:` with at least one entity"
        )
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: (top level): must be a mapping with `entities:`, got {type(data).__name__}"
        )
    data = without_own_keys(data)  # "x-" keys hold anchors, as in the config file
    try:
        model = _WatchlistModel.model_validate(data)
    except ValidationError as exc:
        found = [
            f"{path}: {_field_path(tuple(e['loc']))}: {_describe_error(e)}" for e in exc.errors()
        ]
        # The parts that are valid on their own are checked too, so that fixing these
        # problems does not reveal a second batch; so are the invalid entities without
        # their invalid keys (an upper-case id beside a misspelled key).
        valid_entities, valid_rules = _valid_parts(data)
        _build_parts(valid_entities, valid_rules, path, _raw_entity_ids(data), found)
        raw_abbreviations = data.get("abbreviations")
        if isinstance(raw_abbreviations, dict):  # its keys' problems now, not at the next run
            found += _abbreviation_problems(raw_abbreviations, path)
        repaired = _entities_without_bad_keys(data, exc)
        for index, entity, removed in repaired:
            more: list[str] = []
            _build_entity(entity, index, path, more)
            # Not again what the left-out keys were already blamed for.
            blamed = re.compile(rf"\[{index}\]\.(?:{'|'.join(map(re.escape, removed))})\b")
            found += [problem for problem in more if not blamed.search(problem)]
        # Ids and names shared between a valid entity and a repaired one.
        every = sorted([*valid_entities, *((i, e) for i, e, _ in repaired)], key=lambda p: p[0])
        shared: list[str] = []
        _check_unique_ids(every, path, shared)
        _check_shared_names(every, path, shared)
        found += [problem for problem in shared if problem not in found]
        raise ConfigError(found) from None
    problems: list[str] = []
    entities, rules = _build_parts(
        list(enumerate(model.entities)),
        list(enumerate(model.rules)),
        path,
        [entity.id for entity in model.entities],
        problems,
    )
    if model.alert == "rules" and not model.rules:
        problems.append(f"{path}: alert: 'rules' needs at least one rule under `rules:`")
    problems += _abbreviation_problems(model.abbreviations, path)
    # The words as `name_variants` sees them: of each name's key ("al-Sarraj" is two).
    name_words = {
        word
        for entity in model.entities
        for name in [*entity.names, *entity.acronyms]
        for word in phrase_key(name).split(" ")
    }
    for word in model.abbreviations:
        if " " not in word.strip() and phrase_key(word) not in name_words:
            problems.append(
                f"{path}: abbreviations.{word}: {word!r} is a word of no name of this "
                "watchlist, so it abbreviates nothing: fix its spelling or remove it"
            )
    for position, word in enumerate(model.optional_words):
        if " " in word.strip() or not has_word_char(phrase_key(word)):
            problems.append(
                f"{path}: optional_words[{position}]: {word!r} must be one word: fix it"
            )
    if problems:
        raise ConfigError(problems)
    return Watchlist(
        name=model.name or path.stem,
        entities=tuple(entities),
        rules=tuple(rules),
        alert=model.alert,
        excerpt_chars=model.excerpt_chars,
        description=model.description,
        source=str(path),
        abbreviations=tuple(
            (word, tuple(variants)) for word, variants in model.abbreviations.items()
        ),
        optional_words=tuple(model.optional_words),
    )


def _abbreviation_problems(abbreviations: Mapping[Any, Any], path: Path) -> list[str]:
    """Keys that are not one word, variants without letters (a variant that is not text is
    pydantic's to report)."""
    problems: list[str] = []
    for word, variants in abbreviations.items():
        if not isinstance(word, str) or " " in word.strip() or not has_word_char(phrase_key(word)):
            problems.append(
                f"{path}: abbreviations.{word}: the key must be one word of a name "
                "(e.g. Government): fix it"
            )
        for position, variant in enumerate(variants if isinstance(variants, list) else []):
            if isinstance(variant, str) and not has_word_char(phrase_key(variant)):
                problems.append(
                    f"{path}: abbreviations.{word}[{position}]: {variant!r} has no letters or "
                    "digits: remove it"
                )
    return problems


def _raw_entity_ids(data: dict[object, object]) -> list[str]:
    raw = data.get("entities")
    items = raw if isinstance(raw, list) else []
    return [e["id"] for e in items if isinstance(e, dict) and isinstance(e.get("id"), str)]


def _valid_parts(
    data: dict[object, object],
) -> tuple[list[tuple[int, _EntityModel]], list[tuple[int, _RuleModel]]]:
    """The entities and rules of ``data`` that validate on their own, with their indexes."""
    entities: list[tuple[int, _EntityModel]] = []
    rules: list[tuple[int, _RuleModel]] = []
    raw_entities = data.get("entities")
    for index, raw in enumerate(raw_entities if isinstance(raw_entities, list) else []):
        try:
            entities.append((index, _EntityModel.model_validate(raw)))
        except ValidationError:
            continue
    raw_rules = data.get("rules")
    for index, raw in enumerate(raw_rules if isinstance(raw_rules, list) else []):
        try:
            rules.append((index, _RuleModel.model_validate(raw)))
        except ValidationError:
            continue
    return entities, rules


def _entities_without_bad_keys(
    data: dict[object, object], error: ValidationError
) -> list[tuple[int, _EntityModel, set[str]]]:
    """The entities that failed validation and validate once the keys with errors are left
    out: (index, model, the keys left out)."""
    bad: dict[int, set[str]] = {}
    for item in error.errors():
        loc = tuple(item["loc"])
        if len(loc) >= 3 and loc[0] == "entities" and isinstance(loc[1], int):
            bad.setdefault(loc[1], set()).add(str(loc[2]))
    raw_entities = data.get("entities")
    if not isinstance(raw_entities, list):
        return []
    found = []
    for index, keys in sorted(bad.items()):
        raw = raw_entities[index] if index < len(raw_entities) else None
        if not isinstance(raw, dict) or "id" in keys:
            continue
        try:
            model = _EntityModel.model_validate({k: v for k, v in raw.items() if k not in keys})
        except ValidationError:
            continue
        found.append((index, model, keys))
    return found


def _partial(data: dict[object, object], path: Path) -> Watchlist | None:
    """A watchlist of the valid entities, and of the rules that parse and name only them."""
    entity_models, rule_models = _valid_parts(data)
    scratch: list[str] = []
    entities, rules = _build_parts(
        entity_models, rule_models, path, [m.id for _, m in entity_models], scratch
    )
    if not entities:
        return None
    name = data.get("name")
    raw_abbreviations = data.get("abbreviations")
    abbreviations = (
        tuple(
            (word, tuple(variants))
            for word, variants in raw_abbreviations.items()
            if isinstance(word, str)
            and isinstance(variants, list)
            and all(isinstance(v, str) for v in variants)
        )
        if isinstance(raw_abbreviations, dict)
        else ()
    )
    raw_optional = data.get("optional_words")
    optional = (
        tuple(word for word in raw_optional if isinstance(word, str))
        if isinstance(raw_optional, list)
        else ()
    )
    return Watchlist(
        name=name if isinstance(name, str) and name else path.stem,
        entities=tuple(entities),
        rules=tuple(rules),
        source=str(path),
        abbreviations=abbreviations,
        optional_words=optional,
    )


def _build_parts(
    entity_models: list[tuple[int, _EntityModel]],
    rule_models: list[tuple[int, _RuleModel]],
    path: Path,
    entity_ids: list[str],
    problems: list[str],
) -> tuple[list[Entity], list[Rule]]:
    """Entities and rules from their models (with their indexes in the file), every problem
    appended to ``problems``."""
    entities = [_build_entity(model, index, path, problems) for index, model in entity_models]
    _check_unique_ids(entity_models, path, problems)
    _check_shared_names(entity_models, path, problems)
    rules: list[Rule] = []
    seen_rules: dict[str, int] = {}
    # Only valid ids: a rule's "did you mean" never suggests one refused above (probe72).
    entity_ids = [entity_id for entity_id in entity_ids if _ENTITY_ID.fullmatch(entity_id)]
    for index, rule in rule_models:
        where = f"{path}: rules[{index}]"
        if rule.name in seen_rules:
            problems.append(
                f"{where}.name: rule name {rule.name!r} is already used by "
                f"rules[{seen_rules[rule.name]}]: give each rule its own name"
            )
        seen_rules.setdefault(rule.name, index)
        try:
            tree = parse_rule(rule.expr, entity_ids, phrase_key)
        except RuleSyntaxError as exc:
            problems.append(
                f"{where}.expr: rule {rule.name!r}: {exc.message} at character "
                f"{exc.position + 1} of {rule.expr!r}"
            )
            continue
        if evaluate_rule(tree, Evidence({}, {})):
            # "NOT rsf" alone: it would alert on every article, naming nothing (probe72).
            problems.append(
                f"{where}.expr: rule {rule.name!r} holds for an article that names nothing "
                f"({rule.expr!r}), so every article would alert; a NOT needs something beside "
                "it that must be there, e.g. 'sudan AND NOT rsf'"
            )
            continue
        rules.append(Rule(rule.name, rule.expr, tree, _build_examples(rule.examples), index))
    return entities, rules


def _build_entity(model: _EntityModel, index: int, path: Path, problems: list[str]) -> Entity:
    where = f"{path}: entities[{index}]"
    if not _ENTITY_ID.fullmatch(model.id):
        problems.append(
            f"{where}.id: {model.id!r} is not a valid id: use lower-case letters, digits and "
            "_ starting with a letter (e.g. haftar, tripoli_lebanon)"
        )
    if not model.names and not model.acronyms:
        conditional = model.conditional_names or model.conditional_acronyms
        problems.append(
            f"{where}.names: entity {model.id!r} has no names or acronyms: add names"
            + (
                " (conditional names and acronyms only add to an entity's own)"
                if conditional
                else ""
            )
        )
    lists = {
        "names": model.names,
        "acronyms": model.acronyms,
        "exclude_phrases": model.exclude_phrases,
        "exclude_if_in_article": model.exclude_if_in_article,
        "unless_in_article": model.unless_in_article,
        "require_in_article": model.require_in_article,
    }
    if model.conditional_acronyms is not None:
        lists["conditional_acronyms.acronyms"] = model.conditional_acronyms.acronyms
        lists["conditional_acronyms.if_in_article"] = model.conditional_acronyms.if_in_article
    if model.conditional_names is not None:
        lists["conditional_names.names"] = model.conditional_names.names
        lists["conditional_names.if_in_article"] = model.conditional_names.if_in_article
    if model.ambiguous_names is not None:
        lists["ambiguous_names.names"] = model.ambiguous_names.names
        lists["ambiguous_names.exclude_if_in_article"] = model.ambiguous_names.exclude_if_in_article
        lists["ambiguous_names.unless_in_article"] = model.ambiguous_names.unless_in_article
    if model.one_case_acronyms is not None:
        lists["one_case_acronyms.if_in_article"] = model.one_case_acronyms.if_in_article
        if not model.acronyms and model.conditional_acronyms is None:
            problems.append(
                f"{where}.one_case_acronyms: entity {model.id!r} has no acronyms: add "
                "acronyms or remove it"
            )
    lists["not_names"] = model.not_names
    not_names = list(model.not_names)
    namesakes: Namesakes | None = None
    if model.namesakes is not None:
        lists["namesakes.given_names"] = model.namesakes.given_names
        lists["namesakes.surnames"] = model.namesakes.surnames
        lists["namesakes.unless_in_article"] = model.namesakes.unless_in_article
        full_names = [
            f"{given} {surname}"
            for given in model.namesakes.given_names
            for surname in model.namesakes.surnames
            if same_script(given.strip()[-1:], surname.strip()[:1])
        ]
        not_names += full_names
        namesakes = Namesakes(
            tuple(full_names),
            tuple(model.namesakes.surnames),
            tuple(model.namesakes.unless_in_article),
        )
    if model.derived_forms is not None:
        lists["derived_forms.stems"] = model.derived_forms.stems
        for position, stem in enumerate(model.derived_forms.stems):
            if len(stem.split()) > 1:
                problems.append(
                    f"{where}.derived_forms.stems[{position}]: {stem!r} is more than one word: "
                    "a stem is the one word the suffixes are joined to (list a name of several "
                    "words with its endings under names)"
                )
        parts = [("suffixes", model.derived_forms.suffixes)]
        parts.append(("prefixes", model.derived_forms.prefixes))
        for part, by_language in parts:
            for language, suffixes in by_language.items():
                lists[f"derived_forms.{part}.{language}"] = suffixes
                for position, suffix in enumerate(suffixes):
                    if not suffix or not all(
                        char.isalpha() or unicodedata.category(char).startswith("M")
                        for char in suffix
                    ):
                        problems.append(
                            f"{where}.derived_forms.{part}.{language}[{position}]: {suffix!r} "
                            "must be letters only (no space, hyphen or apostrophe): fix it"
                        )
    own = {phrase_key(name) for name in model.names} if not_names else set()
    for position, value in enumerate(not_names):
        if phrase_key(value) in own:
            field = (
                f"not_names[{position}]"
                if position < len(model.not_names)
                else "namesakes.given_names"
            )
            problems.append(
                f"{where}.{field}: {value!r} is also one of the entity's names: "
                "remove it from one of the lists"
            )
    for key, condition, names in (
        ("conditional_names", model.conditional_names, "names"),
        ("conditional_acronyms", model.conditional_acronyms, "acronyms"),
    ):
        if condition is None:
            continue
        made_conditional = {phrase_key(name) for name in getattr(condition, names)}
        for position, word in enumerate(condition.if_in_article):
            if phrase_key(word) in made_conditional:
                # The name itself meets its condition: it would always count (probe72).
                problems.append(
                    f"{where}.{key}.if_in_article[{position}]: {word!r} is one of the "
                    f"{names} it makes conditional, so the condition holds wherever the name "
                    "is found: list only words of the articles that mean this entity"
                )
    if model.unless_in_article and not model.exclude_if_in_article:
        problems.append(
            f"{where}.unless_in_article: it only qualifies exclude_if_in_article, which "
            f"entity {model.id!r} does not have: add exclude_if_in_article or remove it"
        )
    for key, proximity in (
        ("keep_if_near", model.keep_if_near),
        ("exclude_if_near", model.exclude_if_near),
        ("require_near", model.require_near),
        ("exclude_if_followed_by", model.exclude_if_followed_by),
        ("exclude_if_preceded_by", model.exclude_if_preceded_by),
    ):
        if proximity is not None:
            lists[f"{key}.words"] = proximity.words
            lists[f"{key}.unless_in_article"] = proximity.unless_in_article
    for key, proximity in (
        ("keep_if_near", model.keep_if_near),
        ("require_near", model.require_near),
    ):
        if proximity is not None and proximity.unless_in_article:
            problems.append(
                f"{where}.{key}.unless_in_article: only an exclusion (exclude_if_near, "
                "exclude_if_followed_by, exclude_if_preceded_by) takes it: remove it"
            )
    for key, values in lists.items():
        for position, value in enumerate(values):
            if not has_word_char(phrase_key(value)):
                problems.append(
                    f"{where}.{key}[{position}]: {value!r} has no letters or digits: remove it"
                )
    return Entity(
        id=model.id,
        kind=model.kind,
        names=tuple(model.names),
        acronyms=tuple(model.acronyms),
        conditional_acronyms=(
            None
            if model.conditional_acronyms is None
            else ConditionalAcronyms(
                tuple(model.conditional_acronyms.acronyms),
                tuple(model.conditional_acronyms.if_in_article),
            )
        ),
        exclude_phrases=tuple(model.exclude_phrases),
        keep_if_near=_build_proximity(model.keep_if_near),
        exclude_if_near=_build_proximity(model.exclude_if_near),
        exclude_if_in_article=tuple(model.exclude_if_in_article),
        unless_in_article=tuple(model.unless_in_article),
        require_near=_build_proximity(model.require_near),
        require_in_article=tuple(model.require_in_article),
        examples=_build_examples(model.examples),
        not_names=tuple(not_names),
        namesakes=namesakes,
        derived_forms=(
            None
            if model.derived_forms is None
            else DerivedForms(
                tuple(model.derived_forms.stems),
                tuple(
                    (language, tuple(suffixes))
                    for language, suffixes in model.derived_forms.suffixes.items()
                ),
                tuple(
                    (language, tuple(prefixes))
                    for language, prefixes in model.derived_forms.prefixes.items()
                ),
            )
        ),
        ambiguous_names=(
            None
            if model.ambiguous_names is None
            else AmbiguousNames(
                tuple(model.ambiguous_names.names),
                tuple(model.ambiguous_names.exclude_if_in_article),
                tuple(model.ambiguous_names.unless_in_article),
            )
        ),
        conditional_names=(
            None
            if model.conditional_names is None
            else ConditionalNames(
                tuple(model.conditional_names.names),
                tuple(model.conditional_names.if_in_article),
            )
        ),
        exclude_if_followed_by=_build_proximity(model.exclude_if_followed_by),
        exclude_if_preceded_by=_build_proximity(model.exclude_if_preceded_by),
        proper_noun=model.proper_noun,
        one_case_acronyms=(
            () if model.one_case_acronyms is None else tuple(model.one_case_acronyms.if_in_article)
        ),
        position=index,
    )


def _build_proximity(model: _ProximityModel | None) -> Proximity | None:
    if model is None:
        return None
    return Proximity(tuple(model.words), model.within, tuple(model.unless_in_article))


def _build_examples(model: _ExamplesModel) -> Examples:
    def convert(example: _ExampleModel) -> Example:
        values = {"title": example.title, "summary": example.summary, "content": example.content}
        return Example(tuple((f, values[f] or "") for f in FIELDS if values[f] is not None))

    return Examples(
        match=tuple(convert(e) for e in model.match),
        no_match=tuple(convert(e) for e in model.no_match),
    )


def _check_unique_ids(
    entities: list[tuple[int, _EntityModel]], path: Path, problems: list[str]
) -> None:
    first_index: dict[str, int] = {}
    for index, entity in entities:
        if entity.id in first_index:
            problems.append(
                f"{path}: entities[{index}].id: {entity.id!r} is already the id of "
                f"entities[{first_index[entity.id]}]: ids must be unique"
            )
        first_index.setdefault(entity.id, index)


def _check_shared_names(
    entities: list[tuple[int, _EntityModel]], path: Path, problems: list[str]
) -> None:
    # The same name in two entities would make every mention ambiguous; so would one
    # entity's name that is another's acronym (the name, read in any case, takes the span).
    owner: dict[str, tuple[str, str]] = {}
    folded_owner: dict[str, tuple[str, str, bool]] = {}  # any case -> entity, field, acronym
    for index, entity in entities:
        keyed = [(f"names[{i}]", phrase_key(n)) for i, n in enumerate(entity.names)]
        if entity.conditional_names is not None:
            keyed += [
                (f"conditional_names.names[{i}]", phrase_key(n))
                for i, n in enumerate(entity.conditional_names.names)
            ]
        if entity.ambiguous_names is not None:
            keyed += [
                (f"ambiguous_names.names[{i}]", phrase_key(n))
                for i, n in enumerate(entity.ambiguous_names.names)
            ]
        keyed += [(f"acronyms[{i}]", "\0" + acronym_form(a)) for i, a in enumerate(entity.acronyms)]
        if entity.conditional_acronyms is not None:
            keyed += [
                (f"conditional_acronyms.acronyms[{i}]", "\0" + acronym_form(a))
                for i, a in enumerate(entity.conditional_acronyms.acronyms)
            ]
        for field, key in keyed:
            if not has_word_char(key):  # blamed already: no letters or digits
                continue
            here = f"entities[{index}].{field}"
            acronym = key.startswith("\0")
            folded = phrase_key(key.lstrip("\0"))
            first = folded_owner.setdefault(folded, (entity.id, here, acronym))
            if first[0] != entity.id and first[2] != acronym and key not in owner:
                name_id, name_field = (first[0], first[1]) if acronym else (entity.id, here)
                problems.append(
                    f"{path}: {here}: {key.lstrip(chr(0))!r} is also listed for entity "
                    f"{first[0]!r} ({first[1]}): a name is found in any case, so "
                    f"{name_field} of {name_id!r} would take every {key.lstrip(chr(0))!r}: "
                    "keep it in one entity (an acronym of the other sense belongs in its "
                    "context rules)"
                )
            if key in owner:
                other_id, other_field = owner[key]
                if other_id != entity.id:
                    problems.append(
                        f"{path}: {here}: {key.lstrip(chr(0))!r} is also listed for entity "
                        f"{other_id!r} ({other_field}): keep it in one entity"
                    )
                else:
                    problems.append(
                        f"{path}: {here}: {key.lstrip(chr(0))!r} is the same name as "
                        f"{other_field} (matching ignores case, accents, hyphens and Arabic "
                        "letter variants): remove one"
                    )
            owner.setdefault(key, (entity.id, here))
