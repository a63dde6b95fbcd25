"""``python -m eval``: retrieval and answer quality per mode, plus cost, on a question set."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from eval.collect import ALIASES, MODES, run_mode
from eval.output import code_version
from eval.questions import (
    EvalInputError,
    Question,
    errors_reported,
    load_questions,
    spread_sample,
    unknown_gold_docs,
)
from eval.report import category_table, compare, load_results, metrics_table

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO / "data" / "articles"
DEFAULT_QUESTIONS = REPO / "eval" / "data" / "bundled_qa.jsonl"
DEFAULT_OUT = REPO / "eval" / "results"
MANIFEST_KEYS = ("build_seconds", "counts", "model", "dim", "vector_index", "backend")


def positive_int(text: str) -> int:
    """``--limit``: a whole number of at least 1 (0 used to evaluate every question)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder or .jsonl")
    p.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, help="question JSONL")
    p.add_argument("--squad", type=Path, help="SQuAD v1 JSON: evaluate on it instead")
    p.add_argument("--ask-from", type=Path,
                   help="SQuAD v1 JSON with the same question ids in another language: ask "
                        "those questions over --squad's paragraphs (XQuAD cross-lingual)")
    p.add_argument("--index", type=Path, help="index folder (default: one per corpus in cache)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results folder")
    p.add_argument("--modes", default=",".join(MODES), help="comma-separated: " + ",".join(MODES))
    p.add_argument("--limit", type=positive_int,
                   help="evaluate N questions, evenly spread over the set")
    p.add_argument("--compare", type=Path, help="older results.json: print deltas, exit 1 if worse")
    p.add_argument("--tolerance", type=float, default=0.01, help="allowed drop of a quality metric")
    p.add_argument("--backend", choices=("faiss", "milvus"), default="faiss",
                   help="index backend (milvus: a Milvus Lite file in the index folder, or "
                        "--uri); its own index folder, so both can be compared")
    p.add_argument("--uri", help="Milvus uri (a .db file or http://host:19530)")
    args = p.parse_args(argv)
    args.modes = [ALIASES.get(m.strip(), m.strip()) for m in args.modes.split(",") if m.strip()]
    unknown = sorted(set(args.modes) - set(MODES))
    if unknown:
        p.error(f"unknown mode(s): {', '.join(unknown)}")
    args.old_results = None
    if args.compare is not None:  # checked before minutes of evaluation
        if not args.compare.is_file():
            p.error(f"--compare {args.compare}: no such file (results are written as "
                    "<out>/<set name>/results.json)")
        try:
            args.old_results = load_results(args.compare)
        except EvalInputError as exc:
            p.error(str(exc))
    return args


def load_eval_set(args: argparse.Namespace) -> tuple[str, Path, list[Question]]:
    """(set name, corpus path, questions) for a bundled-style set or a SQuAD file."""
    if args.squad:
        from eval.squad import load_squad, write_corpus
        from eval.workspace import squad_corpus_path

        docs, questions = load_squad(args.squad)
        corpus = write_corpus(docs, squad_corpus_path(args.squad))
        name = args.squad.stem
        if args.ask_from:
            from eval.squad import translate_questions

            questions = translate_questions(questions, args.ask_from)
            name = f"{name}-asked-{args.ask_from.stem}"
        return name, corpus, questions
    return args.questions.stem, args.corpus, load_questions(args.questions)


def open_assistant(corpus: Path, index_dir: Path, backend: str = "faiss",
                   uri: str | None = None) -> tuple[Any, float]:
    """Build or refresh the index; returns the assistant and the seconds it took."""
    from rag import Assistant

    t0 = time.perf_counter()
    assistant = Assistant.build(corpus=corpus, index_dir=index_dir, model=None, progress=True,
                                backend=backend, uri=uri)
    return assistant, time.perf_counter() - t0


def write_outputs(results: dict[str, Any], details: list[dict], folder: Path) -> list[Path]:
    """results.json (+ timestamped copy), details.jsonl and chart.png in ``folder``."""
    from eval.chart import quality_chart
    from eval.output import save_json, save_jsonl

    latest, stamped = save_json(results, folder, "results")
    return [
        latest,
        stamped,
        save_jsonl(details, folder / "details.jsonl"),
        quality_chart(results, folder / "chart.png"),
    ]


