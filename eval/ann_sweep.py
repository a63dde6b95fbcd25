"""Exact vs approximate search on real-looking e5 vectors: recall, latency, memory, build time.

Vectors: the e5 passage/sentence vectors of the embedding cache (CMRC/DRCD chunks from earlier
index builds), expanded to each size by copies moved with noise of the data's own covariance
and renormalised. Queries: real DRCD dev question vectors (encoded once, kept under
``eval/results/``), or perturbed held-out cache vectors with ``--synthetic-queries``.

For each size: Flat (exact), HNSW for each M across an efSearch grid, IVF across nprobe; and
the build-time calibration (``rag.ann_tuning``) checked against the real questions. 10M is
projected from the largest measured size, and labelled so.

    nice -n 10 env OMP_NUM_THREADS=1 python -m eval.ann_sweep --sizes 100000 1000000

IVF here trains k-means on 20 points per list for 10 iterations (the build: 39 per list).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.ann_tuning import (
    DEFAULT_SAMPLE,
    EF_GRID,
    NPROBE_GRID,
    calibrate,
    exact_neighbours,
    perturbed_queries,
    recall_at_k,
)

RESULTS = Path(__file__).parent / "results"
K = 10
EXPAND_NOISE = 0.5  # expansion copies: cosine ≈ 0.96–0.98 to their source vector
BLOCK = 100_000


def cache_vectors(path: Path | None = None) -> np.ndarray:
    """Unique unit vectors of the sqlite embedding cache (``emb(key, vec BLOB float32)``)."""
    if path is None:
        from rag.config import cache_dir

        found = sorted((cache_dir() / "embeddings").glob("*-384.sqlite"),
                       key=lambda p: p.stat().st_size)
        if not found:
            raise SystemExit("no embedding cache under ~/.cache/rag-news/embeddings; build an "
                             "index first (python -m eval) or pass --cache")
        path = found[-1]
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        blobs = [b for (b,) in db.execute("SELECT vec FROM emb")]
    finally:
        db.close()
    vectors = np.stack([np.frombuffer(b, dtype=np.float32) for b in blobs])
    vectors = np.unique(vectors, axis=0)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.random.default_rng(0).permutation(vectors)


def expand(real: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
    """``n`` unit vectors: the real ones, then noisy copies of random real ones."""
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    head = min(n, len(real))
    out[:head] = real[:head]
    rng = np.random.default_rng(seed)
    for lo in range(head, n, BLOCK):
        hi = min(n, lo + BLOCK)
        out[lo:hi] = _copies(real, hi - lo, rng)
    return out


def _copies(real: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` (possibly more than ``len(real)``) noisy copies, in chunks of distinct sources."""
    parts = []
    while m > 0:
        take = min(m, len(real))
        parts.append(perturbed_queries(real, take, EXPAND_NOISE, int(rng.integers(1 << 31))))
        m -= take
    return np.concatenate(parts)


def question_vectors(path: Path, limit: int) -> np.ndarray:
    """e5 query vectors of the first ``limit`` questions of a SQuAD-format file (cached)."""
    cached = RESULTS / f"ann_questions-{path.stem}-{limit}.npy"
    if cached.exists():
        return np.load(cached)
    from embeddings.encoder import Encoder

    data = json.loads(path.read_text(encoding="utf-8"))
    questions = [qa["question"] for art in data["data"] for par in art["paragraphs"]
                 for qa in par["qas"]][:limit]
    vectors = np.asarray(Encoder().encode_queries(questions), dtype=np.float32)
    RESULTS.mkdir(parents=True, exist_ok=True)
    np.save(cached, vectors)
    return vectors


def sentence_vectors(path: Path, limit: int, seed: int = 0) -> np.ndarray:
    """e5 *query* vectors of ``limit`` random context sentences of a SQuAD-format file (cached):
    the held-out queries ``IndexData.build`` calibrates on, here checked against questions."""
    cached = RESULTS / f"ann_sentences-{path.stem}-{limit}.npy"
    if cached.exists():
        return np.load(cached)
    import re

    from embeddings.encoder import Encoder

    data = json.loads(path.read_text(encoding="utf-8"))
    sentences = [s.strip() for art in data["data"] for par in art["paragraphs"]
                 for s in re.split(r"(?<=[。！？!?])", par["context"]) if len(s.strip()) >= 8]
    rng = np.random.default_rng(seed)
    picked = [sentences[i][:200] for i in rng.choice(len(sentences), size=limit, replace=False)]
    vectors = np.asarray(Encoder().encode_queries(picked), dtype=np.float32)
    RESULTS.mkdir(parents=True, exist_ok=True)
    np.save(cached, vectors)
    return vectors


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def index_bytes(index: faiss.Index) -> int:
    """Serialized size (vectors + graph/lists), without keeping a copy around."""
    writer = faiss.VectorIOWriter()
    faiss.write_index(index, writer)
    return int(writer.data.size())


