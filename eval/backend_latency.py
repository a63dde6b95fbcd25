"""Search latency per backend on one corpus: ``python -m eval.backend_latency``.

Builds the corpus (default: the bundled articles) into a temporary index per backend (FAISS,
Milvus Lite; the embedding cache makes this cheap), then times the dense and BM25 searches of
``Assistant.retrieve`` (hybrid mode) for every question of the eval set, ``--repeats`` times,
and checks that both backends return the same top-10. Prints p50/p95 per stage with the load
average.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    from eval.questions import load_questions
    from rag import Assistant

    p = argparse.ArgumentParser(prog="python -m eval.backend_latency", description=__doc__)
    p.add_argument("--corpus", type=Path, default=REPO / "data" / "articles")
    p.add_argument("--questions", type=Path, default=REPO / "eval" / "data" / "bundled_qa.jsonl")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    questions = [q.question for q in load_questions(args.questions)]
    with tempfile.TemporaryDirectory(prefix="rag-backends-") as tmp:
        assistants = {name: Assistant.build(args.corpus, Path(tmp) / name, backend=name)
                      for name in ("faiss", "milvus")}
        same = 0
        stages: dict[str, dict[str, list[float]]] = {n: {"dense": [], "keyword": []}
                                                     for n in assistants}
        load = [os.getloadavg()[0]]
        for assistant in assistants.values():
            assistant.retrieve(questions[0], 10)  # warm up (model, jieba, connection)
        for _ in range(args.repeats):
            for question in questions:
                tops = []
                for name, assistant in assistants.items():
                    timings: dict[str, float] = {}
                    hits = assistant.retrieve(question, 10, timings=timings)
                    tops.append([(h.doc_id, h.start) for h in hits])
                    for stage in ("dense", "keyword"):
                        if stage in timings:
                            stages[name][stage].append(timings[stage] * 1000)
                same += tops[0] == tops[1]
        load.append(os.getloadavg()[0])
        n_chunks = len(assistants["faiss"].chunks)
        for assistant in assistants.values():
            assistant.close()
    total = len(questions) * args.repeats
    print(f"{len(questions)} questions × {args.repeats}, {n_chunks} chunks, load avg "
          f"{load[0]:.2f} → {load[1]:.2f} on {os.cpu_count()} CPUs")
    print(f"same top-10 (hybrid): {same}/{total}")
    print("backend  stage    p50 ms   p95 ms")
    for name, per in stages.items():
        for stage, values in per.items():
            if values:
                print(f"{name:8} {stage:7} {np.percentile(values, 50):8.2f} "
                      f"{np.percentile(values, 95):8.2f}")
    return 0 if same == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
