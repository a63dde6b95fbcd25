"""Terminal tables of a results dict and the regression check against an older one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.metrics import RETRIEVAL_METRICS
from eval.questions import EvalInputError

HIGHER_IS_BETTER = (*RETRIEVAL_METRICS, "hit@1", "hit@3", "em", "f1", "refusal_rate",
                    "citation_validity")
LOWER_IS_BETTER = ("false_refusal_rate",)
QUALITY = (*HIGHER_IS_BETTER, *LOWER_IS_BETTER)
INFO = (
    "median_snippet_chars",
    "retrieve_p50_ms",
    "retrieve_p95_ms",
    "answer_p50_ms",
    "answer_p95_ms",
    "stage_encode_p50_ms",
    "stage_dense_p50_ms",
    "stage_keyword_p50_ms",
    "stage_fusion_p50_ms",
    "stage_answer_p50_ms",
    "errors",
)


def fmt(value: Any) -> str:
    """Numbers for a table cell: ints as is, floats to 3 places (ms to 1), ``None`` as n/a."""
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def grid(header: list[str], rows: list[list[str]]) -> str:
    """Left-aligned first column, right-aligned others, widths fitted to the content."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        rest = [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        cells = [row[0].ljust(widths[0]), *rest]
        lines.append("  ".join(cells))
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def metrics_table(results: dict[str, Any]) -> str:
    """One row per metric, one column per mode."""
    modes = list(results["modes"])
    names = ["n", "n_answerable", "n_unanswerable", *QUALITY, *INFO]
    rows = [[n] + [fmt(results["modes"][m]["metrics"].get(n)) for m in modes] for n in names]
    return grid(["metric", *modes], rows)


def category_table(results: dict[str, Any]) -> str:
    """Per category and mode: ``R@5/MRR@10/hit@1`` (answerable) or ``refuse=`` (unanswerable)."""
    modes = list(results["modes"])
    cats = sorted({c for m in modes for c in results["modes"][m]["per_category"]})
    rows = []
    for cat in cats:
        row = [cat]
        for m in modes:
            s = results["modes"][m]["per_category"].get(cat)
            if s is None:
                row.append("-")
            elif s["n_answerable"]:
                row.append("/".join(fmt(s[k]) for k in ("recall@5", "mrr@10", "hit@1")))
            else:
                row.append(f"refuse={fmt(s['refusal_rate'])}")
        n = max(results["modes"][m]["per_category"].get(cat, {}).get("n", 0) for m in modes)
        rows.append([f"{cat} ({n})", *row[1:]])
    return grid(["category (n)  R@5/MRR@10/hit@1", *modes], rows)


def compare(
    old: dict[str, Any], new: dict[str, Any], tolerance: float
) -> tuple[list[str], list[str]]:
    """Delta lines for every shared mode and metric, and the quality regressions among them.

    A regression is a quality metric that got worse by more than ``tolerance`` (absolute);
    latency and other informational numbers are shown but never fail the check.
    """
    lines: list[str] = []
    regressions: list[str] = []
    for mode, block in new["modes"].items():
        if mode not in old.get("modes", {}):
            lines.append(f"{mode}: not in the old results, skipped")
            continue
        before, after = old["modes"][mode]["metrics"], block["metrics"]
        for name in (*QUALITY, *INFO):
            a, b = before.get(name), after.get(name)
            if a is None or b is None:
                continue
            delta = b - a
            worse = -delta if name in HIGHER_IS_BETTER else delta
            flag = ""
            if name in QUALITY and worse > tolerance:
                flag = "  REGRESSION"
                regressions.append(f"{mode} {name}: {fmt(a)} -> {fmt(b)}")
            lines.append(f"{mode:>8} {name:<22} {fmt(a):>8} -> {fmt(b):>8}  ({delta:+.3f}){flag}")
    old_n = old.get("meta", {}).get("n_questions")
    new_n = new.get("meta", {}).get("n_questions")
    if old_n != new_n:
        lines.append(f"note: question counts differ ({old_n} vs {new_n})")
    return lines, regressions


def load_results(path: Path) -> dict[str, Any]:
    """An older ``results.json`` for :func:`compare`, checked before any evaluation: a file
    that is not one (a details.jsonl, a hand-edited number) is an :class:`EvalInputError`,
    never a comparison that finds "no quality regression" in nothing."""
    try:
        old = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise EvalInputError(f"--compare {path}: cannot read it as JSON ({exc})") from exc
    modes = old.get("modes") if isinstance(old, dict) else None
    if not isinstance(modes, dict) or not modes:
        raise EvalInputError(f"--compare {path}: not a results file of `python -m eval` (no "
                             '"modes"; results are written as <out>/<set name>/results.json)')
    for mode, block in modes.items():
        metrics = block.get("metrics") if isinstance(block, dict) else None
        if not isinstance(metrics, dict):
            raise EvalInputError(f'--compare {path}: mode {mode!r} has no "metrics" object')
        for name in (*QUALITY, *INFO):
            value = metrics.get(name)
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float))):
                raise EvalInputError(f"--compare {path}: {mode} {name} is {value!r:.40}, "
                                     "not a number")
    return old
