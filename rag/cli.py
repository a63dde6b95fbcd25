"""Command line: ``python -m rag index|search|ask|doc``."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from embeddings.loader import ModelLoadError
from rag.assistant import Assistant, check_question, default_index_dir
from rag.backends import BACKENDS, open_backend
from rag.config import env_setting
from rag.console import encodes_everything, tolerant_streams
from rag.errors import IndexNotWritableError, RagError
from rag.index_data import IndexData
from rag.index_store import IndexStore, read_manifest
from rag.indexer import stored_spec
from rag.retriever import MODES
from rag.types import Answer, Filters, Hit, Snippet, web_address
from rag.validation import MAX_K, check_date, check_k, path_option

BOLD, RESET = "\033[1;33m", "\033[0m"


class _UsageError(Exception):
    """An argument error found by argparse, raised instead of its ``sys.exit(2)``."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser, self.message = parser, message


class _Parser(argparse.ArgumentParser):
    """ArgumentParser (and its subcommands) whose errors ``main`` reports, JSON included."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(self, message)

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None
                         ) -> tuple[argparse.Namespace, list[str]]:
        """argparse's, with a hint when a question (or doc_id) that starts with ``-``
        ("-5%的增长…") was taken for an option: the error said only that it was missing."""
        try:
            return super().parse_known_args(args, namespace)
        except _UsageError as exc:
            dashed = [a for a in (args or []) if isinstance(a, str) and a.startswith("-")
                      and a.split("=")[0] not in self._option_string_actions]
            # a doc_id too: `rag doc -draft-01` said only "arguments are required: doc_id"
            what = next((w for w in ("question", "doc_id") if w in exc.message), None)
            if what is None or not dashed or exc.parser is not self:
                raise
            what = "a question" if what == "question" else "a doc_id"
            raise _UsageError(self, f"{exc.message} ({dashed[0]!r} was read as an option: put "
                                    f"{what} that starts with '-' after `--`, e.g. "
                                    f"`rag {self.prog.split()[-1]} -- {dashed[0]!r}`)") from None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    tolerant_streams()  # a GBK or ASCII terminal: an emoji in an article is no traceback
    try:
        args = _parser().parse_args(argv)
    except _UsageError as exc:
        exc.parser.print_usage(sys.stderr)
        print(f"{exc.parser.prog}: error: {exc.message}", file=sys.stderr)
        if _wants_json(argv):
            _print_json_error(exc.message, "InvalidArgumentError")
        return 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe fails here, not in the interpreter's last flush
        return code
    except BrokenPipeError:  # `rag search … | head`: the reader has gone, nothing to say
        return _stdout_gone()
    except (RagError, ModelLoadError, OSError) as exc:  # OSError: e.g. an unwritable folder
        message = _os_error_message(exc, args) if isinstance(exc, OSError) else str(exc)
        print(f"error: {message}", file=sys.stderr)
        if getattr(args, "json", False):  # a script reading stdout gets the error as JSON
            _print_json_error(message, type(exc).__name__)
        return 2
    except KeyboardInterrupt:  # `rag index` says more itself (_cmd_index)
        print(f"\ninterrupted: `rag {args.command}` stopped by Ctrl-C (an index is never "
              "left half-written)", file=sys.stderr)
        return 130


def run() -> NoReturn:
    """The ``rag`` command and ``python -m rag``: :func:`main`, then exit with its status.

    After Ctrl-C (``main`` has printed one line and returned 130) the process ends with
    ``os._exit`` once the ``atexit`` handlers (Milvus Lite's close) have run: the interpreter's
    own shutdown, while ``rag ask`` was loading the reader in a background thread, aborted with
    "terminate called without an active exception" (exit status 134)."""
    code = main()
    if code == 130:
        import atexit

        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    sys.exit(code)


def _stdout_gone() -> int:
    """Exit status 141 (128 + SIGPIPE, as a shell reports ``yes | head``) after a write to
    a closed pipe, with stdout pointed at /dev/null so that no later flush fails again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # a stdout without a file descriptor (tests): nothing to do
        pass
    return 141


def _wants_json(argv: Sequence[str]) -> bool:
    """Whether ``--json`` (or an abbreviation argparse accepts) is among the options."""
    for arg in argv:
        if arg == "--":
            return False
        if len(arg) > 2 and "--json".startswith(arg):
            return True
    return False


def _print_json_error(message: str, kind: str) -> None:
    """The error as ``{"error": …, "type": …}`` on stdout, for scripts reading ``--json``."""
    print(_json({"error": message, "type": kind}, indent=None))


def _json(value: object, indent: int | None = 1) -> str:
    """``value`` as JSON for stdout: characters as they are on a Unicode stdout, else as
    ``\\uXXXX`` escapes (still valid, lossless JSON in any encoding)."""
    return json.dumps(value, ensure_ascii=not encodes_everything(sys.stdout), indent=indent)


_NOT_AN_INDEX = (errno.EEXIST, errno.EISDIR, errno.ENOTDIR)
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def _os_error_message(exc: OSError, args: argparse.Namespace) -> str:
    """``exc`` as text; a file where the index keeps a folder (or the reverse) names the
    index folder and the fix instead of a raw ``[Errno …]``."""
    root = _index_root(args)
    if exc.errno in _NO_SPACE:
        where = exc.filename or root or "the index folder"
        return (f"no space left on the device while writing {where} ({exc.strerror}); the "
                "previous index, if any, is unchanged: free some space and run the command "
                "again")
    names = [Path(f) for f in (exc.filename2, exc.filename) if f not in (None, "")]
    if root is None or exc.errno not in _NOT_AN_INDEX or not names:
        return str(exc)
    if exc.errno == errno.EISDIR:  # a rename's target, else the file opened
        culprit, what = names[0], "is a folder, not a file"
    else:
        culprit, what = _file_in_the_way(names[-1]), "is a file, not a folder"
    try:
        culprit.resolve().relative_to(root.resolve())
    except ValueError:
        return str(exc)
    return (f"{root} is not a valid index folder: {culprit} {what}; "
            "remove it or choose another --index")


def _file_in_the_way(path: Path) -> Path:
    """The first of ``path`` and its parents that exists and is not a folder (else ``path``)."""
    for candidate in (path, *path.parents):
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return path


def _index_root(args: argparse.Namespace) -> Path | None:
    """The index folder a command works on (as ``_open`` and ``_cmd_check`` choose it)."""
    named = getattr(args, "index_dir", None) or getattr(args, "index", None)
    if named:
        return Path(named).expanduser()
    try:
        return default_index_dir(getattr(args, "corpus", None))
    except (OSError, RagError):
        return None


def _k_arg(text: str) -> int:
    try:
        return check_k(int(text))
    except (ValueError, RagError):
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {MAX_K}, not {text!r}") from None


def _date_arg(text: str) -> str | None:
    try:
        return check_date(text, "date")
    except RagError:
        raise argparse.ArgumentTypeError(
            f"must be a real date YYYY-MM-DD (e.g. 2022-06-07), not {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m rag", description=(
        "Ask questions over a Chinese news corpus; answers are verbatim, cited snippets."))
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--corpus", type=path_option, help="folder of .txt/.md/.html posts or "
                       "a .jsonl file (default: the bundled articles)")
        p.add_argument("--index", type=path_option,
                       help="index directory (default: one per corpus in the cache)")
        p.add_argument("--model", help="sentence-transformers model name or path "
                       "(default: multilingual-e5-small)")
        p.add_argument("--backend", choices=BACKENDS,
                       help="where vectors and BM25 live when building: faiss (files in the "
                       "index folder; default) or milvus (default: the index's own)")
        p.add_argument("--uri", type=path_option,
                       help="Milvus uri: a Milvus Lite file ending in .db (default "
                       "<index>/milvus.db; one process at a time) or http://host:19530 "
                       "(token in RAG_MILVUS_TOKEN); implies --backend milvus")

    p = sub.add_parser("index", help="build or refresh an index")
    p.add_argument("--json", action="store_true", help="print the index's summary as JSON")
    common(p)
    p.set_defaults(func=_cmd_index)
    for name, func, k in (("search", _cmd_search, 5), ("ask", _cmd_ask, 3)):
        p = sub.add_parser(name, help="retrieve chunks" if name == "search" else
                           "answer with cited snippets")
        p.add_argument("question")
        p.add_argument("-k", type=_k_arg, default=k,
                       help=f"number of results, 1-{MAX_K} (default {k})")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument("--mode", choices=MODES, help="retrieval mode (default hybrid)")
        p.add_argument("--source", help="only documents from this source")
        p.add_argument("--date-from", type=_date_arg,
                       help="only documents dated on/after YYYY-MM-DD")
        p.add_argument("--date-to", type=_date_arg,
                       help="only documents dated on/before YYYY-MM-DD")
        if name == "ask":
            p.add_argument("--no-reader", dest="reader", action="store_false",
                           help="fast heuristic answers instead of the trained reader")
        common(p)
        p.set_defaults(func=func)
    p = sub.add_parser("doc", help="print a cleaned document")
    p.add_argument("doc_id")
    p.add_argument("--json", action="store_true")
    common(p)
    p.set_defaults(func=_cmd_doc)
    p = sub.add_parser("check", help="verify every file of an index (full checksums)")
    p.add_argument("index_dir", nargs="?", type=path_option,
                   help="index directory (default: --index)")
    p.add_argument("--index", type=path_option, help=argparse.SUPPRESS)
    p.add_argument("--uri", type=path_option, help="Milvus uri, if the index's was not "
                   "recorded")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_cmd_check)
    return parser


