"""Web chat over the news corpus: ``python app.py [--host 127.0.0.1] [--port 7860] ...``.

Serves on loopback unless ``--host`` says otherwise. Opens the existing index (fast) or
builds it first, printing progress to the console. The UI lives in :mod:`rag.web.ui`.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def _one_line_interrupt(kind: type[BaseException], value: BaseException, tb: Any) -> None:
    """``sys.excepthook`` of ``python app.py``: Ctrl-C while Gradio and the rest import
    (seconds, before ``main`` runs) is one line, not a traceback; other errors as usual."""
    if issubclass(kind, KeyboardInterrupt):
        print("\n❌ interrupted (Ctrl-C) while starting", file=sys.stderr)
        return
    sys.__excepthook__(kind, value, tb)


if __name__ == "__main__":
    sys.excepthook = _one_line_interrupt

from rag.console import tolerant_streams  # noqa: E402
from rag.validation import path_option  # noqa: E402
from rag.web.feedback import FeedbackLog  # noqa: E402 - after the analytics switch
from rag.web.limits import DEFAULT_PER_MINUTE  # noqa: E402
from rag.web.ui import build_demo, launch  # noqa: E402

__all__ = ["build_demo", "check_port", "is_loopback", "main", "open_assistant", "parse_args",
           "parse_auth"]

MAX_PORT = 65535


def _path_option(text: str) -> Path:
    return Path(path_option(text))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="新闻问答 web chat (Gradio) over the news corpus.")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to bind (default 127.0.0.1: loopback only; 0.0.0.0 exposes it)")
    p.add_argument("--port", type=int, default=7860, help=f"port, 1-{MAX_PORT} (default 7860)")
    p.add_argument("--index", type=_path_option, default=None,
                   help="index directory (default: the corpus's folder under the cache dir)")
    p.add_argument("--corpus", type=_path_option, default=None,
                   help="corpus folder or file to (re)index (default: the bundled articles)")
    p.add_argument("--model", default=None, help="embedding model (default: the index's)")
    p.add_argument("--backend", choices=("faiss", "milvus"), default=None,
                   help="when building: faiss (default) or milvus (default: the index's own)")
    p.add_argument("--uri", type=path_option, default=None,
                   help="Milvus uri: a Lite .db file (this process only) or http://host:19530 "
                        "(shared with `python -m rag index`; token in RAG_MILVUS_TOKEN)")
    p.add_argument("--feedback", type=_path_option, default=None,
                   help="👍/👎 JSONL log (default: feedback.jsonl in the index directory)")
    p.add_argument("--auth", default=os.environ.get("RAG_AUTH"), metavar="USER:PASSWORD",
                   help="require this login (default: the RAG_AUTH environment variable; "
                        "prefer it, as command lines are visible to other local users)")
    p.add_argument("--rate-limit", type=int, default=DEFAULT_PER_MINUTE, metavar="N",
                   help=f"questions per minute per client address (default "
                        f"{DEFAULT_PER_MINUTE}; 0: no limit)")
    return p.parse_args(argv)


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``user:password`` → (user, password); None when not set. Raises ValueError if bad."""
    if value is None or value == "":
        return None
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password:
        raise ValueError("--auth / RAG_AUTH must be USER:PASSWORD with both parts non-empty")
    return user.strip(), password


def check_port(host: str, port: int) -> None:
    """Raise ValueError when ``port`` is out of range or already in use on ``host``."""
    if not 1 <= port <= MAX_PORT:
        raise ValueError(f"--port must be a whole number from 1 to {MAX_PORT}, not {port}")
    try:
        with socket.socket() as s:  # Gradio binds the same way; it raises only after loading
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as e:  # other errors (an IPv6 host, say) are left to Gradio's launch
        if e.errno == errno.EADDRINUSE:
            raise ValueError(_port_in_use(port)) from None


