"""One web-chat server per test session, shared by the app test modules.

The index is built once (real Assistant, copy of the bundled corpus, temporary index dir) and
served in a background thread on a free loopback port. Test modules call :func:`shared_app`
from their own session-scoped fixture; the first call builds, later calls reuse it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "data" / "articles"


@dataclass
class AppServer:
    url: str
    assistant: Any
    demo: Any
    root: Path
    feedback_path: Path
    build_seconds: float


_lock = threading.Lock()
_server: AppServer | None = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shared_app(tmp_path_factory: Any) -> AppServer:
    """Build the index and start the app once; later calls return the same server."""
    global _server
    with _lock:
        if _server is not None:
            return _server
        from rag import Assistant
        from rag.web.ui import build_demo, launch

        root = tmp_path_factory.mktemp("app")
        corpus = root / "corpus"
        shutil.copytree(BUNDLED, corpus)
        started = time.perf_counter()
        assistant = Assistant.build(corpus=corpus, index_dir=root / "index")
        build_seconds = time.perf_counter() - started
        feedback = root / "feedback.jsonl"
        demo = build_demo(assistant, feedback_path=feedback)
        _, url, _ = launch(demo, host="127.0.0.1", port=free_port(),
                           prevent_thread_lock=True, quiet=True)
        atexit.register(demo.close)
        _server = AppServer(url.rstrip("/"), assistant, demo, root, feedback, build_seconds)
        return _server
