"""Tier rules: the YAML a bank edits, parsed and checked once into frozen dataclasses.

The packaged defaults live in ``tiers.yaml`` next to this module and explain every key. An unknown
key, a feature name outside the catalogue, thresholds in the wrong order or a missing tier raise
:class:`~tenure.core.errors.ConfigurationError` naming the YAML key.

>>> rules = load_tier_rules()
>>> [tier.name for tier in rules.value.tiers]
['platinum', 'gold', 'silver', 'bronze']
>>> [stage.name for stage in rules.lifecycle]
['new', 'dormant', 'declining', 'growing', 'mature']
"""

from __future__ import annotations

import itertools
import re
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from tenure.core.errors import ConfigurationError
from tenure.retention.features.catalogue import FEATURES

__all__ = [
    "LIFECYCLE_STAGES",
    "TIER_COLUMNS",
    "ActivityTier",
    "Condition",
    "RiskTier",
    "Stage",
    "TierRules",
    "ValueRules",
    "ValueTier",
    "load_tier_rules",
    "parse_tier_rules",
]

Match = Literal["any", "all"]
Operator = Literal["below", "at_most", "at_least", "above"]
LIFECYCLE_STAGES = ("new", "growing", "mature", "declining", "dormant")
TIER_COLUMNS = ("value_tier", "activity_tier", "risk_tier", "lifecycle_stage", "lifecycle_reason")
_OPERATORS: tuple[Operator, ...] = ("below", "at_most", "at_least", "above")
_FEATURE_NAMES = frozenset(f.name for f in FEATURES)
TEMPLATE_SPEC = re.compile(r"^(?:\.(\d)([f%]))?$")


@dataclass(frozen=True, slots=True)
class ValueTier:
    """A value tier and its lower bounds; the last tier has none (everyone left)."""

    name: str
    min_percentile: float | None = None
    min_minor: int | None = None


@dataclass(frozen=True, slots=True)
class ValueRules:
    """Value tiers, best first, and whether bounds are percentiles or minor units."""

    mode: Literal["percentile", "absolute"]
    tiers: tuple[ValueTier, ...]


@dataclass(frozen=True, slots=True)
class ActivityTier:
    """An activity tier: minimum feature values, any or all of which must be met."""

    name: str
    minimums: tuple[tuple[str, float], ...] = ()
    match: Match = "any"


@dataclass(frozen=True, slots=True)
class RiskTier:
    """A risk tier and the churn probability it starts at; the last tier has none."""

    name: str
    min_probability: float | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    """One comparison of a feature with a threshold, and the phrase that explains it."""

    feature: str
    operator: Operator
    threshold: float
    reason: str
    when_missing: bool = False
    reason_when_missing: str = ""


@dataclass(frozen=True, slots=True)
class Stage:
    """A lifecycle stage: conditions (none for the last stage) and its fallback reason."""

    name: str
    conditions: tuple[Condition, ...] = ()
    match: Match = "any"
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TierRules:
    """Every threshold behind tiers and stages, checked."""

    value: ValueRules
    activity: tuple[ActivityTier, ...]
    risk: tuple[RiskTier, ...]
    lifecycle: tuple[Stage, ...]

    @property
    def features(self) -> tuple[str, ...]:
        """The features the rules read, sorted."""
        names = {f for tier in self.activity for f, _ in tier.minimums}
        names |= {c.feature for stage in self.lifecycle for c in stage.conditions}
        return tuple(sorted(names))


def _fail(key: str, problem: str) -> ConfigurationError:
    return ConfigurationError(f"tier rules: {key}: {problem}", field=key)


