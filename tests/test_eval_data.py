"""The bundled QA evaluation set is well-formed and its answers occur in the cleaned corpus."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_data", ROOT / "eval" / "check_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bundled_qa_is_valid() -> None:
    checker = _load_checker()
    problems = checker.check_file(ROOT / "eval" / "data" / "bundled_qa.jsonl")
    assert problems == [], "\n".join(problems)


def test_checker_reports_bad_answers() -> None:
    checker = _load_checker()
    records = [
        {"id": "x1", "question": "q?", "doc_ids": ["d"], "answers": ["absent"],
         "category": "fact", "lang": "zh"},
        {"id": "x1", "question": "q2?", "doc_ids": ["d"], "answers": [],
         "category": "unanswerable", "lang": "xx"},
    ]
    problems = checker.validate(records, {"d": "some cleaned text"})
    joined = "\n".join(problems)
    assert "duplicate id 'x1'" in joined
    assert "not found in cleaned text" in joined
    assert "unknown lang" in joined
    assert "empty doc_ids and answers" in joined
    assert "need at least" in joined


def test_english_fit_questions_are_valid_and_apart_from_the_eval_set() -> None:
    """The English training questions pass the same checks (fewer are needed) and share no
    question with the bundled eval set."""
    import json

    checker = _load_checker()
    problems = checker.check_file(ROOT / "eval" / "data" / "english_fit.jsonl")
    assert [p for p in problems if not p.startswith("only ")] == []
    fit = [json.loads(line) for line in
           (ROOT / "eval" / "data" / "english_fit.jsonl").read_text("utf-8").splitlines()]
    evals = {json.loads(line)["question"] for line in
             (ROOT / "eval" / "data" / "bundled_qa.jsonl").read_text("utf-8").splitlines()}
    assert all(r["lang"] == "en" for r in fit)
    assert not {r["question"] for r in fit} & evals
