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
    epoch_batches,
    epoch_items,
    load_translations,
    question_loss,
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


# ------------------------------------------------------- the loss over a question's windows
def _long_corpus() -> Corpus:
    """Questions whose paragraph spans several windows, so that a question brings negatives."""
    filler = "该公司在多个城市开展了线上问诊、慢病管理和药品配送等业务。" * 14
    context = filler + CONTEXT
    start = context.index(ANSWER)
    pairs = [(Example(f"q{i}", 0, "安唐保是为哪类患者设计的？", context, ANSWER, start,
                      "simplified"),) * 2 for i in range(9)]
    return Corpus(train=pairs, paragraphs=[(0, context)])


@pytest.mark.integration
def test_with_the_question_loss_a_questions_windows_share_one_batch(tokenizer):
    from rag.reader.model import ReaderSettings

    cfg = TrainConfig(question_loss=1.0, same_paragraph_negatives=1.0, batch_size=5, seed=4)
    batches = epoch_batches(_long_corpus(), tokenizer, ReaderSettings(), cfg, 0)
    seen: dict[int, int] = {}
    for b, batch in enumerate(batches):
        assert 0 < len(batch) <= cfg.batch_size
        for item in batch:
            assert seen.setdefault(item.question, b) == b  # never split over two batches
    by_question = [[it for batch in batches for it in batch if it.question == q] for q in seen]
    assert len(by_question) == 9
    # each question: its answer window and one window of the paragraph without it
    assert all(len(items) == 2 and sum(it.start > 0 for it in items) == 1
               for items in by_question)


@pytest.mark.integration
def test_without_the_question_loss_batches_are_the_shuffled_windows_cut_in_order(tokenizer):
    """Earlier stages stay reproducible: the same windows in the same order as before."""
    from rag.reader.model import ReaderSettings

    cfg = TrainConfig(same_paragraph_negatives=1.0, batch_size=4, seed=4)
    batches = epoch_batches(_long_corpus(), tokenizer, ReaderSettings(), cfg, 0)
    flat = epoch_items(_long_corpus(), tokenizer, ReaderSettings(), cfg, 0)
    assert [len(b) for b in batches[:-1]] == [4] * (len(batches) - 1)
    assert [it.input_ids for b in batches for it in b] == [it.input_ids for it in flat]
    questions = [it.question for it in flat]
    assert questions != sorted(questions)  # windows of one question are shuffled apart


@pytest.mark.unit
def test_the_question_loss_is_one_softmax_over_all_windows_of_a_question():
    import torch
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(0)
    s, e = torch.randn(3, 6, generator=gen), torch.randn(3, 6, generator=gen)
    allowed = torch.tensor([[1, 0, 1, 1, 1, 0], [1, 0, 0, 1, 1, 1], [1, 0, 1, 1, 0, 0]],
                           dtype=torch.bool)
    questions = torch.tensor([5, 5, 7])  # question 7 has one window: left out
    flat_s = torch.cat([s[0, [2, 3, 4]], s[1, [3, 4, 5]]])
    flat_e = torch.cat([e[0, [2, 3, 4]], e[1, [3, 4, 5]]])
    for starts, ends, (si, ei) in (([2, 0, 3], [3, 0, 3], (0, 1)),  # answer in the 1st window
                                   ([0, 4, 3], [0, 5, 3], (4, 5))):  # in the 2nd
        loss = question_loss(s, e, allowed, torch.tensor(starts), torch.tensor(ends), questions)
        expected = -(F.log_softmax(flat_s, 0)[si] + F.log_softmax(flat_e, 0)[ei]) / 2
        assert torch.isclose(loss, expected)
    # no question with an answer and two windows: nothing to add
    assert question_loss(s, e, allowed, torch.tensor([0, 0, 3]), torch.tensor([0, 0, 3]),
                         questions) is None


# ------------------------------------------------------------- DRCD files of another shape
GOOD = {"data": [{"title": "t", "paragraphs": [{"context": CONTEXT, "qas": [
    {"id": "1-1", "question": "什么保险？", "answers": [{"text": ANSWER, "answer_start": 0}]}]}]}]}


def _bench(tmp_path: Path, dev) -> Path:
    (tmp_path / "drcd").mkdir(parents=True, exist_ok=True)
    for name, data in (("DRCD_dev.json", dev), ("DRCD_test.json", GOOD)):
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        (tmp_path / "drcd" / name).write_text(text, encoding="utf-8")
    return tmp_path


BROKEN = {
    "a list of articles": [GOOD["data"][0]],
    "paragraphs as text": {"data": [{"title": "t", "paragraphs": "段落"}]},
    "a number for a context": {"data": [{"paragraphs": [{"context": 3, "qas": []}]}]},
    "an answer start as text": {"data": [{"paragraphs": [{"context": CONTEXT, "qas": [
        {"id": "1", "question": "？", "answers": [{"text": ANSWER, "answer_start": "0"}]}]}]}]},
    "a question without an id": {"data": [{"paragraphs": [{"context": CONTEXT, "qas": [
        {"question": "？", "answers": []}]}]}]},
    "not JSON": "{",
}


@pytest.mark.unit
@pytest.mark.parametrize("shape", sorted(BROKEN))
def test_fit_and_training_commands_name_a_drcd_file_of_another_shape(tmp_path, capsys, shape):
    """`fit-reader` / `fit-heuristic` / training on DRCD files that are not SQuAD v1 raised a
    TypeError or KeyError inside the training module."""
    from eval.__main__ import main as eval_main
    from rag.reader.training import main as train_main

    bench = _bench(tmp_path, BROKEN[shape])
    for command in ("fit-reader", "fit-heuristic"):
        assert eval_main([command, "--bench", str(bench), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "DRCD_dev.json" in err and "\n" not in err
    with pytest.raises(SystemExit) as exit_:
        train_main(["--bench", str(bench), "--out", str(tmp_path / "w"),
                    "--work", str(tmp_path / "work")])
    assert exit_.value.code == 2 and "DRCD_dev.json" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


@pytest.mark.unit
def test_a_bench_folder_without_drcd_is_named(tmp_path, capsys):
    from eval.__main__ import main as eval_main

    assert eval_main(["fit-reader", "--bench", str(tmp_path)]) == 2
    assert "--bench names the folder" in capsys.readouterr().err


@pytest.mark.unit
def test_well_formed_drcd_files_pass_the_check(tmp_path):
    from rag.reader.training import read_drcd

    assert len(read_drcd(_bench(tmp_path, GOOD))) == 2


# ------------------------------------------------------------------------------ the device
@pytest.mark.unit
def test_training_takes_a_gpu_when_torch_sees_one(monkeypatch):
    import torch

    from rag.reader.training import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    assert resolve_device("cpu") == "cpu"


@pytest.mark.unit
def test_a_device_that_cannot_be_used_is_one_error_line(tmp_path, capsys):
    import torch

    from rag.reader.training import main as train_main

    device = "cuda:7" if torch.cuda.device_count() < 8 else "nonsense"
    with pytest.raises(SystemExit) as exit_:
        train_main(["--bench", str(_bench(tmp_path, GOOD)), "--out", str(tmp_path / "w"),
                    "--work", str(tmp_path / "work"), "--device", device])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"cannot train on device '{device}'" in err
    assert not (tmp_path / "w").exists()

