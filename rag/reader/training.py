"""Train the span reader on DRCD (both scripts) with hard negatives; resumable.

    python -m rag.reader.training --bench BENCH --out rag/resources/reader
        # BENCH: the folder holding drcd/DRCD_{dev,test}.json; `make reader` passes the
        # project's shared bench folder

Data: DRCD dev + test (Traditional Chinese), each question seen in Simplified (opencc t2s) or
Traditional script, drawn per epoch. Every question gives one window holding its answer; a
share of questions also give a no-answer window: another window of the same paragraph, or a
window of the best BM25 paragraph of *another* article that does not contain the answer (hard
negatives make the no-answer score mean something). A few DRCD articles are held out for
validation and for calibrating the refusal threshold. CMRC 2018 and XQuAD are never read here.

With ``--question-loss W`` the windows of one question stay in one batch and a second loss
(weight W) normalises the start and end logits over all of them together: the answer must
outscore every span of the question's other windows, as when the assistant picks one span
among the passages it read. Without it each window is a softmax of its own (earlier stages).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.errors import InvalidArgumentError
from rag.integrity import sha256_file
from rag.reader.decode import best_span
from rag.reader.features import Window, answer_tokens, make_windows
from rag.reader.model import (
    WEIGHTS_FILE,
    ReaderSettings,
    build_network,
    learned_state,
    load_weights,
    save_weights,
)
from rag.reader.tokenizer import reader_tokenizer

if TYPE_CHECKING:
    import torch

log = logging.getLogger("rag.reader.training")
DRCD_FILES = ("drcd/DRCD_dev.json", "drcd/DRCD_test.json")
CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainConfig:
    """Optimisation and sampling settings (recorded in the model card)."""

    seed: int = 13  # window sampling and initialisation (a second stage takes another)
    heldout_seed: int = 13  # which articles are held out: fixed, so that every stage and
    # `eval fit-reader` hold out the same ones
    epochs: float = 1.3  # sized to train in about 75 minutes on 2 CPU cores
    batch_size: int = 16
    lr: float = 5e-4
    weight_decay: float = 0.01
    warmup: float = 0.05
    same_paragraph_negatives: float = 0.25  # share of questions adding a same-paragraph window
    bm25_negatives: float = 0.25  # share adding a window of another article's BM25 top paragraph
    simplified_share: float = 0.6  # share of questions shown in Simplified script
    heldout_articles: float = 0.06
    checkpoint_every: int = 40
    validate_every: int = 200
    validation_questions: int = 100
    threads: int = 2
    device: str = "auto"  # "auto": a CUDA GPU when torch sees one, else the CPU
    max_steps: int | None = None  # stop early (probes); None = all epochs
    init: str | None = None  # start from these saved weights (a second stage) instead of fresh
    english: str | None = None  # JSONL of English translations of DRCD questions ({id, en})
    english_share: float = 1.0  # share of translated questions also asked in English per epoch
    question_loss: float = 0.0  # weight of the loss normalised over all of a question's
    # windows (0: each window on its own, batches of shuffled windows as in earlier stages)


@dataclass
class Example:
    qid: str
    article: int
    question: str
    context: str
    answer: str
    answer_start: int
    script: str  # "simplified" | "traditional"


@dataclass
class Item:
    """One training window with its start/end token labels (0, 0 = no answer)."""

    input_ids: list[int]
    context_mask: list[int]
    start: int
    end: int
    question: int = -1  # the asked question it belongs to, within its epoch


@dataclass
class Corpus:
    """DRCD in both scripts, split by article into training and held-out parts."""

    train: list[tuple[Example, Example]] = field(default_factory=list)  # (simplified, trad.)
    heldout: list[tuple[Example, Example]] = field(default_factory=list)
    paragraphs: list[tuple[int, str]] = field(default_factory=list)  # (article, simplified)
    negatives: dict[str, int] = field(default_factory=dict)  # qid -> paragraph index
    titles: list[str] = field(default_factory=list)  # per article, simplified
    english: dict[str, str] = field(default_factory=dict)  # qid -> English question


def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def _example(conv, qid, article, question, context, answer, start) -> tuple[Example, Example]:
    trad = Example(qid, article, question, context, answer, start, "traditional")
    s_ctx = conv.convert(context)
    s_ans = conv.convert(answer)
    # t2s keeps lengths almost always; re-find the answer near its old place when it does not
    s_start = start if s_ctx[start:start + len(s_ans)] == s_ans else s_ctx.find(s_ans)
    if s_start < 0:
        return trad, trad
    simp = Example(qid, article, conv.convert(question), s_ctx, s_ans, s_start, "simplified")
    return simp, trad


def read_drcd(bench: Path) -> list[dict]:
    """The articles of DRCD's two files under ``bench``, checked to be SQuAD v1 shaped (the
    fields training reads, with their types); a file missing or of another shape is an
    :class:`InvalidArgumentError` naming it, not a TypeError part way through."""
    articles: list[dict] = []
    for name in DRCD_FILES:
        path = Path(bench) / name
        try:
            data = json.loads(path.read_text("utf-8"))
        except OSError as exc:
            raise InvalidArgumentError(
                f"cannot read {path}: {exc.strerror or exc} (--bench names the folder holding "
                f"{' and '.join(DRCD_FILES)})") from exc
        except ValueError as exc:  # not UTF-8, not JSON
            raise InvalidArgumentError(f"{path}: not a JSON file ({exc})") from exc
        try:
            found = _squad_articles(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgumentError(
                f"{path}: not a DRCD (SQuAD v1) file: {exc}") from exc
        articles += found
    return articles


def _squad_articles(data) -> list[dict]:
    """``data["data"]`` after checking every field training reads; an error says where."""
    def check(value, kind, where: str):
        if not isinstance(value, kind) or isinstance(value, bool):
            raise TypeError(f"{where} is {type(value).__name__}, not {kind.__name__}")
        return value

    articles = check(check(data, dict, "the file").get("data"), list, "data")
    for a, art in enumerate(articles):
        for p, para in enumerate(check(check(art, dict, f"data[{a}]").get("paragraphs"), list,
                                       f"data[{a}].paragraphs")):
            at = f"data[{a}].paragraphs[{p}]"
            check(check(para, dict, at).get("context"), str, f"{at}.context")
            for n, qa in enumerate(check(para.get("qas"), list, f"{at}.qas")):
                here = f"{at}.qas[{n}]"
                check(check(qa, dict, here).get("question"), str, f"{here}.question")
                if qa.get("id") is None:
                    raise ValueError(f"{here} has no id")
                for i, ans in enumerate(check(qa.get("answers") or [], list, f"{here}.answers")):
                    check(check(ans, dict, f"{here}.answers[{i}]").get("text"), str,
                          f"{here}.answers[{i}].text")
                    check(ans.get("answer_start"), int, f"{here}.answers[{i}].answer_start")
    return articles


def load_corpus(bench: Path, cfg: TrainConfig) -> Corpus:
    conv = _converter()
    rng = random.Random(cfg.heldout_seed)
    articles = read_drcd(bench)
    order = list(range(len(articles)))
    rng.shuffle(order)
    heldout = set(order[: max(1, int(len(order) * cfg.heldout_articles))])
    corpus = Corpus()
    para_of: dict[str, int] = {}
    for a, art in enumerate(articles):
        corpus.titles.append(conv.convert(str(art.get("title") or "")))
        for para in art["paragraphs"]:
            ctx = para["context"]
            corpus.paragraphs.append((a, conv.convert(ctx)))
            for qa in para["qas"]:
                if not qa.get("answers"):
                    continue
                ans = qa["answers"][0]
                if ctx[ans["answer_start"]:ans["answer_start"] + len(ans["text"])] != ans["text"]:
                    continue
                pair = _example(conv, qa["id"], a, qa["question"], ctx, ans["text"],
                                ans["answer_start"])
                (corpus.heldout if a in heldout else corpus.train).append(pair)
                para_of[qa["id"]] = len(corpus.paragraphs) - 1
    corpus.negatives = _bm25_negatives(corpus, para_of)
    if cfg.english:
        corpus.english = load_translations(Path(cfg.english))
    return corpus


def load_translations(path: Path) -> dict[str, str]:
    """DRCD question id -> English question, from a JSONL file of ``{"id", "en"}`` rows."""
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return {str(r["id"]): str(r["en"]) for r in rows if r.get("en")}


def _bigrams(text: str) -> list[str]:
    chars = [c for c in text if not c.isspace()]
    return [a + b for a, b in zip(chars, chars[1:])]


def _bm25_negatives(corpus: Corpus, para_of: dict[str, int]) -> dict[str, int]:
    """For each question, the best BM25 paragraph (character bigrams) of another article that
    does not contain the answer."""
    import bm25s

    texts = [p for _, p in corpus.paragraphs]
    retriever = bm25s.BM25()
    retriever.index([_bigrams(t) for t in texts], show_progress=False)
    out: dict[str, int] = {}
    for simp, _ in corpus.train + corpus.heldout:
        q = _bigrams(simp.question) or [simp.question]
        docs, _scores = retriever.retrieve([q], k=8, show_progress=False)
        for d in docs[0]:
            d = int(d)
            art, text = corpus.paragraphs[d]
            if art != simp.article and simp.answer not in text:
                out[simp.qid] = d
                break
    return out


def _item(window: Window, span: tuple[int, int] | None) -> Item:
    mask = [0 if o is None else 1 for o in window.offsets]
    s, e = span if span else (0, 0)
    return Item(window.input_ids, mask, s, e)


def epoch_items(corpus: Corpus, tokenizer, settings: ReaderSettings, cfg: TrainConfig,
                epoch: int) -> list[Item]:
    """The windows of one epoch, shuffled; deterministic for (seed, epoch). A question with an
    English translation is, with ``english_share``, asked a second time in English (over the
    paragraph in either script), so that the reader answers across languages."""
    return [it for b in epoch_batches(corpus, tokenizer, settings, cfg, epoch) for it in b]


def epoch_batches(corpus: Corpus, tokenizer, settings: ReaderSettings, cfg: TrainConfig,
                  epoch: int) -> list[list[Item]]:
    """The batches of one epoch. Without ``question_loss``: the shuffled windows cut into
    batches of ``batch_size``. With it: the shuffled questions, each question's windows kept
    together, packed into batches of at most ``batch_size`` windows (a question never split)."""
    rng = random.Random(cfg.seed * 1000 + epoch)
    asked: list[list[Item]] = []
    for pair in corpus.train:
        ex = pair[0] if rng.random() < cfg.simplified_share else pair[1]
        asked.append(_question_items(corpus, tokenizer, settings, cfg, rng, ex, ex.question))
        english = corpus.english.get(ex.qid)
        if english and rng.random() < cfg.english_share:
            ex = pair[0] if rng.random() < cfg.simplified_share else pair[1]
            asked.append(_question_items(corpus, tokenizer, settings, cfg, rng, ex, english))
    for q, items in enumerate(asked):
        for it in items:
            it.question = q
    if not cfg.question_loss:
        flat = [it for items in asked for it in items]
        rng.shuffle(flat)
        return [flat[i:i + cfg.batch_size] for i in range(0, len(flat), cfg.batch_size)]
    asked = [items for items in asked if items]
    rng.shuffle(asked)
    batches: list[list[Item]] = [[]]
    for items in asked:
        if batches[-1] and len(batches[-1]) + len(items) > cfg.batch_size:
            batches.append([])
        batches[-1].extend(items)
    return [b for b in batches if b]


def _question_items(corpus: Corpus, tokenizer, settings: ReaderSettings, cfg: TrainConfig,
                    rng: random.Random, ex: Example, question: str) -> list[Item]:
    """One window holding the answer and, by chance, a same-paragraph and a BM25 negative."""
    windows = _windows(tokenizer, question, [ex.context], settings)
    end = ex.answer_start + len(ex.answer)
    labelled = [(w, answer_tokens(w, ex.answer_start, end)) for w in windows]
    pos = [(w, s) for w, s in labelled if s is not None]
    neg = [w for w, s in labelled if s is None and not _covers(w, ex.answer_start, end)]
    if not pos:
        return []
    items = [_item(*rng.choice(pos))]
    if neg and rng.random() < cfg.same_paragraph_negatives:
        items.append(_item(rng.choice(neg), None))
    other = corpus.negatives.get(ex.qid)
    if other is not None and rng.random() < cfg.bm25_negatives:
        text = corpus.paragraphs[other][1]
        nwin = _windows(tokenizer, question, [text], settings)
        if nwin:
            items.append(_item(rng.choice(nwin), None))
    return items


def _covers(window: Window, start: int, end: int) -> bool:
    """True when the window overlaps the answer at all (partial answers are not negatives)."""
    a, b = window.context_range()
    return a < end and start < b


def _windows(tokenizer, question: str, passages: list[str], s: ReaderSettings) -> list[Window]:
    return make_windows(tokenizer, question, passages, s.max_length, s.stride,
                        s.max_question_tokens)


def _batch(items: list[Item], pad_id: int):
    import torch

    width = max(len(it.input_ids) for it in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    att = torch.zeros((len(items), width), dtype=torch.long)
    allowed = torch.zeros((len(items), width), dtype=torch.bool)
    for i, it in enumerate(items):
        n = len(it.input_ids)
        ids[i, :n] = torch.tensor(it.input_ids)
        att[i, :n] = 1
        allowed[i, :n] = torch.tensor(it.context_mask, dtype=torch.bool)
        allowed[i, 0] = True  # "no answer"
    starts = torch.tensor([it.start for it in items])
    ends = torch.tensor([it.end for it in items])
    questions = torch.tensor([it.question for it in items])
    return ids, att, allowed, starts, ends, questions


def resolve_device(name: str) -> str:
    """``"auto"`` → ``"cuda"`` when torch sees a GPU, else ``"cpu"``; another name as given
    (an unusable one is an :class:`InvalidArgumentError` before any work)."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        torch.empty(1, device=name)
    except (RuntimeError, AssertionError, ValueError) as exc:
        raise InvalidArgumentError(f"cannot train on device {name!r}: {exc}") from exc
    return name


