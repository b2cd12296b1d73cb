"""The analyst's reference and the example rule set say only what the language accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenure.core.rules import compile_ruleset
from tenure.protection.signals import KNOWN_FIELDS

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "rules.md"
EXAMPLE = ROOT / "examples" / "rules" / "default.yaml"
# What the engine computes: the reference may only show rules the engine can run.
KNOWN = KNOWN_FIELDS


def _yaml_blocks() -> list[Any]:
    text = REFERENCE.read_text(encoding="utf-8")
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def _as_document(block: Any) -> dict[str, Any]:
    if "rules" in block:
        return dict(block)
    rule = {"id": "example", "description": "from the reference", "when": block, "score": 0.5}
    return {"name": "reference", "rules": [rule]}


def test_the_reference_has_an_example_of_every_operator() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    for op in ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "in_list", "not_in_list"):
        assert f"op: {op}," in text, op
    for group in ("all:", "any:", "not:", "window:", "ref:", "times:"):
        assert group in text


@pytest.mark.parametrize("block", _yaml_blocks())
def test_every_example_in_the_reference_compiles(block: Any) -> None:
    compile_ruleset(_as_document(block), known_fields=KNOWN)


def test_the_example_rule_set_compiles_against_known_features() -> None:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    rules = compile_ruleset(document, known_fields=KNOWN)
    assert 6 <= len(rules.rules) <= 10
    assert rules.lists == {"blocked_payees", "sanctioned_banks", "trusted_payees"}
