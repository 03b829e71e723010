"""JSON and JSONL follow the shipped JSON Schema (draft 2020-12)."""

from __future__ import annotations

import json

import pytest
from helpers_report import build_dataset, empty_dataset
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from triage.report import REPORT_SCHEMA_VERSION, render, report_schema


@pytest.fixture(scope="module")
def schema() -> dict:
    s = report_schema()
    Draft202012Validator.check_schema(s)
    return s


def _jsonl_validator(schema: dict) -> Draft202012Validator:
    registry = Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    return Draft202012Validator({"$ref": f"{schema['$id']}#/$defs/jsonlRecord"}, registry=registry)


@pytest.mark.parametrize("hostile", [False, True])
def test_json_validates_and_matches_the_content(schema: dict, hostile: bool) -> None:
    doc = json.loads(render(build_dataset(hostile=hostile), "json") or "")
    Draft202012Validator(schema).validate(doc)
    assert doc["schema_version"] == REPORT_SCHEMA_VERSION
    assert [f["confidence"] for f in doc["findings"]] == ["high", "medium", "medium"]
    assert doc["summary"]["findings"] == len(doc["findings"]) == 3
    assert doc["unexplained"][0]["count"] == 3
    assert doc["findings"][0]["evidence"][0]["lineno"] == 812
    assert doc["findings"][0]["commands"][0].startswith("xe vm-param-set uuid=")


def test_json_rejects_what_the_schema_does_not_document(schema: dict) -> None:
    doc = json.loads(render(build_dataset(), "json") or "")
    doc["findings"][0]["surprise"] = 1
    assert list(Draft202012Validator(schema).iter_errors(doc))
    doc = json.loads(render(build_dataset(), "json") or "")
    doc["findings"][0]["confidence"] = "certain"
    assert list(Draft202012Validator(schema).iter_errors(doc))


def test_jsonl_one_typed_object_per_line(schema: dict) -> None:
    text = render(build_dataset(hostile=True), "jsonl") or ""
    records = [json.loads(line) for line in text.splitlines()]
    validator = _jsonl_validator(schema)
    for record in records:
        validator.validate(record)
    assert [r["type"] for r in records] == (
        ["summary"] + ["finding"] * 3 + ["crash-group"] * 2 + ["error"] * 2
    )
    bad = dict(records[1], type="crash-group")
    assert list(validator.iter_errors(bad))


def test_hostile_text_is_escaped_in_json_and_empty_dataset_validates(schema: dict) -> None:
    text = render(build_dataset(hostile=True), "json") or ""
    assert "\x1b" not in text and "\u202e" not in text
    assert "<script>alert(1)</script>" in json.loads(text)["findings"][1]["evidence"][-1]["text"]
    Draft202012Validator(schema).validate(json.loads(render(empty_dataset(), "json") or ""))