def _device_of(net) -> torch.device:
    return next(net.parameters()).device


def span_loss(net, batch, question_weight: float = 0.0):
    """Cross-entropy of the start and end labels, each window a softmax of its own; with
    ``question_weight``, plus that weight times :func:`question_loss`."""
    import torch.nn.functional as F

    device = _device_of(net)
    ids, att, allowed, starts, ends, questions = (t.to(device) for t in batch)
    s_logits, e_logits = net(ids, att)
    s_logits = s_logits.masked_fill(~allowed, -1e4)
    e_logits = e_logits.masked_fill(~allowed, -1e4)
    loss = (F.cross_entropy(s_logits, starts) + F.cross_entropy(e_logits, ends)) / 2
    if question_weight:
        extra = question_loss(s_logits, e_logits, allowed, starts, ends, questions)
        if extra is not None:
            loss = loss + question_weight * extra
    return loss


def question_loss(s_logits, e_logits, allowed, starts, ends, questions):
    """Mean over the questions with an answer and more than one window in the batch of the
    start and end cross-entropy taken over the passage tokens of all their windows together
    (the no-answer positions left out: the answer is in one of them); None without any."""
    import torch
    import torch.nn.functional as F

    context = allowed.clone()
    context[:, 0] = False
    terms = []
    for q in torch.unique(questions):
        rows = torch.nonzero(questions == q).squeeze(1)
        answered = rows[starts[rows] > 0]
        if rows.numel() < 2 or answered.numel() != 1:
            continue
        mask = context[rows]
        # the label's index among the flattened passage tokens of the question's windows
        before = mask.cumsum(dim=1) - 1 + torch.cat(
            [mask.new_zeros(1, dtype=torch.long), mask.sum(dim=1).cumsum(0)[:-1]])[:, None]
        row = int(torch.nonzero(rows == answered[0])[0, 0])
        s_target = before[row, starts[answered[0]]]
        e_target = before[row, ends[answered[0]]]
        terms.append((F.cross_entropy(s_logits[rows][mask][None], s_target[None])
                      + F.cross_entropy(e_logits[rows][mask][None], e_target[None])) / 2)
    return torch.stack(terms).mean() if terms else None


