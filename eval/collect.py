"""Ask every question in one mode and record what came back (rankings, snippets, latency)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm import tqdm

from eval.metrics import doc_ranking
from eval.questions import Question

RETRIEVAL_MODES = ("keyword", "dense", "hybrid")
HEURISTIC = "heuristic"  # the full pipeline with the fast sentence scorer (reader=False)
READER = "reader"  # the full pipeline with the trained reader: what users get
PIPELINES = (HEURISTIC, READER)
MODES = (*RETRIEVAL_MODES, *PIPELINES)
ALIASES = {"pipeline": READER}
RETRIEVE_K = 30  # chunks fetched per query, so that ten distinct documents are usually there
WARMUP = 3


@dataclass
class SnippetRecord:
    """One returned snippet and whether its citation points at exactly its text."""

    text: str
    doc_id: str
    start: int
    end: int
    valid: bool


@dataclass
class Record:
    """Outcome of one question in one mode."""

    key: str  # unique per question in the run (position + id)
    qid: str
    category: str
    gold_docs: list[str]
    answers: list[str]
    ranked_docs: list[str] = field(default_factory=list)
    answered: bool = False
    short_answer: str | None = None
    snippets: list[SnippetRecord] = field(default_factory=list)
    retrieve_ms: float | None = None
    answer_ms: float | None = None
    stages: dict[str, float] = field(default_factory=dict)  # seconds, from the answer call
    error: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.gold_docs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def citation_valid(assistant: Any, snippet: Any) -> bool:
    """``document(doc_id).text[start:end] == text``; an unknown doc_id is invalid."""
    try:
        text = assistant.document(snippet.doc_id).text
    except Exception:  # noqa: BLE001 - any lookup failure means the citation is broken
        return False
    return text[snippet.start : snippet.end] == snippet.text


def ask(assistant: Any, q: Question, mode: str, key: str) -> Record:
    """Run one question: ``retrieve`` (retrieval modes) then ``answer`` in that mode; retrieval
    modes answer with the heuristic (it isolates retrieval's effect on answers)."""
    rec = Record(key, q.id, q.category, list(q.doc_ids), list(q.answers))
    pipeline = mode in PIPELINES
    answer_mode = None if pipeline else mode
    try:
        if not pipeline:
            t0 = time.perf_counter()
            hits = assistant.retrieve(q.question, k=RETRIEVE_K, mode=mode)
            rec.retrieve_ms = (time.perf_counter() - t0) * 1000
            rec.ranked_docs = doc_ranking(h.doc_id for h in hits)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        ans = assistant.answer(q.question, mode=answer_mode, timings=timings,
                               reader=mode == READER)
        rec.answer_ms = (time.perf_counter() - t0) * 1000
        rec.stages = {k: float(v) for k, v in timings.items()}
        rec.answered = bool(ans.answered)
        rec.short_answer = ans.short_answer
        rec.snippets = [
            SnippetRecord(s.text, s.doc_id, s.start, s.end, citation_valid(assistant, s))
            for s in ans.snippets
        ]
        if pipeline:  # what the user sees: snippet docs first, then the other hits
            shown = [s.doc_id for s in ans.snippets] + [h.doc_id for h in ans.hits]
            rec.ranked_docs = doc_ranking(shown)
    except Exception as exc:  # noqa: BLE001 - one failing question must not end the run
        rec.error = f"{type(exc).__name__}: {exc}"
    return rec


def run_mode(assistant: Any, questions: list[Question], mode: str) -> list[Record]:
    """All questions in one mode, after a few untimed warm-up questions."""
    for q in questions[:WARMUP]:
        ask(assistant, q, mode, "warmup")
    return [
        ask(assistant, q, mode, f"{i}:{q.id}")
        for i, q in enumerate(tqdm(questions, desc=f"{mode:>8}", unit="q"))
    ]
