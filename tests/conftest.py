"""Shared fixtures: one real index over the bundled corpus per test session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "data" / "articles"


@pytest.fixture(scope="session")
def corpus_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the bundled articles (tests may not touch the real ones)."""
    folder = tmp_path_factory.mktemp("corpus") / "articles"
    shutil.copytree(BUNDLED, folder)
    return folder


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory):
    """The real assistant over the bundled corpus, built once per session."""
    from rag import Assistant

    return Assistant.build(BUNDLED, tmp_path_factory.mktemp("index") / "bundled")


@pytest.fixture
def fake_encoder(monkeypatch):
    """The assistant embeds with ``FakeEncoder`` (fault modules use it for every test)."""
    from tests.fault_support import FakeEncoder

    monkeypatch.setattr("rag.assistant.make_encoder", FakeEncoder)


@pytest.fixture
def built(tmp_path, fake_encoder):
    """(assistant, corpus folder, index folder) over fault_support's ``small_corpus``, embedded
    by ``FakeEncoder``."""
    from rag import Assistant
    from tests.fault_support import small_corpus

    corpus = small_corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    return Assistant.build(corpus, index), corpus, index