def validate(net, tokenizer, corpus: Corpus, settings: ReaderSettings, cfg: TrainConfig) -> dict:
    """EM/F1 with the gold paragraph, no-answer accuracy on BM25 hard negatives, and EM with the
    gold paragraph and that negative read together (``pair_em``: the span picked across two
    passages, as the assistant does), on held-out DRCD questions (Simplified script); with
    translations, EM/F1 of the same questions asked in English (``en_*``)."""
    import torch

    from rag.reader.span_metrics import exact_match, f1

    rng = random.Random(cfg.heldout_seed)  # the same questions at every stage
    sample = rng.sample(corpus.heldout, min(cfg.validation_questions, len(corpus.heldout)))
    em = f1s = 0.0
    en_em: list[float] = []
    en_f1: list[float] = []
    gaps_pos: list[float] = []
    gaps_neg: list[float] = []
    pair_em: list[float] = []
    net.eval()
    with torch.no_grad():
        for simp, _ in sample:
            pred, gap = read_best(net, tokenizer, simp.question, [simp.context], settings)
            em += exact_match(pred, [simp.answer])
            f1s += f1(pred, [simp.answer])
            gaps_pos.append(gap)
            other = corpus.negatives.get(simp.qid)
            if other is not None:
                _, ngap = read_best(net, tokenizer, simp.question,
                                    [corpus.paragraphs[other][1]], settings)
                gaps_neg.append(ngap)
                both, _ = read_best(net, tokenizer, simp.question,
                                    [simp.context, corpus.paragraphs[other][1]], settings)
                pair_em.append(exact_match(both, [simp.answer]))
            english = corpus.english.get(simp.qid)
            if english:
                pred, _ = read_best(net, tokenizer, english, [simp.context], settings)
                en_em.append(exact_match(pred, [simp.answer]))
                en_f1.append(f1(pred, [simp.answer]))
    net.train()
    n = max(1, len(sample))
    pos, neg = np.array(gaps_pos), np.array(gaps_neg)
    thr = float(np.median(np.concatenate([pos, neg]))) if neg.size else 0.0
    out = {"questions": len(sample), "em": round(em / n, 4), "f1": round(f1s / n, 4),
           "no_answer_accuracy": round(float(((pos > thr).sum() + (neg <= thr).sum())
                                             / max(1, pos.size + neg.size)), 4)}
    if pair_em:
        out["pair_em"] = round(float(np.mean(pair_em)), 4)
    if en_em:
        out |= {"en_questions": len(en_em), "en_em": round(float(np.mean(en_em)), 4),
                "en_f1": round(float(np.mean(en_f1)), 4)}
    return out