def latencies(index: faiss.Index, queries: np.ndarray, params: Any, single: int) -> dict:
    """p50/p95 ms of one-query calls and ms per query of one batched call."""
    times = []
    for q in queries[:single]:
        t0 = time.perf_counter()
        index.search(q[None, :], K, params=params)
        times.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    _, found = index.search(queries, K, params=params)
    batch_ms = (time.perf_counter() - t0) * 1000 / len(queries)
    return {"p50_ms": round(float(np.median(times)), 3),
            "p95_ms": round(float(np.percentile(times, 95)), 3),
            "batch_ms_per_query": round(batch_ms, 4), "found": found}


def row(kind: str, n: int, build_s: float, nbytes: int, rss: float, lat: dict,
        truth: np.ndarray, **extra: Any) -> dict[str, Any]:
    return {"n": n, "kind": kind, **extra, "build_s": round(build_s, 2),
            "index_mb": round(nbytes / 2**20, 1), "rss_mb": round(rss, 1),
            "p50_ms": lat["p50_ms"], "p95_ms": lat["p95_ms"],
            "batch_ms_per_query": lat["batch_ms_per_query"],
            "recall@10": round(recall_at_k(lat["found"], truth), 4),
            "load": os.getloadavg()[0]}


def run_size(n: int, real: np.ndarray, queries: np.ndarray, held_out: dict[str, np.ndarray],
             ms: list[int], ef_constructions: list[int], single: int, ivf: bool,
             log: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    vectors = expand(real, n)
    gen_s = time.perf_counter() - t0
    truth = exact_neighbours(vectors, queries, K)
    question_top1 = float(np.median(np.einsum("ij,ij->i", queries, vectors[truth[:, 0]])))
    rows: list[dict[str, Any]] = []
    calibrations: list[dict[str, Any]] = []

    t0 = time.perf_counter()
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    build = time.perf_counter() - t0
    rows.append(row("flat", n, build, index_bytes(flat), rss_mb(),
                    latencies(flat, queries, None, single), truth))
    log(rows[-1])
    del flat

    for m, ef_construction in [(m, e) for m in ms for e in ef_constructions]:
        t0 = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = ef_construction
        hnsw.add(vectors)
        build = time.perf_counter() - t0
        nbytes, rss = index_bytes(hnsw), rss_mb()
        for ef in EF_GRID:
            if ef > 512:
                break
            lat = latencies(hnsw, queries, faiss.SearchParametersHNSW(efSearch=ef), single)
            rows.append(row("hnsw", n, build, nbytes, rss, lat, truth, M=m,
                            efConstruction=ef_construction, param=ef))
            log(rows[-1])
        calibrations += calibration_check(
            lambda ef, x, index=hnsw: index.search(
                x, K, params=faiss.SearchParametersHNSW(efSearch=ef))[1],
            vectors, queries, truth, held_out, EF_GRID, "efSearch",
            {"M": m, "efConstruction": ef_construction}, log)
        del hnsw

    if ivf:
        nlist = 1 << round(math.log2(4 * math.sqrt(n)))
        t0 = time.perf_counter()
        quantizer = faiss.IndexFlatIP(vectors.shape[1])
        index = faiss.IndexIVFFlat(quantizer, vectors.shape[1], nlist,
                                   faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10  # k-means iterations (FAISS default 25): a 2-core budget
        rng = np.random.default_rng(0)
        index.train(vectors[rng.choice(n, size=min(n, nlist * 20), replace=False)])
        index.add(vectors)
        build = time.perf_counter() - t0
        nbytes, rss = index_bytes(index), rss_mb()
        for nprobe in NPROBE_GRID:
            if nprobe > min(nlist, 256):
                break
            lat = latencies(index, queries, faiss.SearchParametersIVF(nprobe=nprobe), single)
            rows.append(row("ivf", n, build, nbytes, rss, lat, truth, nlist=nlist,
                            param=nprobe))
            log(rows[-1])
        calibrations += calibration_check(
            lambda p, x, index=index: index.search(
                x, K, params=faiss.SearchParametersIVF(nprobe=p))[1],
            vectors, queries, truth, held_out, [p for p in NPROBE_GRID if p <= nlist], "nprobe",
            {"nlist": nlist}, log)
        del index, quantizer
    return {"n": n, "generate_s": round(gen_s, 1), "question_top1_cos": round(question_top1, 4),
            "rows": rows, "calibration": calibrations}


def calibration_check(search: Any, vectors: np.ndarray, queries: np.ndarray,
                      truth: np.ndarray, held_out: dict[str, np.ndarray], grid: Any,
                      param: str, extra: dict, log: Any) -> list:
    """Build-time calibration on perturbed indexed vectors at a few noise levels, and on
    held-out query vectors (other questions than the measured ones; corpus sentences encoded as
    queries, as ``IndexData.build`` does), then the recall the measured questions get at the
    chosen value."""
    out = []
    samples: list[tuple[Any, np.ndarray]] = [
        (noise, perturbed_queries(vectors, DEFAULT_SAMPLE, noise, seed=7))
        for noise in (0.5, 1.0)]
    samples += [(name, sample) for name, sample in held_out.items() if len(sample)]
    for noise, sample in samples:
        t0 = time.perf_counter()
        exact = exact_neighbours(vectors, sample, K)
        cal = calibrate(lambda v, s=sample: search(v, s), exact, grid, param=param)
        seconds = time.perf_counter() - t0
        top1 = float(np.median(np.einsum("ij,ij->i", sample, vectors[exact[:, 0]])))
        real = recall_at_k(search(cal.value, queries), truth)
        out.append({**extra, "noise": noise, "sample": cal.sample, "chosen": cal.value,
                    "calibration_recall": round(cal.recall, 4), "question_recall": round(real, 4),
                    "calibration_s": round(seconds, 1), "sample_top1_cos": top1,
                    "curve": cal.to_dict()["curve"]})
        log(out[-1])
    return out


def product_check(n: int, real: np.ndarray, queries: np.ndarray, sentences: np.ndarray,
                  kind: str, single: int, log: Any) -> dict[str, Any]:
    """The build path itself: ``VectorIndex.build`` (calibrated on sentences encoded as
    queries, with the build's margin), then recall on the questions, unfiltered and with
    filters allowing 50 % (index + IDSelector) and 1 % (exact scan) of the chunks."""
    from rag.backends.faiss import VectorIndex

    vectors = expand(real, n)
    truth = exact_neighbours(vectors, queries, K)
    t0 = time.perf_counter()
    vi = VectorIndex.build(vectors, 0, kind=kind, calibration_queries=sentences)
    build_s = time.perf_counter() - t0
    out: dict[str, Any] = {"n": n, "index": vi.describe(), "build_s": round(build_s, 1),
                           "index_mb": round(index_bytes(vi.index) / 2**20, 1)}
    times = []
    for q in queries[:single]:
        t0 = time.perf_counter()
        vi.search(q, K)
        times.append((time.perf_counter() - t0) * 1000)
    out.update({"p50_ms": round(float(np.median(times)), 3),
                "recall@10": round(recall_at_k(vi.search(queries, K)[1], truth), 4),
                "load": os.getloadavg()[0]})
    rng = np.random.default_rng(5)
    for share in (0.5, 0.01):
        allowed = np.sort(rng.choice(n, size=int(share * n), replace=False))
        sub = queries[:200]
        exact = allowed[exact_neighbours(vectors[allowed], sub, K)]
        found = vi.search(sub, K, allowed)[1]
        times = []
        for q in sub[:50]:
            t0 = time.perf_counter()
            vi.search(q, K, allowed)
            times.append((time.perf_counter() - t0) * 1000)
        out[f"filter_{share}"] = {"recall@10": round(recall_at_k(found, exact), 4),
                                  "only_allowed": bool(np.isin(found[found >= 0],
                                                               allowed).all()),
                                  "p50_ms": round(float(np.median(times)), 3)}
    log(out)
    return out


def project(results: list[dict[str, Any]], target_n: int = 10_000_000) -> list[dict[str, Any]]:
    """PROJECTED rows for ``target_n`` from the largest measured size: flat memory and latency
    linear in n; HNSW memory linear, latency and build per vector growing with log n at the
    efSearch the largest size needed for recall ≥ 0.95 on the questions."""
    last = max(results, key=lambda r: r["n"])
    n = last["n"]
    scale, log_scale = target_n / n, math.log(target_n) / math.log(n)
    out = []
    for kind in ("flat", "hnsw", "ivf"):
        rows = [r for r in last["rows"] if r["kind"] == kind]
        good = [r for r in rows if r["recall@10"] >= 0.95]
        if not good:
            continue
        best = min(good, key=lambda r: r["p50_ms"])
        linear = kind in ("flat", "ivf")  # IVF at fixed nlist/n: more lists, same probe share
        out.append({"n": target_n, "kind": kind, "projected": True,
                    **{k: best[k] for k in ("M", "efConstruction", "nlist", "param") if k in best},
                    "index_mb": round(best["index_mb"] * scale),
                    "p50_ms": round(best["p50_ms"] * (scale if kind == "flat" else
                                                      math.sqrt(scale) if linear
                                                      else log_scale), 2),
                    "build_s": round(best["build_s"] * scale * (1 if kind == "flat"
                                                                else log_scale)),
                    "from_n": n})
    return out


def table(results: list[dict[str, Any]], projected: list[dict[str, Any]]) -> str:
    lines = ["| n | index | param | build s | index MB | p50 ms (1 query) | ms/query (batch) "
             "| recall@10 | load |", "|---|---|---|---|---|---|---|---|---|"]
    for res in results:
        for r in res["rows"]:
            name = {"flat": "Flat (exact)",
                    "hnsw": f"HNSW M={r.get('M')} efC={r.get('efConstruction')}",
                    "ivf": f"IVF nlist={r.get('nlist')}"}[r["kind"]]
            param = {"flat": "–", "hnsw": f"efSearch={r.get('param')}",
                     "ivf": f"nprobe={r.get('param')}"}[r["kind"]]
            lines.append(f"| {r['n']:,} | {name} | {param} | {r['build_s']} | {r['index_mb']} "
                         f"| {r['p50_ms']} | {r['batch_ms_per_query']} | {r['recall@10']} "
                         f"| {r['load']:.2f} |")
    for r in projected:
        lines.append(f"| {r['n']:,} (projected) | {r['kind']} | {r.get('param', '–')} "
                     f"| ~{r['build_s']} | ~{r['index_mb']} | ~{r['p50_ms']} | – | ≥ 0.95 | – |")
    cal = ["", "| n | index | noise | sample | chosen | recall (calibration) | recall (questions) "
           "| seconds |", "|---|---|---|---|---|---|---|---|"]
    for res in results:
        for c in res["calibration"]:
            name = (f"HNSW M={c['M']} efC={c['efConstruction']}" if "M" in c
                    else f"IVF nlist={c['nlist']}")
            cal.append(f"| {res['n']:,} | {name} | {c['noise']} | {c['sample']} | {c['chosen']} "
                       f"| {c['calibration_recall']} | {c['question_recall']} "
                       f"| {c['calibration_s']} |")
    return "\n".join(lines + cal)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--M", type=int, nargs="+", default=[32], dest="ms")
    ap.add_argument("--ef-construction", type=int, nargs="+", default=[80])
    ap.add_argument("--calibration-questions", type=int, default=500,
                    help="held-out questions (after the measured ones) for calibration")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--single", type=int, default=200, help="one-at-a-time latency queries")
    ap.add_argument("--questions", type=Path, default=Path("../shared/bench/drcd/DRCD_dev.json"))
    ap.add_argument("--synthetic-queries", action="store_true")
    ap.add_argument("--no-ivf", action="store_true")
    ap.add_argument("--product", choices=["ivf", "hnsw"], default=None,
                    help="only check VectorIndex.build of this kind (the build path) per size")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    faiss.omp_set_num_threads(args.threads)
    real = cache_vectors(args.cache)
    if args.synthetic_queries or not args.questions.exists():
        held_out, real = real[:args.queries], real[args.queries:]
        queries, source = perturbed_queries(held_out, args.queries, 1.0, seed=3), "perturbed"
        held = {}
    else:
        both = question_vectors(args.questions, args.queries + args.calibration_questions)
        queries, source = both[:args.queries], str(args.questions)
        held = {"held-out questions": both[args.queries:],
                "sentences as queries": sentence_vectors(args.questions, DEFAULT_SAMPLE)}
    out = args.out or RESULTS / f"ann_sweep-{'-'.join(str(s) for s in args.sizes)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "real_vectors": len(real), "queries": len(queries), "query_source": source,
        "expand_noise": EXPAND_NOISE, "threads": args.threads, "k": K,
        "uptime_start": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        "results": []}

    def log(item: dict) -> None:
        print(json.dumps(item, ensure_ascii=False), flush=True)

    if args.product:
        if not held:
            raise SystemExit("--product needs the question file (sentences as queries)")
        report["product"] = [product_check(n, real, queries, held["sentences as queries"],
                                           args.product, args.single, log)
                             for n in args.sizes]
        report["uptime_end"] = subprocess.run(["uptime"], capture_output=True,
                                              text=True).stdout.strip()
        out.write_text(json.dumps(report, indent=1))
        print(f"{report['uptime_start']}\n{report['uptime_end']}\nsaved {out}")
        return
    for n in args.sizes:
        report["results"].append(run_size(n, real, queries, held, args.ms, args.ef_construction,
                                          args.single, not args.no_ivf, log))
        report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out.write_text(json.dumps(report, indent=1))  # partial results survive a kill
    report["projected"] = project(report["results"])
    report["uptime_end"] = subprocess.run(["uptime"], capture_output=True,
                                          text=True).stdout.strip()
    out.write_text(json.dumps(report, indent=1))
    print(table(report["results"], report["projected"]))
    print(f"\n{report['uptime_start']}\n{report['uptime_end']}\nsaved {out}")


if __name__ == "__main__":
    main()