def _open(args: argparse.Namespace) -> Assistant:
    """The index named by ``--index`` (it must exist: a missing or broken one is an error
    that names the fix, never a silent build of the bundled corpus), else the index of
    ``--corpus`` (default: the bundled articles), built on first use."""
    named = args.index or (env_setting("RAG_INDEX_DIR") if not args.corpus else None)
    index_dir = args.index or default_index_dir(args.corpus)
    exists = IndexStore(index_dir).exists()
    if named and not args.corpus:
        return Assistant.load(index_dir, model=args.model, uri=args.uri)
    if not exists and sys.stderr.isatty():
        print("building the index (first run) …", file=sys.stderr)
    try:
        return Assistant.build(args.corpus, index_dir, model=args.model,
                               progress=sys.stderr.isatty(), backend=args.backend, uri=args.uri)
    except IndexNotWritableError as exc:  # a stale index on a read-only volume: a reader
        if not exists:  # answers from its last build, as `--index` does
            raise
        logging.getLogger("rag.cli").warning("%s; answering from the last build in %s", exc,
                                             index_dir)
        return Assistant.load(index_dir, model=args.model, uri=args.uri, refresh=False)


def _cmd_index(args: argparse.Namespace) -> int:
    corpus = args.corpus or _recorded_corpus(args.index or default_index_dir())
    if corpus is None:
        print("no --corpus given: indexing the bundled articles", file=sys.stderr)
    try:
        assistant = Assistant.build(corpus, args.index, model=args.model, progress=True,
                                    backend=args.backend, uri=args.uri,
                                    reuse_current=False)  # after any other writer
    except KeyboardInterrupt:
        print("\ninterrupted: the previous index (if any) is unchanged; the passages embedded "
              "so far are in the embedding cache, so running the same command again resumes "
              "without re-embedding them", file=sys.stderr)
        return 130
    m = assistant.manifest
    counts = m["counts"]
    backend = m.get("backend") or {"name": "faiss"}
    where = backend["name"] + (f" {backend.get('uri') or '(uri not recorded)'} collection "
                               f"{backend.get('collection')}" if backend["name"] != "faiss" else "")
    rate = counts["chunks"] / m["build_seconds"] if m["build_seconds"] else 0.0
    if args.json:  # `rag index --json` was "unrecognized arguments" (exit 2) after nothing
        print(_json({"index": str(assistant.index_dir), "build": m.get("build"),
                     "model": m["model"], "dim": m["dim"], "backend": backend,
                     "documents": counts["documents"], "chunks": counts["chunks"],
                     "sentences": counts["sentences"],
                     "vector_index": m["vector_index"]["type"], "created": m["created"],
                     "build_seconds": m["build_seconds"], "embedded": m["embedded"]}))
        assistant.close()
        return 0
    print(f"index: {assistant.index_dir}\nmodel: {m['model']} (dim {m['dim']})\n"
          f"backend: {where}\n"
          f"documents: {counts['documents']}  chunks: {counts['chunks']}  "
          f"sentences: {counts['sentences']}  vector index: {m['vector_index']['type']}\n"
          f"built: {m['created']} in {m['build_seconds']} s ({m['embedded']} texts embedded, "
          f"{rate:.1f} chunks/s)")
    assistant.close()
    return 0