def read_best(net, tokenizer, question: str, passages: list[str],
              settings: ReaderSettings) -> tuple[str, float]:
    """Best span text over the passages and its margin over the no-answer score."""
    windows = _windows(tokenizer, question, passages, settings)
    if not windows:
        return "", -math.inf
    items = [_item(w, None) for w in windows]
    ids, att, _allowed, _s, _e, _q = _batch(items, tokenizer.pad_token_id)
    device = _device_of(net)
    s_logits, e_logits = net(ids.to(device), att.to(device))
    s_logits, e_logits = s_logits.float().cpu().numpy(), e_logits.float().cpu().numpy()
    best, best_text = -math.inf, ""
    for i, w in enumerate(windows):
        pad = [False] * (ids.shape[1] - len(w.offsets))
        mask = np.array([o is not None for o in w.offsets] + pad)
        span = best_span(s_logits[i], e_logits[i], mask, settings.max_answer_tokens)
        if span is None:
            continue
        gap = span.score - span.null_score
        if gap > best:
            a = w.offsets[span.start_token][0]
            b = w.offsets[span.end_token][1]
            best, best_text = gap, passages[w.passage][a:b]
    return best_text, best


def _save_checkpoint(path: Path, net, optimizer, scheduler, step: int, epoch: int,
                     log_rows: list[dict]) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save({"learned": learned_state(net), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "step": step, "epoch": epoch,
                "rng": torch.get_rng_state(), "log": log_rows}, tmp)
    tmp.replace(path)


