"""Speed benchmark: ingest throughput, re-index time, query latency per stage, index scale.

Run ``python -m eval speed`` or ``python eval/bench_speed.py`` from the repository root.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PARTS = ("ingest", "latency", "sweep")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m eval speed", description=__doc__)
    p.add_argument("--corpus", type=Path, default=REPO / "data" / "articles",
                   help="corpus folder or .jsonl to ingest (copied to a temporary folder)")
    p.add_argument("--max-docs", type=int, help="ingest only the first N documents")
    p.add_argument("--questions", type=Path, default=REPO / "eval" / "data" / "bundled_qa.jsonl",
                   help="questions for the latency part: JSONL, or a SQuAD .json")
    p.add_argument("--max-questions", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3, help="passes over the latency questions")
    p.add_argument("--sizes", default="10000,100000,1000000", help="scale sweep sizes")
    p.add_argument("--parts", default=",".join(PARTS), help="subset of " + ",".join(PARTS))
    p.add_argument("--out", type=Path, default=REPO / "eval" / "results", help="results folder")
    args = p.parse_args(argv)
    args.parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    args.sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    return args


def latency_questions(path: Path, limit: int) -> list[str]:
    """Question strings from a JSONL set or a SQuAD file, evenly spread, at most ``limit``."""
    from eval.questions import load_questions, spread_sample
    from eval.squad import load_squad

    items = load_squad(path)[1] if path.suffix == ".json" else load_questions(path)
    return [q.question for q in spread_sample(items, limit)]


def print_tables(result: dict[str, Any]) -> None:
    from eval.report import fmt, grid

    if "ingest" in result:
        print("\n== ingest (fresh build, embedding cache off) and re-index")
        print(grid(["figure", "value"], [[k, fmt(v)] for k, v in result["ingest"].items()]))
    if "latency" in result:
        print("\n== query latency per stage (ms, Assistant.answer default mode)")
        rows = [[s, fmt(v["p50_ms"]), fmt(v["p95_ms"]), fmt(v["mean_ms"]), str(v["n"])]
                for s, v in result["latency"].items()]
        print(grid(["stage", "p50", "p95", "mean", "n"], rows))
    if "sweep" in result:
        sw = result["sweep"]
        print(f"\n== vector index scale sweep (dim {sw['dim']}, "
              f"{sw['points_per_cluster']} points per cluster, "
              f"spread {sw['spread']}, {sw['queries']} queries)")
        rows = [[str(r["n"]), r["kind"], str(r["index"].get("M", "-")),
                 str(r["index"].get("efSearch", "-")), fmt(r["build_seconds"]),
                 f"{r['bytes'] / 2**20:.1f}", fmt(r["latency_p50_ms"]), fmt(r["latency_p95_ms"]),
                 fmt(r["recall@10"])] for r in sw["rows"]]
        print(grid(["n", "kind", "M", "efSearch", "build s", "MiB", "p50 ms", "p95 ms",
                    "recall@10"], rows))
        print("\nHNSW efSearch sweep around the calibrated value (recall@10 vs exact / p50 ms)")
        rows = [[n, str(r["efSearch"]), fmt(r["recall@10"]), fmt(r["latency_p50_ms"])]
                for n, probes in sw["ef_sweep"].items() for r in probes]
        print(grid(["n", "efSearch", "recall@10", "p50 ms"], rows))


def main(argv: list[str] | None = None) -> int:
    from eval.chart import scale_chart
    from eval.output import code_version, save_json

    args = parse_args(argv)
    result: dict[str, Any] = {"code": code_version(REPO), "cpus": os.cpu_count(),
                              "load_avg_start": os.getloadavg()}
    assistant = None
    # read first: a malformed question file is an error before minutes of ingest
    questions = (latency_questions(args.questions, args.max_questions)
                 if "latency" in args.parts else [])
    with tempfile.TemporaryDirectory(prefix="rag-speed-") as tmp:
        if "ingest" in args.parts:
            from eval.ingest import ingest_report

            assistant, result["ingest"] = ingest_report(args.corpus, Path(tmp), args.max_docs)
        if "latency" in args.parts:
            from eval.latency import stage_latency

            if assistant is None:
                from rag import Assistant

                assistant = Assistant.build(corpus=args.corpus, progress=True)
            result["latency"] = stage_latency(assistant, questions, args.repeats)
        del assistant
    if "sweep" in args.parts:
        from eval.scale_sweep import sweep

        result["sweep"] = sweep(args.sizes)
    result["load_avg_end"] = os.getloadavg()
    print_tables(result)
    print(f"\nload average {result['load_avg_start'][1]:.1f} -> {result['load_avg_end'][1]:.1f} "
          f"(5 min) on {result['cpus']} CPUs")
    folder = args.out / "speed"
    for path in save_json(result, folder, "speed"):
        print(f"wrote {path}")
    if "sweep" in result:
        print(f"wrote {scale_chart(result['sweep']['rows'], folder / 'scale.png')}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    from eval.questions import errors_reported

    sys.exit(errors_reported(lambda: main(sys.argv[1:])))