def _recorded_corpus(index_dir: Path | str) -> str | None:
    """The corpus an existing index was built from (so that re-indexing keeps it); None for a
    new folder, an error for an index that no longer says (never the bundled articles)."""
    return IndexStore(index_dir).recorded_corpus()


def _cmd_check(args: argparse.Namespace) -> int:
    index_dir = args.index_dir or args.index or env_setting("RAG_INDEX_DIR")
    store = IndexStore(index_dir or default_index_dir())
    build = store.current()
    backend = open_backend(stored_spec(read_manifest(build), args.uri, store.root), store.root)
    try:
        data = IndexData.load(build, full_check=True, backend=backend)
    finally:
        backend.close()
    m = data.manifest
    if args.json:  # a monitoring script's `rag check --json` was "unrecognized arguments"
        print(_json({"ok": True, "index": str(store.root), "build": build.name,
                     "files": len(m["files"]), "documents": m["counts"]["documents"],
                     "chunks": m["counts"]["chunks"], "format": m["format"],
                     "model": m["model"]}))
        return 0
    print(f"ok: {store.root} (build {build.name}): {len(m['files'])} files match their "
          f"SHA-256 checksums; {m['counts']['documents']} documents, "
          f"{m['counts']['chunks']} chunks, format {m['format']}, model {m['model']}")
    return 0


