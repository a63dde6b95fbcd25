"""Big-ingest benchmark: index every DRCD + CMRC 2018 paragraph, cold and cached.

``python -m eval.ingest_bench [--bench ../shared/bench] [--backends faiss,milvus]
[--limit N]``

Writes the paragraphs as one temporary JSONL corpus (outside the repository), then builds:

1. **cold**: a FAISS index with an empty embedding cache in a temporary folder (every chunk
   and sentence is embedded: the throughput of a first ingest);
2. **cached**: the same build again into a new index per backend, with that cache now full
   (chunking, BM25, index writing and for Milvus the inserts: what a resumed or re-run
   ingest costs).

Prints chunks/s, peak memory (``ru_maxrss``) and the projected time for 1M chunks on this
machine, with the load average. Nothing is written to ``~/.cache/rag-news`` except the
default model (already there after a first run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

SETS = ("drcd/DRCD_dev.json", "drcd/DRCD_test.json", "cmrc2018_dev.json")


def paragraphs(bench: Path, limit: int | None = None) -> list[dict[str, str]]:
    """Every paragraph of the DRCD and CMRC 2018 files as ``{id, title, text}``."""
    out: list[dict[str, str]] = []
    for rel in SETS:
        path = bench / rel
        data = json.loads(path.read_text(encoding="utf-8"))
        for a, article in enumerate(data["data"]):
            for p, para in enumerate(article["paragraphs"]):
                out.append({"id": f"{path.stem}-{a}-{p}", "title": article.get("title", ""),
                            "text": para["context"]})
    return out[:limit] if limit else out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def build(corpus: Path, index_dir: Path, embed_cache: Path, backend: str) -> dict[str, Any]:
    """One ``Assistant.build`` with the embedding cache at ``embed_cache``; its figures."""
    from embeddings.choice import make_encoder
    from rag import Assistant

    def bench_encoder(model: Any, cache_dir: Any = None, *args: Any, **kw: Any) -> Any:
        return make_encoder(model, embed_cache, *args, **kw)  # the default encoder, own cache

    with mock.patch("rag.assistant.make_encoder", bench_encoder):
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        assistant = Assistant.build(corpus, index_dir, backend=backend, progress=True)
        wall = time.perf_counter() - t0
    m = assistant.manifest
    assistant.close()
    chunks = m["counts"]["chunks"]
    return {"backend": backend, "documents": m["counts"]["documents"], "chunks": chunks,
            "sentences": m["counts"]["sentences"], "embedded": m["embedded"],
            "wall_s": round(wall, 1), "build_s": m["build_seconds"],
            "insert_s": (m.get("backend") or {}).get("insert_seconds"),
            "chunks_per_s": round(chunks / wall, 2), "peak_rss_mb": round(peak_rss_mb()),
            "load_avg": (round(load0, 2), round(os.getloadavg()[0], 2))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.ingest_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", type=Path, default=Path("../shared/bench"),
                   help="folder holding drcd/ and cmrc2018_dev.json (read only)")
    p.add_argument("--backends", default="faiss,milvus", help="backends of the cached builds")
    p.add_argument("--limit", type=int, help="only the first N paragraphs (a quick check)")
    p.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    docs = paragraphs(args.bench, args.limit)
    with tempfile.TemporaryDirectory(prefix="rag-ingest-") as tmp:
        work = Path(tmp)
        corpus = work / "paragraphs.jsonl"
        corpus.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs),
                          encoding="utf-8")
        cache = work / "embeddings"
        print(f"[ingest] {len(docs)} paragraphs ({corpus.stat().st_size / 1e6:.1f} MB JSONL) "
              f"in {work}; cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f}", flush=True)
        rows = [{"run": "cold", **build(corpus, work / "cold", cache, "faiss")}]
        print(json.dumps(rows[-1]), flush=True)
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            rows.append({"run": "cached", **build(corpus, work / f"cached-{backend}", cache,
                                                   backend)})
            print(json.dumps(rows[-1]), flush=True)
    cold = rows[0]
    hours = 1_000_000 / cold["chunks_per_s"] / 3600
    print(f"\n{'run':7} {'backend':8} {'chunks':>7} {'embedded':>9} {'wall s':>8} "
          f"{'chunks/s':>9} {'peak MB':>8}  load avg (start, end)")
    for r in rows:
        print(f"{r['run']:7} {r['backend']:8} {r['chunks']:7d} {r['embedded']:9d} "
              f"{r['wall_s']:8.1f} {r['chunks_per_s']:9.2f} {r['peak_rss_mb']:8d}  "
              f"{r['load_avg']}")
    print(f"\nprojected cold ingest of 1M chunks on this machine: {hours:.1f} h "
          f"({cold['chunks_per_s']:.2f} chunks/s, embedding-bound)")
    for r in rows[1:]:
        print(f"projected re-run of 1M already-embedded chunks ({r['backend']}): "
              f"{1_000_000 / r['chunks_per_s'] / 3600:.2f} h")
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "projected_cold_1m_hours": hours},
                                       indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
