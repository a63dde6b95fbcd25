"""Fit the reader's answer settings on held-out DRCD, never on the measurement sets.

    python -m eval fit-reader [--limit N]

Corpus: the paragraphs of the DRCD articles that training held out (Simplified script), with
a third of them removed; questions of removed paragraphs whose answer appears nowhere in the
remaining corpus are the unanswerable ones. Every question runs through the real pipeline
(hybrid retrieval → reader over the top chunks), and every read span is recorded, so the
settings are chosen offline:

- ``reader_chunks``: how many top chunks to read (the fewest within 0.01 hit@1 of the best);
- ``reader_rank_penalty``: the per-retrieval-rank penalty that maximises answer hit@1;
- ``reader_dense_weight`` and ``reader_min_margin``: evidence = margin + weight × query–chunk
  similarity; the weight that refuses most unanswerable questions at the threshold keeping
  false refusals ≤ 5 %.

The same questions in Traditional script are reported beside (script-insensitivity).
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.metrics import answer_hit

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO.parent / "shared" / "bench"
PENALTIES = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
DENSE_WEIGHTS = (0.0, 5.0, 10.0, 20.0, 40.0)
MAX_FALSE_REFUSAL = 0.05


@dataclass
class Read:
    """All spans read for one question: (margin, rank, snippet text, chunk similarity)."""

    qid: str
    script: str
    answers: list[str]
    answerable: bool
    spans: list[tuple[float, int, str, float]]


def build_set(bench: Path, seed: int = 7):
    """(documents, questions) from the held-out DRCD articles of reader training."""
    from rag.reader.training import TrainConfig, load_corpus

    corpus = load_corpus(bench, TrainConfig())
    paragraphs = sorted({simp.context for simp, _ in corpus.heldout})
    rng = random.Random(seed)
    removed = set(rng.sample(paragraphs, len(paragraphs) // 3))
    kept = [p for p in paragraphs if p not in removed]
    docs = [{"id": f"d{i:04d}", "title": "", "text": p} for i, p in enumerate(kept)]
    everything = "\n".join(kept)
    questions = []
    for simp, trad in corpus.heldout:
        if simp.context in removed and simp.answer in everything:
            continue  # neither clearly answerable nor clearly unanswerable
        answerable = simp.context not in removed
        questions.append((simp, trad, answerable))
    return docs, questions


def read_all(assistant, questions, scripts=("simplified", "traditional")) -> list[Read]:
    """Every question through retrieval and the reader, in both scripts, every span kept."""
    from tqdm import tqdm

    from rag.reader.answerer import chunk_similarity

    reads = []
    answerer = assistant._answerer_for(True)
    for simp, trad, answerable in tqdm(questions, unit="q"):
        for script in scripts:
            ex = simp if script == "simplified" else trad
            retrieval = assistant._retriever.run(ex.question)
            chunks = assistant._retriever.distinct(retrieval.candidates,
                                                   assistant.config.answer.reader_chunks)
            passages = [assistant.chunks[i].text for i, _ in chunks]
            spans = []
            for s in assistant.reader.read(ex.question, passages):
                cand = answerer._place(s, chunks)
                start, end = answerer._sentence_span(cand)
                doc = assistant._data.documents[cand.doc].text
                sim = chunk_similarity(retrieval, cand.chunk)
                spans.append((s.margin, s.passage, doc[start:end], sim))
            reads.append(Read(simp.qid, script, [simp.answer], answerable, spans))
    return reads


def outcome(read: Read, penalty: float, dense_weight: float = 0.0) -> tuple[float, bool]:
    """(evidence of the best span, hit@1) under a rank penalty and a dense weight."""
    if not read.spans:
        return -np.inf, False
    scored = sorted(read.spans, key=lambda s: -(s[0] - penalty * s[1]))
    margin, _rank, text, sim = scored[0]
    return margin + dense_weight * sim, answer_hit(read.answers, [text], 1)


def _refusal_at(reads: list[Read], penalty: float, weight: float) -> tuple[float, float]:
    """(threshold keeping false refusals at MAX_FALSE_REFUSAL, refusal rate it gives)."""
    pos = np.array([outcome(r, penalty, weight)[0] for r in reads if r.answerable])
    neg = np.array([outcome(r, penalty, weight)[0] for r in reads if not r.answerable])
    threshold = float(np.quantile(pos, MAX_FALSE_REFUSAL))
    return threshold, float(np.mean(neg < threshold)) if neg.size else 0.0


def _limit(reads: list[Read], n_chunks: int) -> list[Read]:
    """The reads as if only the top ``n_chunks`` chunks had been read."""
    return [Read(r.qid, r.script, r.answers, r.answerable,
                 [s for s in r.spans if s[1] < n_chunks]) for r in reads]


def fit_settings(reads: list[Read]) -> dict:
    """Rank penalty, dense weight and threshold fitted on the Simplified reads, and the
    figures they give in both scripts."""
    train = [r for r in reads if r.script == "simplified"]
    pos = [r for r in train if r.answerable]
    best_penalty = max(PENALTIES, key=lambda p: (np.mean([outcome(r, p)[1] for r in pos]), -p))
    by_weight = {w: _refusal_at(train, best_penalty, w) for w in DENSE_WEIGHTS}
    weight = max(DENSE_WEIGHTS, key=lambda w: (by_weight[w][1], -w))
    threshold = by_weight[weight][0]
    report = {"reader_rank_penalty": best_penalty, "reader_dense_weight": weight,
              "reader_min_margin": round(threshold, 3),
              "refusal_by_dense_weight": {str(w): round(v[1], 4) for w, v in by_weight.items()},
              "hit@1_by_penalty": {str(p): round(float(np.mean([outcome(r, p)[1] for r in pos])),
                                                 4) for p in PENALTIES}}
    for script in ("simplified", "traditional"):
        rs = [r for r in reads if r.script == script]
        ans = [outcome(r, best_penalty, weight) for r in rs if r.answerable]
        neg = [outcome(r, best_penalty, weight)[0] for r in rs if not r.answerable]
        report[script] = {
            "answerable": len(ans), "unanswerable": len(neg),
            "hit@1_before_refusal": round(float(np.mean([h for _, h in ans])), 4),
            "hit@1": round(float(np.mean([h and s >= threshold for s, h in ans])), 4),
            "false_refusal": round(float(np.mean([s < threshold for s, _ in ans])), 4),
            "refusal": round(float(np.mean([s < threshold for s in neg])), 4) if neg else None,
        }
    return report


def fit(reads: list[Read], max_chunks: int) -> dict:
    """Settings for reading 1..max_chunks chunks; the fewest chunks whose Simplified hit@1 is
    within 0.01 of the best is chosen (each chunk read costs latency)."""
    by_n = {n: fit_settings(_limit(reads, n)) for n in range(1, max_chunks + 1)}
    best = max(v["simplified"]["hit@1"] for v in by_n.values())
    chosen = min(n for n, v in by_n.items() if v["simplified"]["hit@1"] >= best - 0.01)
    return {"reader_chunks": chosen, **by_n[chosen],
            "by_reader_chunks": {str(n): {k: v[k] for k in ("simplified", "traditional")}
                                 for n, v in by_n.items()}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval fit-reader", description=__doc__)
    p.add_argument("--bench", type=Path, default=BENCH)
    p.add_argument("--limit", type=int, help="use N questions (spread over the set)")
    p.add_argument("--out", type=Path, default=REPO / "eval" / "results" / "fit_reader.json")
    args = p.parse_args(argv)
    from eval.squad import write_corpus
    from eval.workspace import eval_cache
    from rag import Assistant
    from rag.reader.inference import weights_sha256

    docs, questions = build_set(args.bench)
    if args.limit and args.limit < len(questions):
        questions = [questions[i * len(questions) // args.limit] for i in range(args.limit)]
    corpus = write_corpus(docs, eval_cache() / "drcd-heldout" / "corpus.jsonl")
    assistant = Assistant.build(corpus=corpus, index_dir=eval_cache() / "drcd-heldout" / "index",
                                progress=True)
    reads = read_all(assistant, questions)
    report = fit(reads, assistant.config.answer.reader_chunks)
    report["questions"] = len(questions)
    report["weights_sha256"] = weights_sha256()
    print(json.dumps(report, indent=1, ensure_ascii=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {args.out}; put the reader_* settings in rag/config.py AnswerConfig")
    return 0
