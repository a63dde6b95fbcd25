"""One web-chat server per test session, shared by the app test modules.

The index is built once (real Assistant, copy of the bundled corpus, temporary index dir) and
served in a background thread on a free loopback port. Test modules call :func:`shared_app`
from their own session-scoped fixture; the first call builds, later calls reuse it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
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


# ---------------------------------------------------------------- the browser tests' Chromium
CHROMIUM = Path("/usr/bin/chromium")  # Debian's (Playwright cannot fetch one offline)
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
TIMEOUT_MS = 60_000
NO_CHROMIUM = "needs Chromium at /usr/bin/chromium (apt-get install chromium)"


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright) for a module's browser tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, url: str, width: int = 1400, height: int = 1000,
             prepare: Callable[[Any], None] | None = None) -> Any:
    """A page of a fresh browser context (zh-CN) opened on the chat at ``url``, its question
    box ready (``prepare(page)`` runs before it opens: handlers for what loading may fire);
    close it with ``page.context.close()``."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    if prepare is not None:
        prepare(page)
    page.goto(url)
    page.wait_for_selector("#question textarea")
    return page


def press_enter_until_sent(page: Any, users_before: int, bots_before: int | None = None
                           ) -> None:
    """Press Enter in the question box until the chat takes the question (its user messages
    outnumber ``users_before``): Gradio ignores Enter while the page still counts the previous
    question (held, cancelled by Clear, or its answer's follow-up events) as pending, which
    on a loaded machine outlasts the answer shown. With ``bots_before``, a new bot message
    also counts (a blank question is answered with a notice and shows no user message)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(TIMEOUT_MS // 1000):
        page.press("#question textarea", "Enter")
        try:
            page.wait_for_function(
                """([u, b]) => document.querySelectorAll('#chat [data-testid=user]').length > u
                    || (b !== null
                        && document.querySelectorAll('#chat [data-testid=bot]').length > b)""",
                arg=[users_before, bots_before], timeout=1000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError("the question was never sent")
