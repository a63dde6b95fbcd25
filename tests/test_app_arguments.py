"""``app.py`` start-up faults found by the sixth probe: empty paths, a port in use or out of
range, a feedback log that cannot be written (at start and per vote). Each failed before its
fix; none needs the model or a server."""

from __future__ import annotations

import errno
import logging
import os
import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.web.feedback import FeedbackLog
from rag.web.ui import record_vote

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import app  # noqa: E402 - the script at the repository root

RECORD = {"question": "q", "query": "q", "answered": True, "items": []}


@pytest.fixture
def no_open(monkeypatch):
    """Fail the test if the index is opened (argument errors come first)."""
    def refuse(*_a, **_k):
        raise AssertionError("a bad argument must be refused before loading the index")

    monkeypatch.setattr(app, "open_assistant", refuse)


@pytest.fixture
def served(monkeypatch, tmp_path):
    """app.main with a stand-in assistant and launch; the launch kwargs are recorded."""
    calls: list[dict] = []
    monkeypatch.setattr(app, "open_assistant",
                        lambda *_a, **_k: SimpleNamespace(index_dir=tmp_path / "ix"))
    monkeypatch.setattr(app, "build_demo", lambda *_a, **k: SimpleNamespace(**k))
    monkeypatch.setattr(app, "launch", lambda demo, **k: calls.append({"demo": demo, **k}))
    (tmp_path / "ix").mkdir()
    return calls


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("❌") and "Traceback" not in err
    return lines[0]


# -------------------------------------------------------------------------- empty paths
@pytest.mark.parametrize("option", ["--index", "--corpus", "--feedback"])
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_path_is_an_error(capsys, no_open, option, value):
    with pytest.raises(SystemExit) as stop:
        app.main([option, value])
    assert stop.value.code == 2
    assert f"argument {option}: must not be empty" in capsys.readouterr().err


# --------------------------------------------------------------------------------- port
@pytest.mark.parametrize("port", ["99999", "65536", "-1", "0"])
def test_a_port_out_of_range_is_one_error_line(capsys, no_open, port):
    assert app.main(["--port", port]) == 2
    assert "--port must be a whole number from 1 to 65535" in _one_error(capsys)


def test_a_port_in_use_is_refused_before_loading(capsys, no_open):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert app.main(["--port", str(port)]) == 2
    assert _one_error(capsys) == f"❌ port {port} is in use; choose another with --port"


def test_a_port_taken_while_loading_is_one_error_line(capsys, served, monkeypatch):
    def taken(*_a, **_k):
        raise OSError("Cannot find empty port in range: 1-1. You can specify a different port")

    monkeypatch.setattr(app, "launch", taken)
    port = _free_port()
    assert app.main(["--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"❌ port {port} is in use; choose another with --port" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("stage", ["open_assistant", "build_demo", "launch"])
def test_ctrl_c_while_starting_is_one_line_and_status_130(capsys, served, monkeypatch, stage):
    """Ctrl-C while the index builds, the models load or Gradio starts: a 30-60 line traceback
    until the third robustness probe."""
    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(app, stage, interrupted)
    try:
        code = app.main(["--port", str(_free_port())])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped app.main")
    assert code == 130
    assert "interrupted" in _one_error(capsys)


def test_ctrl_c_while_the_script_imports_is_one_line(capsys):
    """``python app.py`` installs this hook before Gradio imports (seconds on a busy machine)."""
    app._one_line_interrupt(KeyboardInterrupt, KeyboardInterrupt(), None)
    assert "interrupted" in _one_error(capsys)


def test_good_arguments_still_launch(served, tmp_path):
    port = _free_port()
    assert app.main(["--port", str(port)]) == 0
    assert served[0]["port"] == port
    assert served[0]["demo"].feedback_path == tmp_path / "ix" / "feedback.jsonl"


# ----------------------------------------------------------------------- feedback path
def test_a_feedback_folder_is_refused_at_start(capsys, no_open, tmp_path):
    assert app.main(["--feedback", str(tmp_path)]) == 2
    assert "is a folder" in _one_error(capsys)


def test_a_feedback_path_under_a_file_is_refused_at_start(capsys, no_open, tmp_path):
    (tmp_path / "file").write_text("x")
    assert app.main(["--feedback", str(tmp_path / "file" / "fb.jsonl")]) == 2
    assert "cannot be written" in _one_error(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only folder")
def test_a_feedback_path_in_a_read_only_folder_is_refused_at_start(capsys, no_open, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert app.main(["--feedback", str(folder / "fb.jsonl")]) == 2
    finally:
        folder.chmod(0o700)
    assert "cannot be written" in _one_error(capsys)


def test_a_good_feedback_path_is_checked_without_leaving_a_file(served, tmp_path):
    path = tmp_path / "new" / "fb.jsonl"
    assert app.main(["--feedback", str(path), "--port", str(_free_port())]) == 0
    assert served[0]["demo"].feedback_path == path and not path.exists()
    FeedbackLog(path).record(RECORD, "up")
    FeedbackLog(path).check()  # an existing log is kept as it is
    assert len(FeedbackLog(path).read()) == 1


def test_an_unwritable_default_feedback_log_is_a_warning(capsys, served, tmp_path):
    (tmp_path / "ix" / "feedback.jsonl").mkdir()  # the index's own log cannot be written
    assert app.main(["--port", str(_free_port())]) == 0
    assert "votes will not be saved" in capsys.readouterr().err and served


# ------------------------------------------------------------------ a vote at run time
def test_a_vote_is_recorded(tmp_path):
    log = FeedbackLog(tmp_path / "fb.jsonl")
    assert record_vote(log, {"records": {3: RECORD}}, 3, True)
    assert log.read()[0]["vote"] == "up"
    assert not record_vote(log, {"records": {}}, 3, True)  # no such answer: nothing logged


def test_a_log_replaced_by_a_folder_loses_the_vote_with_a_warning(tmp_path, caplog):
    log = FeedbackLog(tmp_path / "fb.jsonl")
    log.path.mkdir()
    with caplog.at_level(logging.WARNING, "rag.web.ui"), pytest.warns(UserWarning,
                                                                      match="not saved"):
        assert not record_vote(log, {"records": {1: RECORD}}, 1, False)
    assert "feedback vote not saved" in caplog.text


def test_a_full_disk_loses_the_vote_with_a_warning(tmp_path, caplog, monkeypatch):
    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("rag.web.feedback.os.fsync", full)
    log = FeedbackLog(tmp_path / "fb.jsonl")
    with caplog.at_level(logging.WARNING, "rag.web.ui"), pytest.warns(UserWarning):
        assert not record_vote(log, {"records": {1: RECORD}}, 1, True)
    assert "No space left" in caplog.text
