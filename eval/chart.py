"""PNG charts of the quality report (metrics per mode) and of the scale sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402

from eval.report import QUALITY  # noqa: E402

LATENCY = ("retrieve_p50_ms", "retrieve_p95_ms", "answer_p50_ms", "answer_p95_ms")


def _grouped_bars(ax: Any, names: tuple[str, ...], modes: dict[str, dict]) -> None:
    x = np.arange(len(names))
    width = 0.8 / max(len(modes), 1)
    for i, (mode, metrics) in enumerate(modes.items()):
        values = [metrics.get(n) if metrics.get(n) is not None else 0.0 for n in names]
        ax.bar(x + i * width - 0.4 + width / 2, values, width, label=mode)
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def quality_chart(results: dict[str, Any], path: Path) -> Path:
    """Quality metrics (0-1) and latencies (ms), grouped by mode."""
    modes = {m: b["metrics"] for m, b in results["modes"].items()}
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 8))
    _grouped_bars(top, QUALITY, modes)
    top.set_ylim(0, 1.05)
    meta = results["meta"]
    top.set_title(f"{meta['name']}: quality per mode (n={meta['n_questions']})")
    _grouped_bars(bottom, LATENCY, modes)
    bottom.set_ylabel("ms")
    bottom.set_title("latency after warm-up")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def scale_chart(rows: list[dict[str, Any]], path: Path) -> Path:
    """Query latency p50 (log-log) and recall@10 versus index size, one line per index kind."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for kind in sorted({r["kind"] for r in rows}):
        mine = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["n"])
        sizes = [r["n"] for r in mine]
        left.plot(sizes, [r["latency_p50_ms"] for r in mine], marker="o", label=kind)
        right.plot(sizes, [r["recall@10"] for r in mine], marker="o", label=kind)
    left.set(xscale="log", yscale="log", xlabel="vectors", ylabel="query latency p50 (ms)")
    right.set(xscale="log", xlabel="vectors", ylabel="recall@10 vs exact", ylim=(0, 1.05))
    for ax in (left, right):
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    fig.suptitle("vector index scale sweep (dim 384, synthetic clustered vectors)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