def _mapping(node: object, key: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise _fail(key, "must be a mapping")
    for name in sorted(map(str, node)):
        if name not in allowed:
            raise _fail(f"{key}.{name}" if key else name, "unknown key")
    for name in sorted(required - set(node)):
        raise _fail(f"{key}.{name}" if key else name, "is missing")
    return node


def _number(node: object, key: str, low: float | None = None, high: float | None = None) -> float:
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise _fail(key, f"must be a number, not {node!r}")
    if (low is not None and node < low) or (high is not None and node > high):
        raise _fail(key, f"must lie between {low} and {high}")
    return float(node)


def _text(node: object, key: str) -> str:
    if not isinstance(node, str) or not node.strip():
        raise _fail(key, "must be a non-empty string")
    return node


def _feature(node: object, key: str) -> str:
    name = _text(node, key)
    if name not in _FEATURE_NAMES:
        raise _fail(key, f"no feature called {name!r} in the feature catalogue")
    return name


def _match(node: object, key: str) -> Match:
    if node == "any" or node == "all":
        return node
    raise _fail(key, "must be 'any' or 'all'")


def _entries(section: dict[str, Any], key: str, item: str) -> list[tuple[str, dict[str, Any]]]:
    """The named entries of a tier or stage list, each with its YAML key; names unique."""
    entries = section.get(item)
    if not isinstance(entries, list) or len(entries) < 2:
        raise _fail(f"{key}.{item}", "must list at least two entries")
    seen: list[tuple[str, dict[str, Any]]] = []
    for index, entry in enumerate(entries):
        where = f"{key}.{item}[{index}]"
        if not isinstance(entry, dict):
            raise _fail(where, "must be a mapping")
        name = _text(entry.get("name"), f"{where}.name")
        if name in {n for n, _ in seen}:
            raise _fail(f"{where}.name", f"{name!r} appears twice")
        seen.append((where, entry))
    return seen


def _falling(bounds: list[tuple[str, float]]) -> None:
    """Refuse bounds that do not fall strictly down the list."""
    for (_, previous), (key, current) in itertools.pairwise(bounds):
        if current >= previous:
            raise _fail(key, f"thresholds must fall from one tier to the next ({current:g} >= "
                             f"{previous:g})")  # fmt: skip


def _bound(entry: dict[str, Any], where: str, name: str, last: bool, **limits: float) -> Any:
    """A tier's bound: required unless last, refused on the last (it takes the rest)."""
    if last and name in entry:
        raise _fail(f"{where}.{name}", "the last tier takes everyone left and has no bound")
    if name not in entry:
        return None
    return _number(entry[name], f"{where}.{name}", limits.get("low"), limits.get("high"))


def _parse_value(node: object) -> ValueRules:
    section = _mapping(node, "value", {"mode", "tiers"}, {"mode", "tiers"})
    mode = section["mode"]
    if mode not in ("percentile", "absolute"):
        raise _fail("value.mode", "must be 'percentile' or 'absolute'")
    entries = _entries(section, "value", "tiers")
    tiers: list[ValueTier] = []
    for index, (where, entry) in enumerate(entries):
        last = index == len(entries) - 1
        _mapping(entry, where, {"name", "min_percentile", "min_minor"}, set())
        pct = _bound(entry, where, "min_percentile", last, low=0.0, high=100.0)
        minor = _bound(entry, where, "min_minor", last)
        active = "min_percentile" if mode == "percentile" else "min_minor"
        if not last and (pct if mode == "percentile" else minor) is None:
            raise _fail(f"{where}.{active}", f"is missing (value.mode is {mode})")
        tiers.append(ValueTier(entry["name"], pct, None if minor is None else int(minor)))
    for column in ("min_percentile", "min_minor"):
        _falling([(f"{w}.{column}", float(e[column])) for w, e in entries if column in e])
    return ValueRules(mode, tuple(tiers))


def _parse_activity(node: object) -> tuple[ActivityTier, ...]:
    section = _mapping(node, "activity", {"tiers"}, {"tiers"})
    entries = _entries(section, "activity", "tiers")
    tiers: list[ActivityTier] = []
    floors: dict[str, tuple[str, float]] = {}
    for index, (where, entry) in enumerate(entries):
        last = index == len(entries) - 1
        _mapping(entry, where, {"name", "min", "match"}, set() if last else {"min"})
        if last and ("min" in entry or "match" in entry):
            raise _fail(f"{where}.min", "the last tier takes everyone left and has no rule")
        minimums = entry.get("min", {})
        if not isinstance(minimums, dict):
            raise _fail(f"{where}.min", "must be a mapping of feature to minimum")
        if not last and not minimums:
            raise _fail(f"{where}.min", "must name at least one feature")
        pairs = []
        for name, floor in minimums.items():
            key = f"{where}.min.{name}"
            pairs.append((_feature(name, key), _number(floor, key)))
            if name in floors and pairs[-1][1] > floors[name][1]:
                raise _fail(key, f"minimum must not rise from one tier to the next "
                                 f"({pairs[-1][1]:g} > {floors[name][1]:g})")  # fmt: skip
            floors[name] = (key, pairs[-1][1])
        match = _match(entry.get("match", "any"), f"{where}.match")
        tiers.append(ActivityTier(entry["name"], tuple(pairs), match))
    return tuple(tiers)


def _parse_risk(node: object) -> tuple[RiskTier, ...]:
    section = _mapping(node, "risk", {"tiers"}, {"tiers"})
    entries = _entries(section, "risk", "tiers")
    tiers: list[RiskTier] = []
    for index, (where, entry) in enumerate(entries):
        last = index == len(entries) - 1
        _mapping(entry, where, {"name", "min_probability"}, set() if last else {"min_probability"})
        bound = _bound(entry, where, "min_probability", last, low=0.0, high=1.0)
        tiers.append(RiskTier(entry["name"], bound))
    _falling([(f"{w}.min_probability", float(e["min_probability"])) for w, e in entries[:-1]])
    return tuple(tiers)


def _template(node: object, key: str) -> str:
    """A reason phrase, checked: only ``{value}`` with ``.Nf`` or ``.N%`` formats."""
    text = _text(node, key)
    try:
        fields = [(f, s) for _, f, s, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise _fail(key, f"is not a valid phrase: {exc}") from None
    for name, spec in fields:
        if name != "value" or not TEMPLATE_SPEC.match(spec or ""):
            raise _fail(key, f"may only use {{value}}, {{value:.0f}} or {{value:.0%}}, not "
                             f"{{{name}{':' + spec if spec else ''}}}")  # fmt: skip
    return text


def _parse_condition(node: object, key: str) -> Condition:
    allowed = {"feature", "reason", "when_missing", "reason_when_missing", *_OPERATORS}
    entry = _mapping(node, key, allowed, {"feature", "reason"})
    operators = [op for op in _OPERATORS if op in entry]
    if len(operators) != 1:
        raise _fail(key, f"needs exactly one of {', '.join(_OPERATORS)}")
    when_missing = entry.get("when_missing", False)
    if not isinstance(when_missing, bool):
        raise _fail(f"{key}.when_missing", "must be true or false")
    missing_reason = entry.get("reason_when_missing", "")
    if when_missing:
        missing_reason = _text(missing_reason, f"{key}.reason_when_missing")
    op = operators[0]
    return Condition(
        feature=_feature(entry["feature"], f"{key}.feature"),
        operator=op,
        threshold=_number(entry[op], f"{key}.{op}"),
        reason=_template(entry["reason"], f"{key}.reason"),
        when_missing=when_missing,
        reason_when_missing=missing_reason,
    )


def _parse_lifecycle(node: object) -> tuple[Stage, ...]:
    section = _mapping(node, "lifecycle", {"stages"}, {"stages"})
    entries = _entries(section, "lifecycle", "stages")
    stages: list[Stage] = []
    for index, (where, entry) in enumerate(entries):
        last = index == len(entries) - 1
        required = {"reason"} if last else {"conditions"}
        _mapping(entry, where, {"name", "conditions", "match", "reason"}, required)
        if entry["name"] not in LIFECYCLE_STAGES:
            raise _fail(f"{where}.name", f"must be one of {', '.join(LIFECYCLE_STAGES)}")
        if last and "conditions" in entry:
            raise _fail(f"{where}.conditions", "the last stage takes everyone left")
        raw = entry.get("conditions", [])
        if not last and (not isinstance(raw, list) or not raw):
            raise _fail(f"{where}.conditions", "must list at least one condition")
        conditions = tuple(_parse_condition(c, f"{where}.conditions[{i}]")
                           for i, c in enumerate(raw))  # fmt: skip
        reason = _template(entry["reason"], f"{where}.reason") if "reason" in entry else ""
        match = _match(entry.get("match", "any"), f"{where}.match")
        stages.append(Stage(entry["name"], conditions, match, reason))
    for name in LIFECYCLE_STAGES:
        if name not in {s.name for s in stages}:
            raise _fail("lifecycle.stages", f"missing stage {name!r}")
    return tuple(stages)


def parse_tier_rules(document: object) -> TierRules:
    """Check a tier-rules document (already parsed from YAML)."""
    sections = {"value", "activity", "risk", "lifecycle"}
    root = _mapping(document, "", sections | {"version"}, sections)
    if root.get("version", 1) != 1:
        raise _fail("version", "only version 1 is supported")
    return TierRules(
        value=_parse_value(root["value"]),
        activity=_parse_activity(root["activity"]),
        risk=_parse_risk(root["risk"]),
        lifecycle=_parse_lifecycle(root["lifecycle"]),
    )


def load_tier_rules(path: Path | str | None = None) -> TierRules:
    """Read and check tier rules from ``path``, or the packaged defaults."""
    try:
        if path is None:
            text = resources.files("tenure.retention").joinpath("tiers.yaml").read_text("utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        document = yaml.safe_load(text)
    except OSError as exc:
        raise ConfigurationError(f"cannot read tier rules {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"tier rules {path} are not valid YAML: {exc}") from exc
    return parse_tier_rules(document)
