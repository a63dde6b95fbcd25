"""Metric and report code of the evaluation runner, on inputs whose results are known."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from eval import runner
from eval.collect import Record, SnippetRecord
from eval.metrics import answer_hit, doc_ranking, normalise, retrieval_scores
from eval.questions import Question, load_questions, spread_sample
from eval.report import category_table, compare, metrics_table
from eval.squad import squad_to_eval, write_corpus
from eval.summary import summarise_mode

pytestmark = pytest.mark.unit


def test_gold_doc_ranked_second() -> None:
    scores = retrieval_scores({"q": ["d1"]}, {"q": ["d0", "d1", "d2"]})
    assert scores["recall@1"]["q"] == 0.0
    assert scores["recall@5"]["q"] == 1.0
    assert scores["mrr@10"]["q"] == pytest.approx(0.5)
    assert scores["ndcg@10"]["q"] == pytest.approx(1 / 1.5849625, rel=1e-6)  # 1 / log2(3)


def test_missing_and_empty_rankings_score_zero() -> None:
    scores = retrieval_scores({"a": ["d1"], "b": ["d2"]}, {"a": ["d1"], "b": []})
    assert scores["mrr@10"] == {"a": 1.0, "b": 0.0}
    nothing = retrieval_scores({"a": ["d1"]}, {})
    assert nothing["recall@10"] == {"a": 0.0}


def test_gold_beyond_depth_ten_is_not_found() -> None:
    ranked = doc_ranking([f"d{i}" for i in range(12)])
    assert len(ranked) == 10
    assert retrieval_scores({"q": ["d11"]}, {"q": ranked})["recall@10"]["q"] == 0.0


def test_doc_ranking_keeps_first_occurrence() -> None:
    assert doc_ranking(["b", "b", "a", "b", "c"]) == ["b", "a", "c"]


def test_answer_hit_is_nfkc_case_and_whitespace_insensitive() -> None:
    assert normalise("３．７３ 亿\tABC") == "3.73亿abc"
    assert answer_hit(["3.73亿"], ["用户达到３．７３亿人"], 1)
    assert answer_hit(["光荣和ω-force"], ["由光荣 和 Ω-Force 开发"], 1)
    assert not answer_hit(["阿里健康"], ["京东健康", "阿里健康"], 1)
    assert answer_hit(["阿里健康"], ["京东健康", "阿里健康"], 3)
    assert not answer_hit([""], ["任何文本"], 3)  # an empty gold answer never matches


def _record(key: str, gold: list[str], answers: list[str], ranked: list[str], answered: bool,
            snippets: list[tuple[str, bool]], category: str) -> Record:
    return Record(
        key=key, qid=key, category=category, gold_docs=gold, answers=answers,
        ranked_docs=ranked, answered=answered,
        snippets=[SnippetRecord(t, "d", 0, len(t), ok) for t, ok in snippets],
        retrieve_ms=10.0, answer_ms=20.0, stages={"encode": 0.005, "total": 0.02},
    )


def _records() -> list[Record]:
    return [
        _record("1", ["d1"], ["甲"], ["d1"], True, [("甲乙", True)], "fact"),
        _record("2", ["d2"], ["丙"], ["d1", "d2"], True, [("丁", True), ("丙丙丙丙", False)],
                "fact"),
        _record("3", ["d3"], ["戊"], ["d1"], False, [], "paraphrase"),
        _record("4", [], [], ["d1"], False, [], "unanswerable"),
        _record("5", [], [], ["d2"], True, [("己", True)], "unanswerable"),
    ]


def test_summary_numbers() -> None:
    m = summarise_mode(_records())["metrics"]
    assert (m["n"], m["n_answerable"], m["n_unanswerable"]) == (5, 3, 2)
    assert m["recall@1"] == pytest.approx(1 / 3)
    assert m["recall@5"] == pytest.approx(2 / 3)
    assert m["mrr@10"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["hit@1"] == pytest.approx(1 / 3)
    assert m["hit@3"] == pytest.approx(2 / 3)
    assert m["false_refusal_rate"] == pytest.approx(1 / 3)
    assert m["refusal_rate"] == pytest.approx(1 / 2)
    assert m["citation_validity"] == pytest.approx(3 / 4)
    assert m["median_snippet_chars"] == pytest.approx(1.5)  # lengths 2, 1, 4, 1
    assert m["answer_p50_ms"] == 20.0
    assert m["stage_encode_p50_ms"] == pytest.approx(5.0)


def test_per_category_and_tables() -> None:
    block = summarise_mode(_records())
    cats = block["per_category"]
    assert cats["fact"]["mrr@10"] == pytest.approx(0.75)
    assert cats["paraphrase"]["recall@10"] == 0.0
    assert cats["unanswerable"]["refusal_rate"] == 0.5
    assert cats["unanswerable"]["recall@1"] is None
    results = {"meta": {"n_questions": 5}, "modes": {"hybrid": block}}
    assert "refuse=0.500" in category_table(results)
    assert "mrr@10" in metrics_table(results)


def _results(hit1: float, p50: float) -> dict:
    metrics = {"hit@1": hit1, "false_refusal_rate": 0.1, "answer_p50_ms": p50}
    return {"meta": {"n_questions": 10}, "modes": {"hybrid": {"metrics": metrics}}}


def test_compare_flags_quality_drops_beyond_tolerance_only() -> None:
    _, regressions = compare(_results(0.8, 10.0), _results(0.8, 99.0), 0.01)
    assert regressions == []  # latency never fails the check
    _, regressions = compare(_results(0.8, 10.0), _results(0.795, 10.0), 0.01)
    assert regressions == []
    _, regressions = compare(_results(0.8, 10.0), _results(0.7, 10.0), 0.01)
    assert regressions == ["hybrid hit@1: 0.800 -> 0.700"]
    worse_refusal = _results(0.8, 10.0)
    worse_refusal["modes"]["hybrid"]["metrics"]["false_refusal_rate"] = 0.3
    _, regressions = compare(_results(0.8, 10.0), worse_refusal, 0.01)
    assert regressions == ["hybrid false_refusal_rate: 0.100 -> 0.300"]


def test_a_missing_compare_file_is_an_error_before_any_work(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        runner.parse_args(["--compare", str(tmp_path / "results.json")])
    assert stop.value.code == 2
    assert "no such file" in capsys.readouterr().err


TINY_SQUAD = {
    "version": "v1.0",
    "data": [
        {"title": "战国无双3", "paragraphs": [
            {"id": "DEV_0", "context": "《战国无双3》是由光荣和ω-force开发的。",
             "qas": [{"id": "Q0", "question": "由谁开发？", "answers": [
                 {"text": "光荣和ω-force", "answer_start": 9},
                 {"text": "光荣和ω-force", "answer_start": 9}]}]},
            {"context": "第二段没有问题。", "qas": []},
        ]},
        {"title": "北京", "paragraphs": [
            {"context": "北京是中国的首都。", "qas": [
                {"id": "Q1", "question": "中国的首都是哪里？",
                 "answers": [{"text": "北京", "answer_start": 0}, {"text": "北京市",
                                                                    "answer_start": 0}]}]}]},
    ],
}


def test_squad_loader(tmp_path: Path) -> None:
    docs, questions = squad_to_eval(TINY_SQUAD)
    assert [d["id"] for d in docs] == ["p0000", "p0001", "p0002"]
    assert [d["title"] for d in docs] == ["战国无双3", "战国无双3", "北京"]
    assert docs[0]["squad_id"] == "DEV_0"
    assert [(q.id, q.doc_ids, q.answers) for q in questions] == [
        ("Q0", ["p0000"], ["光荣和ω-force"]),
        ("Q1", ["p0002"], ["北京", "北京市"]),
    ]
    assert all(q.answerable for q in questions)
    path = write_corpus(docs, tmp_path / "c" / "corpus.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows[2] == {"id": "p0002", "title": "北京", "text": "北京是中国的首都。"}


def test_question_loading_and_sampling(tmp_path: Path) -> None:
    path = tmp_path / "qa.jsonl"
    rows = [
        {"id": "a", "question": "谁？", "doc_ids": ["d1"], "answers": ["甲"], "category": "fact"},
        {"id": "b", "question": "无关？", "doc_ids": [], "answers": []},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n")
    qs = load_questions(path)
    assert [q.answerable for q in qs] == [True, False]
    assert qs[1].category == "unanswerable"
    items = [Question(str(i), "?") for i in range(10)]
    assert [q.id for q in spread_sample(items, 3)] == ["0", "3", "6"]
    assert spread_sample(items, None) == items


DOCS = {"d1": "阿里健康与慧医天下合作。", "d2": "京东健康成立济爱互联网医疗中心。"}


class FakeAssistant:
    """Keyword-overlap retrieval over two documents, answering with a whole document."""

    manifest = {"build_seconds": 0.1, "counts": {"documents": 2}, "model": "fake", "dim": 2}

    def __init__(self, break_answers: bool = False) -> None:
        self.break_answers = break_answers

    def document(self, doc_id: str) -> SimpleNamespace:
        return SimpleNamespace(doc_id=doc_id, text=DOCS[doc_id])

    def documents(self) -> list[SimpleNamespace]:
        return [self.document(d) for d in DOCS]

    def retrieve(self, query: str, k: int = 5, *, mode=None, timings=None) -> list:
        ranked = sorted(DOCS, key=lambda d: -len(set(query) & set(DOCS[d])))
        return [SimpleNamespace(doc_id=d, text=DOCS[d], score=1.0) for d in ranked[:k]]

    def answer(self, question: str, k: int = 5, *, mode=None, timings=None,
               reader=True) -> SimpleNamespace:
        if timings is not None:
            timings.update(encode=0.001, total=0.002)
        hits = self.retrieve(question, k)
        if "天气" in question:
            return SimpleNamespace(answered=False, snippets=[], hits=hits, short_answer=None)
        doc = hits[1 if self.break_answers else 0].doc_id
        snippet = SimpleNamespace(text=DOCS[doc], doc_id=doc, start=0, end=len(DOCS[doc]))
        short = DOCS[doc][5:9] if reader else None  # exact span: 慧医天下 / 立济爱互
        return SimpleNamespace(answered=True, snippets=[snippet], hits=hits, short_answer=short)


def test_runner_end_to_end_with_compare(tmp_path: Path, monkeypatch, capsys) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "1", "question": "阿里健康和谁合作？", "doc_ids": ["d1"], "answers": ["慧医天下"],
         "category": "fact"},
        {"id": "2", "question": "京东健康成立了什么？", "doc_ids": ["d2"],
         "answers": ["济爱互联网医疗中心"], "category": "organisation"},
        {"id": "3", "question": "明天天气如何？", "doc_ids": [], "answers": [],
         "category": "unanswerable"},
    ]) + "\n", encoding="utf-8")
    fake = FakeAssistant()
    monkeypatch.setattr(runner, "open_assistant", lambda corpus, index_dir, *backend: (fake, 0.5))
    base = ["--questions", str(qa), "--out", str(tmp_path / "out"), "--index", str(tmp_path)]
    assert runner.main(base) == 0
    first = tmp_path / "out" / "qa" / "results.json"
    saved = json.loads(first.read_text(encoding="utf-8"))
    for mode in ("keyword", "dense", "hybrid", "heuristic", "reader"):
        m = saved["modes"][mode]["metrics"]
        assert (m["recall@1"], m["hit@1"], m["refusal_rate"]) == (1.0, 1.0, 1.0)
        assert m["citation_validity"] == 1.0
    reader = saved["modes"]["reader"]["metrics"]
    assert "em" not in saved["modes"]["heuristic"]["metrics"]
    assert reader["em"] == pytest.approx(0.5)  # 慧医天下 exact; 立济爱互 overlaps the gold
    assert 0.5 < reader["f1"] < 1.0
    assert (tmp_path / "out" / "qa" / "chart.png").stat().st_size > 0
    old = tmp_path / "old.json"
    old.write_text(first.read_text(encoding="utf-8"), encoding="utf-8")
    assert runner.main([*base, "--compare", str(old)]) == 0
    fake.break_answers = True
    assert runner.main([*base, "--compare", str(old), "--modes", "hybrid"]) == 1
    assert "REGRESSION" in capsys.readouterr().out


def test_recall_against_exact_neighbours() -> None:
    import numpy as np

    from eval.scale_sweep import recall_at_k

    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    found = np.array([[4, 3, 2, 1], [5, 9, -1, -1]])
    assert recall_at_k(found, truth) == pytest.approx((1.0 + 0.25) / 2)


def test_small_scale_sweep_compares_exact_and_calibrated_hnsw() -> None:
    from eval.scale_sweep import sweep

    result = sweep([2000], n_queries=20, latency_queries=5)
    exact, ann = result["rows"]
    assert (exact["kind"], exact["index"]["type"], exact["recall@10"]) == ("exact", "flat", 1.0)
    assert ann["index"]["type"] == "hnsw" and 0.0 < ann["recall@10"] <= 1.0
    assert ann["index"]["calibration"]["value"] == ann["index"]["efSearch"]
    assert exact["bytes"] >= 2000 * 384 * 4
    assert ann["index"]["efSearch"] in [p["efSearch"] for p in result["ef_sweep"]["2000"]]


def test_corpus_copy_and_single_document_change(tmp_path: Path) -> None:
    from eval.ingest import copy_corpus, touch_one_document

    folder = tmp_path / "src"
    folder.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (folder / name).write_text(f"{name} 正文。", encoding="utf-8")
    copied = copy_corpus(folder, tmp_path / "dest", max_docs=2)
    assert sorted(p.name for p in copied.iterdir()) == ["a.txt", "b.txt"]
    assert touch_one_document(copied) == "a.txt"
    assert (copied / "a.txt").read_text(encoding="utf-8") != "a.txt 正文。"
    assert (folder / "a.txt").read_text(encoding="utf-8") == "a.txt 正文。"

    jsonl = tmp_path / "docs.jsonl"
    write_corpus([{"id": "x", "title": "", "text": "甲"}, {"id": "y", "title": "", "text": "乙"}],
                 jsonl)
    copied = copy_corpus(jsonl, tmp_path / "dest2")
    touch_one_document(copied)
    rows = [json.loads(line) for line in copied.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["text"].startswith("甲") and len(rows[0]["text"]) > 1
    assert rows[1] == {"id": "y", "title": "", "text": "乙"}