def evaluate_modes(assistant: Any, questions: list[Question],
                   modes: list[str]) -> tuple[dict[str, Any], list[dict]]:
    """Summaries per mode and the per-question details of every mode."""
    from eval.summary import summarise_mode

    summaries: dict[str, Any] = {}
    details: list[dict] = []
    for mode in modes:
        t0 = time.perf_counter()
        records = run_mode(assistant, questions, mode)
        summaries[mode] = {**summarise_mode(records), "seconds": round(time.perf_counter() - t0, 2)}
        details += [{"mode": mode, **r.to_dict()} for r in records]
    return summaries, details


def print_report(results: dict[str, Any]) -> None:
    meta = results["meta"]
    print(f"\n== {meta['name']}: {meta['n_questions']} questions; index build "
          f"{meta['build_seconds']} s (manifest), open {meta['open_seconds']} s; "
          f"{meta['counts']}; load avg {meta['load_avg_end'][1]:.1f} on {meta['cpus']} CPUs")
    code = meta.get("code", {})
    print(f"code: commit {code.get('commit')}, sources {code.get('source_sha1')}, "
          f"uncommitted {code.get('changed') or 'none'}")
    print(metrics_table(results))
    print("\nper category")
    print(category_table(results))


def check_regressions(old_path: Path, results: dict[str, Any], tolerance: float,
                      old: dict[str, Any] | None = None) -> int:
    """Print deltas against an older results file (``old``: already read from it); 1 if a
    quality metric regressed."""
    old = old if old is not None else load_results(old_path)
    lines, regressions = compare(old, results, tolerance)
    print(f"\ncompared with {old_path} (tolerance {tolerance})")
    print("\n".join(lines))
    if regressions:
        print(f"{len(regressions)} regression(s):\n  " + "\n  ".join(regressions))
        return 1
    print("no quality regression")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Bad input (a malformed question or SQuAD file, gold doc_ids the corpus lacks, a
    missing corpus) is one ``error:`` line and exit status 2; results are written only for
    an evaluation that means what it says."""
    args = parse_args(argv)
    return errors_reported(lambda: run(args))


def run(args: argparse.Namespace) -> int:
    name, corpus, questions = load_eval_set(args)
    questions = spread_sample(questions, args.limit)
    if not questions:
        print(f"error: no questions to evaluate in {args.squad or args.questions}",
              file=sys.stderr)
        return 2
    from eval.workspace import index_dir_for

    index_dir = args.index or index_dir_for(corpus)
    if args.backend != "faiss" and not args.index:
        index_dir = index_dir.with_name(f"{index_dir.name}-{args.backend}")
        name = f"{name}-{args.backend}"
    print(f"[eval] {name}: {len(questions)} questions, corpus {corpus}, index {index_dir}, "
          f"backend {args.backend}")
    load_start = os.getloadavg()
    assistant, open_seconds = open_assistant(corpus, index_dir, args.backend, args.uri)
    unknown = unknown_gold_docs(questions, {d.doc_id for d in assistant.documents()})
    if unknown:
        qid, doc_id = unknown[0]
        raise EvalInputError(
            f"{len(unknown)} gold doc_id(s) of the questions are not in the corpus {corpus} "
            f"(e.g. question {qid!r}: {doc_id!r}); they could never be retrieved. doc_ids are "
            "the corpus's: a file's path without suffix, or a JSONL record's id")
    meta = {
        "name": name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "corpus": str(corpus),
        "questions": str(args.squad or args.questions),
        "limit": args.limit,
        "n_questions": len(questions),
        "index_dir": str(index_dir),
        "open_seconds": round(open_seconds, 3),
        "code": code_version(REPO),
        "cpus": os.cpu_count(),
        "load_avg_start": load_start,
        **{k: assistant.manifest.get(k) for k in MANIFEST_KEYS},
    }
    modes, details = evaluate_modes(assistant, questions, args.modes)
    meta["load_avg_end"] = os.getloadavg()
    results = {"meta": meta, "modes": modes}
    print_report(results)
    for path in write_outputs(results, details, args.out / name):
        print(f"wrote {path}")
    if args.compare is None:
        return 0
    return check_regressions(args.compare, results, args.tolerance, args.old_results)