def write_card(out: Path, settings: ReaderSettings, cfg: TrainConfig, info: dict) -> None:
    weights = out / WEIGHTS_FILE
    info = {**info, "weights_sha256": sha256_file(weights), "weights_bytes": weights.stat().st_size}
    (out / "training.json").write_text(
        json.dumps({"settings": asdict(settings), "train": asdict(cfg), **info}, indent=2,
                   ensure_ascii=False) + "\n", "utf-8")
    v = info.get("validation") or {}
    stages = info.get("init_stages") or [info.get("init_summary", "")]
    lines = [
        "# Reader model card",
        "",
        "Extractive span reader: the locally rebuilt multilingual-e5-small encoder with LoRA "
        f"adapters (r={settings.lora_r}, alpha={settings.lora_alpha}, every attention and "
        "feed-forward projection) and a start/end head; `<s>` is the no-answer position. "
        "Only the adapters and head are stored here (fp16 safetensors).",
        "",
        "- Data: DRCD dev + test (Traditional Chinese, CC BY-SA 3.0), each question shown in "
        f"Simplified (opencc t2s, share {cfg.simplified_share}) or Traditional script; "
        f"{cfg.heldout_articles:.0%} of articles held out. Negatives: a same-paragraph window "
        f"without the answer ({cfg.same_paragraph_negatives:.0%} of questions) and a window of "
        f"the best BM25 paragraph of another article ({cfg.bm25_negatives:.0%}). CMRC 2018 and "
        "XQuAD are never used for training or tuning.",
        *([f"- English: {info.get('english_questions', 0):,} training questions also asked in "
           f"English (share {cfg.english_share:g} an epoch), from the translations in "
           f"`{Path(cfg.english).name}` (data/training/README.md)."] if cfg.english else []),
        f"- Settings: max length {settings.max_length}, stride {settings.stride}, batch "
        f"{cfg.batch_size}, lr {cfg.lr}, warm-up {cfg.warmup:.0%}, linear decay, "
        f"{cfg.epochs:g} epochs, seed {cfg.seed}"
        + (f"; a question's windows in one batch, with a loss over all of them (weight "
           f"{cfg.question_loss:g})." if cfg.question_loss else "."),
        *([f"- Started from the weights (sha256 `{info['init_sha256'][:16]}…`) of earlier "
           f"stages, oldest first: {'; '.join(stages)}."] if info.get("init_sha256") else []),
        f"- Trained: {info.get('steps_done')} of {info.get('steps_total')} steps, "
        f"{info.get('train_seconds', 0) / 60:.0f} min on {_hardware(info, cfg)}; "
        f"final loss {info.get('loss')}.",
        f"- Held-out DRCD ({v.get('questions', 0)} questions drawn by heldout_seed, gold "
        f"paragraph): EM {v.get('em')}, "
        f"F1 {v.get('f1')}, no-answer accuracy on hard negatives {v.get('no_answer_accuracy')}"
        + (f"; the {v['en_questions']} of them with a translation, asked in English: EM "
           f"{v.get('en_em')}, F1 {v.get('en_f1')}." if v.get("en_questions") else "."),
        f"- Weights: `reader.safetensors`, {info['weights_bytes']:,} bytes, "
        f"sha256 `{info['weights_sha256']}`.",
        "",
        "Retrain: `make reader` (runs of `python -m rag.reader.training --bench BENCH`, "
        "BENCH holding `drcd/`: the first stage, then each next one with `--init` on the "
        "previous output; the Makefile has every command); each resumes from its `--work` "
        "checkpoint after an interruption. It trains on a CUDA GPU when torch sees one "
        "(`--device auto`, the default; `--device cpu` to keep to the CPU).",
        "",
    ]
    (out / "MODEL_CARD.md").write_text("\n".join(lines), "utf-8")


