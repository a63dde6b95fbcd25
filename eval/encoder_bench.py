"""Encoder benchmark: torch vs ONNX fp32 vs ONNX int8 on 2 cores.

Prints, per encoder: passage throughput (texts/s on the bundled corpus's chunks, the index
build's one-pass ``encode_passages_with_spans``), query latency p50 (one question at a time,
CMRC/DRCD questions read from ``--bench``), cosine to torch (queries, passages, sentence spans;
mean and minimum), and the cold start of ``python -m rag ask`` (subprocess wall time, median
of ``--repeats``) on a prebuilt index. Run from the repository root::

    python -m eval.encoder_bench            # or: make bench-encoder

Timings on a shared machine: the load average is printed beside each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
VARIANTS = ("torch", "onnx", "onnx-int8")


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def bundled_passages(limit: int | None = None) -> tuple[list[str], list[list[tuple[int, int]]]]:
    """Chunk texts of the bundled corpus (as embedded at index time) and their sentence spans,
    repeated up to ``limit`` texts (each text is encoded afresh: no cache)."""
    from rag.chunking import chunk_document
    from rag.config import BUNDLED_CORPUS, ChunkingConfig
    from rag.corpus import load_corpus
    from rag.index_data import embedding_text
    from rag.sentences import split_sentences

    texts: list[str] = []
    spans: list[list[tuple[int, int]]] = []
    for doc in load_corpus(BUNDLED_CORPUS):
        for chunk in chunk_document(doc, ChunkingConfig()):
            text = embedding_text(chunk)
            shift = len(text) - len(chunk.text)
            texts.append(text)
            spans.append([(a + shift, b + shift) for a, b in split_sentences(chunk.text)])
    if limit and texts:  # the bundled corpus has 57 chunks: repeat them for a steady figure
        picked = [i % len(texts) for i in range(limit)]
        texts, spans = [texts[i] for i in picked], [spans[i] for i in picked]
    return texts, spans


def bench_questions(bench: Path, limit: int) -> list[str]:
    """Questions from CMRC 2018 dev and DRCD dev (half each), for query latency and cosine."""
    out: list[str] = []
    for path in (bench / "cmrc2018_dev.json", bench / "drcd" / "DRCD_dev.json"):
        if not path.is_file():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        qs = [qa["question"] for art in data for p in art["paragraphs"] for qa in p["qas"]]
        step = max(1, len(qs) // (limit // 2 or 1))
        out.extend(qs[::step][: limit // 2])
    return out


def make(variant: str, threads: int):
    from embeddings import make_encoder

    return make_encoder(None, None, variant=variant, query_threads=1, passage_threads=threads)


def passage_rates(encoders: dict, texts, spans, repeats: int) -> dict[str, tuple]:
    """Median texts/s of each encoder and its vectors; the encoders take turns in every
    repeat, so a change of machine load hits all of them alike (a shared machine)."""
    rates: dict[str, list[float]] = {name: [] for name in encoders}
    vectors = {}
    for enc in encoders.values():
        enc.encode_passages_with_spans(texts[:8], spans[:8], use_cache=False)  # load, warm up
    for _ in range(repeats):
        for name, enc in encoders.items():
            t = time.perf_counter()
            vectors[name] = enc.encode_passages_with_spans(texts, spans, use_cache=False)
            rates[name].append(len(texts) / (time.perf_counter() - t))
    return {name: (statistics.median(rates[name]), *vectors[name]) for name in encoders}


def query_p50(enc, questions: list[str]) -> tuple[float, np.ndarray]:
    enc.encode_queries(questions[:3])
    times, vecs = [], []
    for q in questions:
        t = time.perf_counter()
        vecs.append(enc.encode_queries([q])[0])
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, np.stack(vecs)


def cold_start(index: Path, question: str, repeats: int, repo: Path = REPO
               ) -> tuple[float, bool]:
    """Median wall time of ``python -m rag ask`` in a fresh process, and whether torch was
    imported in it."""
    argv = ["rag", "ask", "--index", str(index), question]
    code = (f"import runpy, sys; sys.argv = {argv!r}\n"
            "try:\n    runpy.run_module('rag', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('TORCH', 'torch' in sys.modules, file=sys.stderr)")
    times, torch_seen = [], False
    for _ in range(repeats):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True,
                              text=True, env={**os.environ, "HF_HUB_OFFLINE": "1",
                                              "TRANSFORMERS_OFFLINE": "1"})
        times.append(time.perf_counter() - t)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        torch_seen |= "TORCH True" in proc.stderr
    return statistics.median(times), torch_seen


def cosines(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    c = (a * b).sum(axis=1)
    return float(c.mean()), float(c.min())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.encoder_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", type=Path, default=REPO.parent / "shared" / "bench",
                   help="folder with cmrc2018_dev.json and drcd/DRCD_dev.json (questions)")
    p.add_argument("--passages", type=int, default=160,
                   help="bundled chunks to encode (repeated to this many)")
    p.add_argument("--questions", type=int, default=100)
    p.add_argument("--threads", type=int, default=2, help="intra-op threads for passages")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--no-cold-start", action="store_true")
    p.add_argument("--baseline", type=Path,
                   help="a checkout of an older version (e.g. `git worktree add`): also time "
                        "its `rag ask` cold start on a torch-built index")
    args = p.parse_args(argv)
    texts, spans = bundled_passages(args.passages)
    questions = bench_questions(args.bench, args.questions) or [t[:30] for t in texts]
    print(f"{len(texts)} bundled chunks ({len(set(texts))} distinct; mean "
          f"{np.mean([len(t) for t in texts]):.0f} chars), "
          f"{len(questions)} questions; passage threads {args.threads}, query threads 1")
    ref = None
    encoders = {v.strip(): make(v.strip(), args.threads)
                for v in args.variants.split(",") if v.strip()}
    passages = passage_rates(encoders, texts, spans, args.repeats)
    for variant, enc in encoders.items():
        rate, vecs, svecs = passages[variant]
        p50, qvecs = query_p50(enc, questions)
        line = (f"{variant:10s} passages {rate:6.1f} texts/s  query p50 {p50:5.1f} ms  "
                f"[{load()}]")
        if ref is None and variant == "torch":
            ref = (vecs, np.concatenate(svecs), qvecs)
        elif ref is not None:
            (qm, qn), (pm, pn) = cosines(qvecs, ref[2]), cosines(vecs, ref[0])
            sm, sn = cosines(np.concatenate(svecs), ref[1])
            line += (f"\n{'':10s} cosine to torch: queries mean {qm:.4f} min {qn:.4f}; "
                     f"passages mean {pm:.4f} min {pn:.4f}; sentences mean {sm:.4f} "
                     f"min {sn:.4f}")
        print(line, flush=True)
    del encoders
    if not args.no_cold_start:
        _cold_starts(args.repeats, args.baseline)
    return 0


def _cold_starts(repeats: int, baseline: Path | None) -> None:
    """Build the bundled index (default encoder) once, then time ``rag ask`` on it; with
    ``baseline`` (a checkout of an older version), also time that version's ``rag ask`` on a
    torch-built index."""
    from rag import Assistant, Config

    question = "安唐保是为哪类患者设计的？"
    with tempfile.TemporaryDirectory(prefix="encoder-bench-") as tmp:
        runs = [("this checkout", "auto", REPO)]
        if baseline is not None:
            runs.append((f"baseline {baseline}", "torch", baseline))
        for name, variant, repo in runs:
            config = Config()
            config.encoder = variant
            index = Path(tmp) / variant
            assistant = Assistant.build(index_dir=index, config=config)
            assistant.answer(question)  # exports the ONNX reader on first use where needed
            del assistant
            wall, torch_seen = cold_start(index, question, repeats, repo)
            print(f"rag ask cold start, {name}: {wall:4.2f} s (median of {repeats}; "
                  f"torch imported: {torch_seen}) [{load()}]", flush=True)


if __name__ == "__main__":
    sys.exit(main())
