"""Load benchmark of the web chat: N concurrent ``gradio_client`` users for D seconds.

``python -m eval.load_bench [--users 50] [--seconds 60] [--url URL]``: without ``--url`` it
starts ``app.py`` on a free loopback port (``--rate-limit 0``: all users share one address)
over ``--index`` (default: the bundled corpus's index), waits until it answers, then every
user asks the bundled eval questions in a loop through the ``/answer`` API. Reports
requests/s, latency p50/p95/p99 and errors, and writes ``eval/results/load.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO / "eval" / "data" / "bundled_qa.jsonl"


@dataclass
class LoadResult:
    users: int
    seconds: float
    requests: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    error_samples: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        lat = np.asarray(self.latencies_ms) if self.latencies_ms else np.zeros(1)
        return {"users": self.users, "seconds": round(self.seconds, 1),
                "requests": self.requests, "errors": self.errors,
                "requests_per_s": round(self.requests / self.seconds, 2),
                "p50_ms": round(float(np.percentile(lat, 50)), 1),
                "p95_ms": round(float(np.percentile(lat, 95)), 1),
                "p99_ms": round(float(np.percentile(lat, 99)), 1),
                "error_samples": self.error_samples[:5]}


def run_load(url: str, users: int, seconds: float, questions: list[str]) -> LoadResult:
    """``users`` threads, each with its own client session, asking until time is up."""
    from gradio_client import Client

    result = LoadResult(users, seconds)
    lock = threading.Lock()
    start = threading.Barrier(users + 1)
    stop_at: list[float] = [0.0]

    def user(n: int) -> None:
        client = Client(url, verbose=False)
        start.wait()
        i = n
        while time.perf_counter() < stop_at[0]:
            question = questions[i % len(questions)]
            i += users
            tick = time.perf_counter()
            try:
                text = client.predict(question, api_name="/answer")
                ok = isinstance(text, str) and not text.startswith("⚠️")
                problem = "" if ok else str(text)[:200]
            except Exception as exc:  # noqa: BLE001 - counted as an error
                ok, problem = False, f"{type(exc).__name__}: {exc}"[:200]
            elapsed = (time.perf_counter() - tick) * 1000
            with lock:
                result.requests += 1
                result.latencies_ms.append(elapsed)
                if not ok:
                    result.errors += 1
                    result.error_samples.append(problem)

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(users)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - began
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(index: str | None, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    cmd = [sys.executable, str(REPO / "app.py"), "--port", str(port), "--rate-limit", "0"]
    if index:
        cmd += ["--index", index]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    with open(log, "w") as handle:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    while proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"app.py exited with status {proc.returncode}; see {log}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--url", help="a running chat (default: start app.py)")
    p.add_argument("--index", help="index for the started app (default: bundled)")
    p.add_argument("--out", type=Path, default=REPO / "eval" / "results" / "load.json")
    args = p.parse_args(argv)
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines()
                 if line.strip()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    proc = None
    url = args.url
    if url is None:
        proc, url = start_app(args.index, args.out.with_suffix(".server.log"))
    try:
        result = run_load(url, args.users, args.seconds, questions)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    summary = result.summary()
    args.out.write_text(json.dumps({**summary, "cpus": os.cpu_count(),
                                    "when": time.strftime("%Y-%m-%d %H:%M")}, indent=1))
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0 if result.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
