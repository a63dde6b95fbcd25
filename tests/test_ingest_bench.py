"""The big-ingest benchmark runs end to end on a tiny bench folder (cold, then cached)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import ingest_bench

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _squad(title: str, texts: list[str]) -> dict:
    return {"version": "1", "data": [{"title": title, "paragraphs": [
        {"context": t, "qas": []} for t in texts]}]}


def test_ingest_bench_builds_cold_then_from_its_own_cache(tmp_path: Path, capsys) -> None:
    bench = tmp_path / "bench"
    (bench / "drcd").mkdir(parents=True)
    for rel, title in (("drcd/DRCD_dev.json", "臺灣"), ("drcd/DRCD_test.json", "醫療"),
                       ("cmrc2018_dev.json", "互联网医院")):
        texts = [f"{title}的第{i}段。互联网医院在{2015 + i}年开始提供在线问诊服务。"
                 for i in range(2)]
        (bench / rel).write_text(json.dumps(_squad(title, texts), ensure_ascii=False),
                                 encoding="utf-8")
    out = tmp_path / "figures.json"
    assert ingest_bench.main(["--bench", str(bench), "--backends", "faiss",
                              "--out", str(out)]) == 0
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert [r["run"] for r in rows] == ["cold", "cached"]
    cold, cached = rows
    assert cold["documents"] == cached["documents"] == 6
    assert cold["embedded"] == cold["chunks"] > 0  # an empty cache: everything embedded
    assert cached["embedded"] == 0  # the same build again: all from the bench's cache
    assert "projected cold ingest of 1M chunks" in capsys.readouterr().out
