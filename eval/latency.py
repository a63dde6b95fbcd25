"""Query latency per pipeline stage, from the ``timings`` dict of ``Assistant.answer``."""

from __future__ import annotations

import time
from typing import Any

from tqdm import tqdm

from eval.metrics import percentile
from eval.summary import STAGES


def stage_latency(assistant: Any, questions: list[str], repeats: int = 1,
                  warmup: int = 3) -> dict[str, dict[str, float | None]]:
    """``{stage: {"p50_ms", "p95_ms", "mean_ms"}}`` over ``repeats`` passes of ``questions``.

    Stages: query encoding, FAISS, BM25, fusion, answer extraction, and the whole call
    (``total``, as reported by the assistant; ``wall`` measured here).
    """
    for q in questions[:warmup]:
        assistant.answer(q)
    samples: dict[str, list[float]] = {s: [] for s in (*STAGES, "wall")}
    for _ in range(repeats):
        for q in tqdm(questions, desc="latency", unit="q"):
            timings: dict[str, float] = {}
            t0 = time.perf_counter()
            assistant.answer(q, timings=timings)
            samples["wall"].append((time.perf_counter() - t0) * 1000)
            for stage in STAGES:
                if stage in timings:
                    samples[stage].append(timings[stage] * 1000)
    return {
        stage: {
            "p50_ms": percentile(values, 50),
            "p95_ms": percentile(values, 95),
            "mean_ms": sum(values) / len(values) if values else None,
            "n": len(values),
        }
        for stage, values in samples.items()
    }
