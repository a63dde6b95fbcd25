"""CLI argument faults found by the sixth probe: empty paths, argparse errors under ``--json``
and raw ``[Errno …]`` messages for a broken index folder. Each test failed before its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.cli import main
from tests.fault_support import small_corpus

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("fake_encoder")]


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def no_build(monkeypatch):
    """Fail the test if any index is opened or built."""
    def refuse(*_a, **_k):
        raise AssertionError("an empty path must not open or build an index")

    monkeypatch.setattr("rag.cli.Assistant.build", refuse)
    monkeypatch.setattr("rag.cli.Assistant.load", refuse)


# ---------------------------------------------------------------- empty --index / --corpus
@pytest.mark.parametrize("argv", [
    ("ask", "火星医院", "--index", ""),
    ("ask", "火星医院", "--index", "  "),
    ("search", "火星医院", "--corpus", ""),
    ("doc", "mars", "--index", ""),
    ("index", "--corpus", ""),
    ("index", "--index", ""),
    ("check", ""),
    ("check", "--index", ""),
])
def test_an_empty_path_is_an_error_not_the_default(capsys, no_build, argv):
    code, out, err = _cli(capsys, *argv)
    assert code == 2 and out == ""
    assert "must not be empty" in err and "no --corpus given" not in err


def test_index_with_an_empty_corpus_writes_nothing(capsys, no_build, tmp_path):
    code, _, _ = _cli(capsys, "index", "--corpus", "", "--index", str(tmp_path / "new"))
    assert code == 2 and not (tmp_path / "new").exists()


# ----------------------------------------------------------- --json for argparse's errors
@pytest.mark.parametrize(("argv", "needle"), [
    (("ask", "火星医院", "-k", "101", "--json"), "-k"),
    (("search", "火星医院", "--json", "--date-from", "2022-02-30"), "--date-from"),
    (("ask", "火星医院", "--mode", "nope", "--json"), "--mode"),
    (("ask", "火星医院", "--index", "", "--json"), "--index"),
    (("doc", "--json"), "doc_id"),
    (("ask", "火星医院", "-k", "0", "--js"), "-k"),  # an abbreviation argparse accepts
])
def test_argument_errors_under_json_print_the_json_error(capsys, no_build, argv, needle):
    code, out, err = _cli(capsys, *argv)
    assert code == 2 and "error:" in err
    obj = json.loads(out)
    assert obj["type"] == "InvalidArgumentError" and needle in obj["error"]


def test_argument_errors_without_json_keep_stdout_empty(capsys, no_build):
    code, out, err = _cli(capsys, "ask", "火星医院", "-k", "101")
    assert code == 2 and out == "" and "usage:" in err and "1 to 100" in err


# ------------------------------------------------------- a broken folder: no raw [Errno]
def _built(capsys, tmp_path: Path) -> tuple[Path, Path]:
    corpus, index = small_corpus(tmp_path / "c"), tmp_path / "ix"
    assert _cli(capsys, "index", "--corpus", str(corpus), "--index", str(index))[0] == 0
    return corpus, index


def _says_not_an_index(err: str, index: Path, culprit: str) -> bool:
    """No raw ``[Errno …]``: the path in the way is named with the fix (the message is the
    CLI's, or the index store's own where it catches the error first)."""
    return ("[Errno" not in err and str(index / culprit.split()[0]) in err
            and "remove" in err)


def test_builds_being_a_file_is_named(capsys, tmp_path):
    corpus, index = small_corpus(tmp_path / "c"), tmp_path / "ix"
    index.mkdir()
    (index / "builds").write_text("x")
    code, _, err = _cli(capsys, "index", "--corpus", str(corpus), "--index", str(index))
    assert code == 2 and _says_not_an_index(err, index, "builds is a file, not a folder")


def test_a_lock_that_is_a_folder_is_named(capsys, tmp_path):
    corpus, index = _built(capsys, tmp_path)
    (index / ".lock").unlink()
    (index / ".lock").mkdir()
    code, _, err = _cli(capsys, "index", "--corpus", str(corpus), "--index", str(index))
    assert code == 2 and "cannot write to the index folder" in err and ".lock" in err
    assert "[Errno" not in err  # `rag index` always takes the writer lock
    code, out, err = _cli(capsys, "ask", "火星医院", "--json", "--index", str(index))
    assert "[Errno" not in err  # a reader may not need the lock; if it does, it says why
    assert code == 0 or ".lock" in json.loads(out)["error"]


def test_current_that_is_a_folder_is_named(capsys, tmp_path):
    corpus, index = _built(capsys, tmp_path)
    (index / "CURRENT").unlink()
    (index / "CURRENT").mkdir()
    code, _, err = _cli(capsys, "index", "--corpus", str(corpus), "--index", str(index))
    assert code == 2 and _says_not_an_index(err, index, "CURRENT is a folder, not a file")


def test_other_os_errors_keep_their_text(capsys, tmp_path, monkeypatch):
    def fail(*_a, **_k):
        raise PermissionError(13, "Permission denied", "/elsewhere/file")

    monkeypatch.setattr("rag.cli.Assistant.build", fail)
    code, _, err = _cli(capsys, "index", "--corpus", str(small_corpus(tmp_path / "c")),
                        "--index", str(tmp_path / "ix"))
    assert code == 2 and "Permission denied" in err and "not a valid index" not in err
