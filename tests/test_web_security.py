"""Chat security: login option, non-loopback warning, per-client limit, no server paths."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag import Answer, IndexNotFoundError
from rag.types import Snippet
from rag.web.limits import ClientLimiter, client_key
from rag.web.privacy import public_metadata
from rag.web.ui import _views, ask

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import app  # noqa: E402 - the script at the repository root


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None), ("alice:s3cret", ("alice", "s3cret")),
    ("bob:pa:ss", ("bob", "pa:ss")),
])
def test_parse_auth(value, expected):
    assert app.parse_auth(value) == expected


@pytest.mark.parametrize("value", ["alice", ":pw", "alice:", "  :x"])
def test_bad_auth_is_an_error_and_exit_2(value, capsys):
    with pytest.raises(ValueError, match="USER:PASSWORD"):
        app.parse_auth(value)
    assert app.main(["--auth", value]) == 2
    assert "USER:PASSWORD" in capsys.readouterr().err


def test_auth_from_environment(monkeypatch):
    monkeypatch.setenv("RAG_AUTH", "carol:pw")
    assert app.parse_auth(app.parse_args([]).auth) == ("carol", "pw")


def test_public_host_without_auth_warns_and_missing_index_is_an_error(tmp_path, capsys):
    code = app.main(["--host", "0.0.0.0", "--index", str(tmp_path / "typo")])
    err = capsys.readouterr().err
    assert code == 2 and "without a login" in err and "no index at" in err
    assert not (tmp_path / "typo").exists()  # never builds the bundled corpus there
    with pytest.raises(IndexNotFoundError):
        app.open_assistant(tmp_path / "typo", None)


def test_loopback_hosts():
    assert app.is_loopback("127.0.0.1") and app.is_loopback("localhost")
    assert not app.is_loopback("0.0.0.0") and not app.is_loopback("192.168.1.5")


def test_limiter_caps_each_client_separately():
    now = [0.0]
    limiter = ClientLimiter(3, window=60, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")  # another client is not starved
    now[0] = 61.0
    assert limiter.allow("a")  # the window slid on
    assert all(ClientLimiter(0).allow("a") for _ in range(1000))  # 0: off
    assert client_key(SimpleNamespace(client=SimpleNamespace(host="10.0.0.7"))) == "10.0.0.7"
    assert client_key(None) == "unknown"


def test_public_metadata_has_no_absolute_paths(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    index.mkdir()
    meta = {"path": str(corpus / "sub" / "a.md"), "source": "x"}
    assert public_metadata(meta, [corpus, index])["path"] == "sub/a.md"
    added = {"path": str(index / "added" / "b.html")}
    assert public_metadata(added, [corpus, index])["path"] == "added/b.html"
    assert public_metadata({"path": "/srv/secret/c.txt"}, [corpus])["path"] == "c.txt"
    assert meta["path"].startswith(str(tmp_path))  # the original is not modified


class _Assistant:
    def __init__(self, root: Path):
        self.corpus, self.index_dir = root / "corpus", root / "index"
        path = str(self.corpus / "news" / "a.md")
        self.doc = SimpleNamespace(doc_id="a", title="标题", text="正文一句。",
                                   metadata={"path": path, "date": "2022-01-01"})
        self.snip = Snippet("正文一句。", "a", "标题", 0, 5, 1.0, metadata={"path": path})

    def answer(self, question, **_):
        return Answer(question, True, [self.snip], "ok", [], question)

    def document(self, doc_id):
        return self.doc


def test_chat_and_sources_panel_show_paths_relative_to_the_corpus(tmp_path):
    assistant = _Assistant(tmp_path)
    record, html = ask(assistant, "正文？")
    assert record["items"][0]["metadata"]["path"] == "news/a.md"
    context, article = _views(assistant, record["items"][0])
    for markup in (html, context, article):
        assert str(tmp_path) not in markup
    assert "news/a.md" in article