def _filters(args: argparse.Namespace) -> Filters:
    return Filters(source=args.source, date_from=args.date_from, date_to=args.date_to)


def _cmd_search(args: argparse.Namespace) -> int:
    check_question(args.question)
    assistant = _open(args)
    hits = assistant.retrieve(args.question, args.k, mode=args.mode, filters=_filters(args))
    unmatched = None if hits else assistant.unmatched_filters(_filters(args))
    if args.json:
        print(_json([h.to_dict() for h in hits]))
        if unmatched:  # stdout stays the (empty) list; a typo in a filter is still named
            print(unmatched, file=sys.stderr)
        return 0
    if not hits:
        print(unmatched or "没有检索到结果。No results.")
    for n, hit in enumerate(hits, 1):
        print(f"[{n}] {hit.score:.4f}  {_cite(hit)}\n    {hit.text}\n")
    return 0


def _cmd_ask(args: argparse.Namespace) -> int:
    check_question(args.question)
    assistant = _open(args)
    if args.reader and assistant.config.answer.reader:
        # load the reader while the question is encoded and retrieved (cold start)
        threading.Thread(target=assistant.reader.warm_up, daemon=True).start()
    answer = assistant.answer(args.question, args.k, mode=args.mode, filters=_filters(args),
                              reader=args.reader)
    if args.json:
        print(_json(answer.to_dict()))
        return 0
    print(format_answer(answer, color=sys.stdout.isatty()))
    return 0


def _cmd_doc(args: argparse.Namespace) -> int:
    doc = _open(args).document(args.doc_id)
    if args.json:
        print(_json(doc.__dict__))
    else:
        print(f"{doc.title}\n{json.dumps(doc.metadata, ensure_ascii=False)}\n\n{doc.text}")
    return 0


def format_answer(answer: Answer, color: bool = False) -> str:
    """Human-readable answer: numbered snippets with citations, or the refusal."""
    lines = [answer.message]
    if not answer.answered:
        if answer.hits:
            lines.append("最接近的文章（不是答案）Closest articles, not an answer:")
            seen: set[str] = set()
            for hit in answer.hits:
                if hit.doc_id not in seen:
                    seen.add(hit.doc_id)
                    lines.append(f"  - {_cite(hit)}")
        return "\n".join(lines)
    first = answer.snippets[0] if answer.snippets else None
    if answer.short_answer and first is not None and first.answer_start is not None:
        lines.insert(0, f"答案 Answer: {answer.short_answer}  "
                        f"[1] doc {first.doc_id} [{first.answer_start}:{first.answer_end}]")
    for n, snip in enumerate(answer.snippets, 1):
        # a snippet of several lines (a heading and its list) stays under its number
        lines.append(f"[{n}] " + _marked(snip, color).replace("\n", "\n    "))
        lines.append(f"    — {_cite(snip)} [{snip.start}:{snip.end}]")
    return "\n".join(lines)


def _marked(snip: Snippet, color: bool) -> str:
    if not color or not snip.highlight:
        return snip.text
    out, pos = [], 0
    for start, end in sorted(snip.highlight):
        if start < pos:
            continue
        out += [snip.text[pos:start], BOLD, snip.text[start:end], RESET]
        pos = end
    out.append(snip.text[pos:])
    return "".join(out)


def _cite(item: Hit | Snippet) -> str:
    meta = item.metadata
    extra = "，".join(x for x in (meta.get("source"), (meta.get("date") or "")[:10],
                                 web_address(meta)) if x)
    return f"《{item.title}》" + (f"（{extra}）" if extra else "") + f" doc {item.doc_id}"