def _port_in_use(port: int) -> str:
    return f"port {port} is in use; choose another with --port"


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def open_assistant(index: Path | None, corpus: Path | None, model: str | None = None,
                   backend: str | None = None, uri: str | None = None) -> Any:
    """Load the index if it exists (and no corpus is given), else build it with progress."""
    from rag import Assistant, default_index_dir
    from rag.index_store import IndexStore

    named = index is not None or (corpus is None and bool(os.environ.get("RAG_INDEX_DIR")))
    index_dir = index if index is not None else default_index_dir(corpus)
    started = time.perf_counter()
    exists = IndexStore(index_dir).exists()
    # a named index must exist: a mistyped path is an error, not a new bundled-corpus index
    if corpus is None and (named or exists):
        print(f"正在加载索引 Loading index {index_dir} …", flush=True)
        assistant = Assistant.load(index_dir, model=model, uri=uri)
    else:
        if exists:
            print(f"正在打开索引 Opening the index in {index_dir} (re-indexing only changed "
                  "articles) …", flush=True)
        else:
            print(f"⏳ 正在构建索引 Building the index in {index_dir} "
                  "(first run: embedding the articles may take a minute) …", flush=True)
        assistant = Assistant.build(corpus=corpus, index_dir=index_dir, model=model,
                                    progress=True, backend=backend, uri=uri)
    if assistant.config.answer.reader:
        print("正在加载阅读模型 Loading the reader …", flush=True)
        assistant.reader.warm_up()
    assistant.encoder.encode_queries(["预热"])  # load the query encoder before the first user
    if assistant.config.retrieval.translate_questions:
        from rag.crosslingual import default_dictionary

        default_dictionary()  # the English → Chinese dictionary, before the first question
    print(f"✅ 索引就绪 Index ready: {assistant.n_documents} documents "
          f"({time.perf_counter() - started:.1f} s)", flush=True)
    return assistant


def _check_args(args: argparse.Namespace) -> tuple[tuple[str, str] | None, str]:
    """(login, "") for valid arguments, else (None, the error message)."""
    try:
        auth = parse_auth(args.auth)
        if args.rate_limit < 0:
            raise ValueError("--rate-limit must be 0 or more")
        check_port(args.host, args.port)
        if args.feedback is not None:
            FeedbackLog(args.feedback).check()
    except ValueError as e:
        return None, str(e)
    return auth, ""


def _feedback_log(path: Path | None, index_dir: Path | str) -> Path:
    """The 👍/👎 log: ``--feedback`` (checked at start), else the index folder's, with a
    warning when it cannot be written (a read-only index can still be served)."""
    if path is not None:
        return path
    from rag.index_store import FEEDBACK

    default = Path(index_dir) / FEEDBACK
    try:
        FeedbackLog(default).check()
    except ValueError as e:
        print(f"⚠️ {e}: 👍/👎 votes will not be saved; choose a log with --feedback PATH",
              file=sys.stderr, flush=True)
    return default


INTERRUPTED = ("❌ interrupted (Ctrl-C) before the chat started; an index is never left "
               "half-written, and the next start resumes from the embedding cache")


def main(argv: list[str] | None = None) -> int:
    """Start the chat; 2 on a bad argument or index, 130 when Ctrl-C stops the start-up
    (building the index, loading the models, Gradio's launch: a traceback until 2026-11-24).
    Ctrl-C while serving is Gradio's: it closes the server."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print(f"\n{INTERRUPTED}", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    tolerant_streams()  # a GBK console: "✅ Index ready" was a UnicodeEncodeError at start
    args = parse_args(argv)
    auth, error = _check_args(args)
    if error:
        print(f"❌ {error}", file=sys.stderr)
        return 2
    if not auth and not is_loopback(args.host):
        print(f"⚠️ WARNING: serving on {args.host} without a login: anyone who can reach this "
              "port can use the chat and add files. Set --auth USER:PASSWORD or RAG_AUTH.",
              file=sys.stderr, flush=True)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own startup probes
    from embeddings.loader import ModelLoadError
    from rag.errors import RagError

    try:
        assistant = open_assistant(args.index, args.corpus, args.model, args.backend, args.uri)
    except (RagError, ModelLoadError) as e:
        print(f"❌ {e}", file=sys.stderr)
        return 2
    feedback = _feedback_log(args.feedback, assistant.index_dir)
    demo = build_demo(assistant, feedback_path=feedback, rate_limit=args.rate_limit)
    print(f"👍/👎 feedback log: {feedback}", flush=True)
    try:
        launch(demo, host=args.host, port=args.port, **({"auth": auth} if auth else {}))
    except OSError as e:  # Gradio: "Cannot find empty port …" (taken since the check above)
        print(f"❌ {_port_in_use(args.port) if 'port' in str(e) else e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