def _hardware(info: dict, cfg: TrainConfig) -> str:
    device = info.get("device", "cpu")
    return f"{cfg.threads} CPU threads" if device == "cpu" else f"{device} ({info.get('gpu')})"


def train(bench: Path, out: Path, work: Path, settings: ReaderSettings, cfg: TrainConfig) -> None:
    import torch
    from tqdm import tqdm
    from transformers import get_linear_schedule_with_warmup

    from embeddings.convert import default_model_dir

    device = resolve_device(cfg.device)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    hardware = {"device": device}
    if device.startswith("cuda"):
        hardware["gpu"] = torch.cuda.get_device_name(torch.device(device))
    log.info("training on %s", device)
    base = default_model_dir()
    tokenizer = reader_tokenizer(base)
    t0 = time.time()
    corpus = load_corpus(bench, cfg)
    log.info("DRCD: %d training / %d held-out questions, %d paragraphs (%.0f s)",
             len(corpus.train), len(corpus.heldout), len(corpus.paragraphs), time.time() - t0)
    net = build_network(base, settings)
    init_info: dict = {}
    if cfg.init:
        init = Path(cfg.init)
        load_weights(net, init)
        init_info = {"init_sha256": sha256_file(init / WEIGHTS_FILE)}
        if (init / "training.json").is_file():
            first_stage = json.loads((init / "training.json").read_text("utf-8"))
            t = first_stage.get("train", {})
            init_info["init_summary"] = (
                f"{first_stage.get('steps_done')} steps at lr {t.get('lr')}, seed {t.get('seed')}"
                + (", with English questions" if t.get("english") else ""))
            init_info["init_stages"] = [*first_stage.get("init_stages", []),
                                        init_info["init_summary"]]
        log.info("initialised from %s", init)
    net.to(device)
    net.train()
    params = [p for p in net.parameters() if p.requires_grad]
    log.info("trainable parameters: %d", sum(p.numel() for p in params))
    first = epoch_batches(corpus, tokenizer, settings, cfg, 0)
    per_epoch = len(first)
    total = math.ceil(per_epoch * cfg.epochs)
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total * cfg.warmup), total)
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    settings.save(out)
    ckpt = work / CHECKPOINT
    step, rows, elapsed = 0, [], 0.0
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=False, map_location="cpu")
        net.load_state_dict(state["learned"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        step, rows = state["step"], state["log"]
        elapsed = rows[-1]["seconds"] if rows else 0.0
        log.info("resumed at step %d of %d", step, total)
    stop = min(total, cfg.max_steps or total)
    bar = tqdm(total=stop, initial=step, desc="reader", unit="step", mininterval=10)
    losses: list[float] = []
    t_start = time.time() - elapsed
    validation: dict = rows[-1].get("validation", {}) if rows else {}
    batches, batches_epoch = first, 0
    while step < stop:
        epoch, offset = divmod(step, per_epoch)
        if epoch != batches_epoch:
            batches, batches_epoch = epoch_batches(corpus, tokenizer, settings, cfg, epoch), epoch
        if offset >= len(batches):  # epoch's item count differs slightly from the first epoch's
            step = (epoch + 1) * per_epoch
            continue
        loss = span_loss(net, _batch(batches[offset], tokenizer.pad_token_id), cfg.question_loss)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        losses.append(float(loss.detach()))
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", epoch=epoch)
        if step % cfg.validate_every == 0 or step == stop:
            validation = validate(net, tokenizer, corpus, settings, cfg)
            log.info("step %d validation %s", step, validation)
        if step % cfg.checkpoint_every == 0 or step == stop:
            rows.append({"step": step, "loss": round(float(np.mean(losses[-50:])), 4),
                         "seconds": round(time.time() - t_start, 1), "validation": validation})
            _save_checkpoint(ckpt, net, optimizer, scheduler, step, epoch, rows)
            save_weights(net, out, {"step": str(step)})
            write_card(out, settings, cfg, {
                "steps_done": step, "steps_total": total, "train_seconds": rows[-1]["seconds"],
                "loss": rows[-1]["loss"], "validation": validation,
                "train_questions": len(corpus.train), "heldout_questions": len(corpus.heldout),
                "english_questions": sum(1 for ex, _ in corpus.train
                                         if ex.qid in corpus.english),
                "windows_per_epoch": sum(map(len, first)), "log": rows[-12:], **hardware,
                **init_info})
            log.info("checkpoint at step %d (loss %.3f)", step, rows[-1]["loss"])
    bar.close()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bench", type=Path, required=True,
                   help="folder holding drcd/DRCD_dev.json and drcd/DRCD_test.json")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "resources"
                   / "reader", help="where the weights and model card go")
    p.add_argument("--work", type=Path, default=Path(".cache/reader-training"),
                   help="checkpoint folder (resume from here)")
    p.add_argument("--epochs", type=float, default=TrainConfig.epochs)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--lora-r", type=int, default=ReaderSettings.lora_r)
    p.add_argument("--threads", type=int, default=TrainConfig.threads)
    p.add_argument("--device", default=TrainConfig.device,
                   help="auto (a CUDA GPU when torch sees one, else the CPU), cpu, cuda, cuda:1…")
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--init", type=Path, default=None,
                   help="a second stage: start from the weights saved in this reader folder")
    p.add_argument("--english", type=Path, default=None,
                   help="JSONL of English translations of DRCD questions ({id, en}); those "
                   "questions are also asked in English")
    p.add_argument("--english-share", type=float, default=TrainConfig.english_share)
    p.add_argument("--same-paragraph-negatives", type=float,
                   default=TrainConfig.same_paragraph_negatives,
                   help="share of questions adding a window of their paragraph without the answer")
    p.add_argument("--bm25-negatives", type=float, default=TrainConfig.bm25_negatives,
                   help="share of questions that add a window of another article's BM25 paragraph")
    p.add_argument("--question-loss", type=float, default=TrainConfig.question_loss,
                   help="weight of a second loss normalised over all of a question's windows "
                   "(kept in one batch); 0 = each window on its own")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = ReaderSettings(lora_r=args.lora_r, lora_alpha=2 * args.lora_r)
    cfg = TrainConfig(epochs=args.epochs, lr=args.lr, threads=args.threads,
                      device=args.device, batch_size=args.batch_size,
                      max_steps=args.max_steps, seed=args.seed,
                      init=str(args.init) if args.init else None,
                      english=str(args.english) if args.english else None,
                      english_share=args.english_share,
                      same_paragraph_negatives=args.same_paragraph_negatives,
                      bm25_negatives=args.bm25_negatives,
                      question_loss=args.question_loss)
    try:
        train(args.bench, args.out, args.work, settings, cfg)
    except InvalidArgumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
