"""The reader's training data: English translations of DRCD questions and the windows an epoch
makes of them (nothing here trains a model)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from rag.reader.training import (
    Corpus,
    Example,
    TrainConfig,
    _question_items,
    epoch_items,
    load_translations,
)

REPO = Path(__file__).resolve().parent.parent
TRANSLATIONS = REPO / "data" / "training" / "drcd_questions_en.jsonl"
DRCD = REPO.parent / "shared" / "bench" / "drcd"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

CONTEXT = ("慧医天下与阿里健康达成合作，推出了一款名为安唐保的保险产品。"
           "安唐保是专为糖尿病患者设计的保险，覆盖院外管理等服务。该产品于2021年上线。")
ANSWER = "糖尿病"


@pytest.fixture(scope="module")
def tokenizer():
    from embeddings.convert import default_model_dir
    from rag.reader.tokenizer import reader_tokenizer

    return reader_tokenizer(default_model_dir())


def _corpus(english: dict[str, str]) -> Corpus:
    start = CONTEXT.index(ANSWER)
    pairs = []
    for i in range(6):
        qid = f"q{i}"
        simp = Example(qid, 0, "安唐保是为哪类患者设计的？", CONTEXT, ANSWER, start, "simplified")
        trad = Example(qid, 0, "安唐保是為哪類患者設計的？", CONTEXT, ANSWER, start, "traditional")
        pairs.append((simp, trad))
    return Corpus(train=pairs, paragraphs=[(0, CONTEXT)], english=english)


@pytest.mark.unit
def test_translations_are_english_and_name_real_drcd_questions():
    rows = [json.loads(line) for line in TRANSLATIONS.read_text("utf-8").splitlines()]
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) > 5000
    assert all(r["en"].strip() and not CJK.search(r["en"]) for r in rows)
    assert load_translations(TRANSLATIONS) == {r["id"]: r["en"] for r in rows}
    if not DRCD.is_dir():
        pytest.skip("DRCD is not beside the repository")
    drcd = set()
    for name in ("DRCD_dev.json", "DRCD_test.json"):
        for art in json.loads((DRCD / name).read_text("utf-8"))["data"]:
            drcd |= {qa["id"] for p in art["paragraphs"] for qa in p["qas"]}
    assert set(ids) <= drcd


@pytest.mark.integration
def test_a_translated_question_adds_english_windows_labelled_at_the_answer(tokenizer):
    from rag.reader.model import ReaderSettings

    settings = ReaderSettings()
    english = {"q0": "Which patients is Antangbao designed for?",
               "q3": "Who is Antangbao for?"}
    plain = epoch_items(_corpus({}), tokenizer, settings, TrainConfig(), 0)
    cfg = TrainConfig(same_paragraph_negatives=0.0, bm25_negatives=0.0)
    with_english = epoch_items(_corpus(english), tokenizer, settings, cfg, 0)
    assert len(plain) == 6  # one answer window each: the passage fits one window
    assert len(with_english) == 6 + len(english)
    rng = random.Random(0)
    ex = _corpus(english).train[0][0]
    (item,) = _question_items(_corpus(english), tokenizer, settings, cfg, rng, ex, english["q0"])
    # the English question's tokens come first, and the labels still point at the answer
    text = tokenizer.decode(item.input_ids[item.start:item.end + 1]).replace(" ", "")
    assert text == ANSWER
    assert "Antangbao" in tokenizer.decode(item.input_ids[:item.start])
    assert all(item.context_mask[i] for i in range(item.start, item.end + 1))


@pytest.mark.integration
def test_without_translations_an_epoch_is_unchanged(tokenizer):
    """Adding the English option must not shift the sampling of a Chinese-only run (earlier
    stages stay reproducible)."""
    from rag.reader.model import ReaderSettings

    settings = ReaderSettings()
    a = epoch_items(_corpus({}), tokenizer, settings, TrainConfig(seed=3), 1)
    b = epoch_items(_corpus({}), tokenizer, settings, TrainConfig(seed=3, english_share=0.5), 1)
    assert [(i.input_ids, i.start, i.end) for i in a] == [(i.input_ids, i.start, i.end) for i in b]
