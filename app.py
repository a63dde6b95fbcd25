"""Web chat over the news corpus: ``python app.py [--host 127.0.0.1] [--port 7860] ...``.

Serves on loopback unless ``--host`` says otherwise. Opens the existing index (fast) or
builds it first, printing progress to the console. The UI lives in :mod:`rag.web.ui`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from rag.web.ui import build_demo, launch  # noqa: E402 - after the analytics switch

__all__ = ["build_demo", "main", "open_assistant", "parse_args"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="新闻问答 web chat (Gradio) over the news corpus.")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to bind (default 127.0.0.1: loopback only; 0.0.0.0 exposes it)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--index", type=Path, default=None,
                   help="index directory (default: the corpus's folder under the cache dir)")
    p.add_argument("--corpus", type=Path, default=None,
                   help="corpus folder or file to (re)index (default: the bundled articles)")
    p.add_argument("--model", default=None, help="embedding model (default: the index's)")
    p.add_argument("--feedback", type=Path, default=None,
                   help="👍/👎 JSONL log (default: feedback.jsonl in the index directory)")
    return p.parse_args(argv)


def open_assistant(index: Path | None, corpus: Path | None, model: str | None = None) -> Any:
    """Load the index if it exists (and no corpus is given), else build it with progress."""
    from rag import Assistant, default_index_dir
    from rag.index_store import IndexStore

    index_dir = index if index is not None else default_index_dir(corpus)
    started = time.perf_counter()
    if corpus is None and IndexStore(index_dir).exists():
        print(f"正在加载索引 Loading index {index_dir} …", flush=True)
        assistant = Assistant.load(index_dir, model=model)
    else:
        print(f"⏳ 正在构建索引 Building the index in {index_dir} "
              "(first run: embedding the articles may take a minute) …", flush=True)
        assistant = Assistant.build(corpus=corpus, index_dir=index_dir, model=model,
                                    progress=True)
    print(f"✅ 索引就绪 Index ready: {assistant.n_documents} documents "
          f"({time.perf_counter() - started:.1f} s)", flush=True)
    return assistant


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own startup probes
    from embeddings.loader import ModelLoadError
    from rag.errors import RagError

    try:
        assistant = open_assistant(args.index, args.corpus, args.model)
    except (RagError, ModelLoadError) as e:
        print(f"❌ {e}", file=sys.stderr)
        return 2
    feedback = args.feedback or Path(assistant.index_dir) / "feedback.jsonl"
    demo = build_demo(assistant, feedback_path=feedback)
    print(f"👍/👎 feedback log: {feedback}", flush=True)
    launch(demo, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
