"""The trained reader: shipped weights, tokenizer, span decoding, short answers with offsets."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.reader.decode import best_span, best_spans
from rag.reader.inference import DEFAULT_READER_DIR
from rag.reader.model import WEIGHTS_FILE, ReaderSettings
from rag.textnorm import chinese_script, to_traditional

pytestmark = pytest.mark.integration

PASSAGE = ("慧医天下与阿里健康达成合作，推出了一款名为安唐保的保险产品。"
           "安唐保是专为糖尿病患者设计的保险，覆盖院外管理等服务。该产品于2021年上线。")


@pytest.fixture(scope="module")
def reader():
    from rag.reader.inference import Reader

    return Reader()


@pytest.fixture(scope="module")
def tokenizer():
    from embeddings.convert import default_model_dir
    from rag.reader.tokenizer import reader_tokenizer

    return reader_tokenizer(default_model_dir())


def test_shipped_weights_are_small_and_the_ones_in_the_model_card():
    weights = DEFAULT_READER_DIR / WEIGHTS_FILE
    assert weights.stat().st_size <= 10 * 1024 * 1024
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    card = json.loads((DEFAULT_READER_DIR / "training.json").read_text("utf-8"))
    assert card["weights_sha256"] == digest
    assert digest in (DEFAULT_READER_DIR / "MODEL_CARD.md").read_text("utf-8")
    assert ReaderSettings.load(DEFAULT_READER_DIR).lora_r == card["settings"]["lora_r"]


def test_weights_load_into_the_network_and_are_all_used():
    from safetensors import safe_open

    from embeddings.convert import default_model_dir
    from rag.reader.model import learned_state, load_network

    net, _ = load_network(default_model_dir(), DEFAULT_READER_DIR, merge=False)
    with safe_open(str(DEFAULT_READER_DIR / WEIGHTS_FILE), "np") as f:
        names = set(f.keys())
        assert names == set(learned_state(net))
        head = f.get_tensor("qa.weight")
    assert np.abs(head).sum() > 0  # a trained head, not zeros


def test_every_cjk_character_is_a_token_with_exact_offsets(tokenizer):
    text = "京东健康的CEO是谁？歐洲 2020年"
    enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
    spans = list(dict.fromkeys(tuple(o) for o in enc["offset_mapping"]))  # "▁" shares 京's
    cjk = [text[a:b] for a, b in spans if b - a == 1 and "\u4e00" <= text[a] <= "\u9fff"]
    assert "".join(cjk) == "京东健康的是谁歐洲年"
    for a, b in enc["offset_mapping"]:
        assert 0 <= a < b <= len(text)


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("京东健康医院的是在。，2021年ABC abc\n")),
               min_size=1, max_size=400))
def test_windows_cover_the_passage_with_valid_offsets(tokenizer, passage):
    from rag.reader.features import answer_tokens, make_windows

    windows = make_windows(tokenizer, "谁？", [passage], 64, 16, 16)
    for w in windows:
        assert len(w.input_ids) <= 64
        for off in w.offsets:
            if off is not None:
                assert 0 <= off[0] < off[1] <= len(passage)
    covered = {i for w in windows for o in w.offsets if o for i in range(*o)}
    assert covered >= {i for i, ch in enumerate(passage) if not ch.isspace()}
    w = windows[0]
    first = next((o for o in w.offsets if o is not None), None)
    if first is not None:
        span = answer_tokens(w, first[0], first[1])
        assert span is not None and w.offsets[span[0]][0] == first[0]


def test_best_span_respects_context_and_length():
    start = np.array([5.0, 0.0, 3.0, 0.0, 9.0, 0.0])
    end = np.array([5.0, 0.0, 0.0, 4.0, 0.0, 8.0])
    context = np.array([False, False, True, True, True, True])
    span = best_span(start, end, context, max_answer_tokens=30)
    assert (span.start_token, span.end_token) == (4, 5)  # 9 + 8, never position 0 or 1
    assert span.null_score == 10.0
    short = best_span(start, end, context, max_answer_tokens=1)
    assert short.start_token == short.end_token
    assert best_span(start, end, np.zeros(6, bool), 30) is None


def test_best_spans_gives_the_best_span_starting_in_each_group():
    rng = np.random.default_rng(3)
    for _ in range(50):
        start, end = rng.normal(size=12), rng.normal(size=12)
        context = np.array([False] * 3 + [True] * 8 + [False])
        groups = np.array([-1] * 3 + [0, 0, 0, 1, 1, 2, 2, 2] + [-1])
        spans = best_spans(start, end, context, 4, groups)
        assert [sp.score for sp in spans] == sorted((sp.score for sp in spans), reverse=True)
        assert sorted(groups[sp.start_token] for sp in spans) == [0, 1, 2]
        for sp in spans:  # no better span starts in the same group
            assert 0 <= sp.end_token - sp.start_token < 4 and context[sp.end_token]
            rivals = [start[i] + end[j] for i in range(12) for j in range(i, min(i + 4, 12))
                      if context[i] and context[j] and groups[i] == groups[sp.start_token]]
            assert sp.score == pytest.approx(max(rivals))
        whole = best_span(start, end, context, 4)
        assert (spans[0].start_token, spans[0].end_token) == (whole.start_token,
                                                              whole.end_token)
        assert best_spans(start, end, context, 4) == [whole]


def test_reader_reads_the_best_span_of_every_sentence(reader):
    starts = [0] + [m.end() for m in re.finditer("。", PASSAGE)][:-1]
    q = "安唐保是为哪类患者设计的？"
    per_sentence = reader.read(q, [PASSAGE], [starts])
    best = reader.read(q, [PASSAGE])[0]
    assert len(per_sentence) == len(starts)  # one window, one span per sentence
    assert sorted(int(np.searchsorted(starts, s.start, side="right")) for s in per_sentence) \
        == list(range(1, len(starts) + 1))
    top = per_sentence[0]
    assert (top.start, top.end) == (best.start, best.end)
    assert top.margin == pytest.approx(best.margin, abs=1e-4)


def test_reader_finds_the_answer_in_a_passage(reader):
    spans = reader.read("安唐保是为哪类患者设计的？", ["今天天气晴朗，适合出游。", PASSAGE])
    best = spans[0]
    assert best.passage == 1
    assert "糖尿病" in PASSAGE[best.start:best.end]
    assert best.margin > max(s.margin for s in spans if s.passage == 0)


def test_reader_reads_traditional_questions(reader):
    best = reader.read("安唐保是為哪類患者設計的？", [PASSAGE])[0]
    assert "糖尿病" in PASSAGE[best.start:best.end]


def test_answer_has_a_cited_short_answer(assistant):
    ans = assistant.answer("安唐保是为哪类患者设计的？")
    assert ans.answered and ans.short_answer and "糖尿病" in ans.short_answer
    first = ans.snippets[0]
    text = assistant.document(first.doc_id).text
    assert text[first.answer_start:first.answer_end] == ans.short_answer == first.answer
    assert first.start <= first.answer_start < first.answer_end <= first.end
    assert text[first.start:first.end] == first.text
    a, b = first.highlight[0]
    assert first.text[a:b] == ans.short_answer


def test_heuristic_mode_has_no_short_answer(assistant):
    ans = assistant.answer("安唐保是为哪类患者设计的？", reader=False)
    assert ans.answered and ans.short_answer is None
    assert all(s.answer_start is None for s in ans.snippets)


def test_reader_refuses_out_of_corpus_questions(assistant):
    ans = assistant.answer("今天北京天气怎么样？")
    assert not ans.answered and ans.short_answer is None and ans.snippets == []


@pytest.mark.slow
def test_onnx_int8_reader_finds_the_same_answers(reader, tmp_path):
    """The optional int8 ONNX runtime (exported here) finds the fp32 torch reader's spans.
    Its margins drift (by 4 logits and more on these two questions with the 2026-11-24 weights:
    it would refuse the second), which is why int8 is opt-in: the fitted thresholds are
    fp32's. The default fp32 ONNX reader's parity is tested in test_onnx_encoder.py."""
    from embeddings.convert import default_model_dir
    from rag.reader.inference import Reader
    from rag.reader.onnx_runtime import OnnxRuntime, export_onnx

    path = export_onnx(default_model_dir(), DEFAULT_READER_DIR, tmp_path / "reader.onnx")
    onnx_reader = Reader(runtime=OnnxRuntime(path))
    for q in ["安唐保是为哪类患者设计的？", "安唐保是哪两家公司合作推出的？"]:
        a = onnx_reader.read(q, [PASSAGE])[0]
        b = reader.read(q, [PASSAGE])[0]
        assert a.start < b.end and b.start < a.end, q  # overlapping spans


def test_traditional_questions_match_simplified_text_in_keyword_search(assistant):
    simp = assistant.retrieve("安唐保是为哪类患者设计的？", k=3, mode="keyword")
    trad = assistant.retrieve("安唐保是為哪類患者設計的？", k=3, mode="keyword")
    assert [h.doc_id for h in trad] == [h.doc_id for h in simp]
    assert trad[0].score == simp[0].score


def test_reader_reads_the_focused_part_of_long_chunks(assistant):
    """With ``reader_focus_chars`` the reader reads whole sentences around the best match,
    never more than that many characters, and offsets still point into the document."""
    from rag.answerer import weighted_words

    answerer = assistant._answerer_for(True)
    q = "安唐保是为哪类患者设计的？"
    retrieval = assistant._retriever.run(q, need_vector=True)
    limit = assistant.config.answer.reader_focus_chars
    assert limit > 0
    data = assistant._data
    for idx, _ in assistant._retriever.distinct(retrieval.candidates, 3):
        a, b = answerer.focus(idx, weighted_words(data, assistant.analyzer, q), retrieval)
        chunk = data.chunks[idx]
        assert chunk.start <= a < b <= chunk.end
        assert b - a <= max(limit, max(e - s for s, e in data.sent_bounds[
            slice(*(int(x) for x in data.chunk_sents[idx]))]))
        starts = {max(int(s), chunk.start) for s, _ in data.sent_bounds}
        assert a in starts  # whole sentences
    ans = assistant.answer(q)
    first = ans.snippets[0]
    assert assistant.document(first.doc_id).text[first.answer_start:first.answer_end] \
        == ans.short_answer


def test_reader_reads_a_foreign_question_as_configured(assistant, monkeypatch):
    """reader_reads_foreign: the translation, the question as asked, or both; a Chinese
    question is read as asked whatever the setting."""
    answerer = assistant._answerer_for(True)
    read = answerer.reader.read
    seen: list[str] = []
    monkeypatch.setattr(answerer.reader, "read",
                        lambda q, p, *rest: seen.append(q) or read(q, p, *rest))
    english = "Who is the CEO of Huiyi Tianxia?"
    for how in ("translation", "original", "both"):
        monkeypatch.setattr(answerer.config, "reader_reads_foreign", how)
        assistant.answer(english)
        assistant.answer("慧医天下的CEO是谁？")
    translation, _, original, _, both, _ = seen
    assert original == english
    assert re.search(r"[\u4e00-\u9fff]", translation) and english not in translation
    assert both == f"{english} {translation}"
    assert seen[1] == seen[3] == seen[5] == "慧医天下的CEO是谁？"
    monkeypatch.setattr(answerer.config, "reader_reads_foreign", "french")
    with pytest.raises(ValueError, match="reader_reads_foreign"):
        assistant.answer(english)


def test_a_question_is_read_in_the_script_of_its_passages(assistant, monkeypatch):
    """A Traditional question over the (Simplified) bundled articles is read in Simplified:
    the reader was trained on questions in their paragraph's script (held-out DRCD, shipped
    calibration: hit@1 0.888 → 0.916, the Simplified questions' figure)."""
    answerer = assistant._answerer_for(True)
    seen: list[tuple[str, list[str]]] = []
    read = answerer.reader.read
    monkeypatch.setattr(answerer.reader, "read",
                        lambda q, p, *rest: seen.append((q, list(p))) or read(q, p, *rest))
    traditional, simplified = "安唐保是為哪類患者設計的？", "安唐保是为哪类患者设计的？"
    answer = assistant.answer(traditional)
    assert seen[-1][0] == simplified and answer.short_answer and "糖尿病" in answer.short_answer
    assistant.answer(simplified)
    assert seen[-1][0] == simplified
    monkeypatch.setattr(answerer.config, "reader_matches_script", False)
    assistant.answer(traditional)
    assert seen[-1][0] == traditional
    monkeypatch.setattr(answerer.config, "reader_matches_script", True)
    passages = [to_traditional(p) for p in seen[-1][1]]  # Traditional articles
    assert answerer._in_script_of(simplified, passages) == to_traditional(simplified)
    assert answerer._in_script_of("Who is the CEO?", passages) == "Who is the CEO?"


@pytest.mark.unit
def test_the_script_of_a_text():
    assert chinese_script("安唐保是为哪类患者设计的？") == "simplified"
    assert chinese_script("安唐保是為哪類患者設計的？") == "traditional"
    assert chinese_script("Who is the CEO?") is None
    simplified = "平安健康的医生团队有2000余人。" * 20 + "乾隆"  # one name t2s may change
    assert chinese_script(simplified) == "simplified"


def test_sentence_candidates_rank_every_sentence_read(assistant, monkeypatch):
    """reader_candidates="sentence": a span per sentence read, each scored with the
    question's cosine to its sentence; "window" keeps one per window."""
    answerer = assistant._answerer_for(True)
    data = assistant._data
    q = "安唐保是为哪类患者设计的？"
    retrieval = assistant._retriever.run(q, need_vector=True)
    monkeypatch.setattr(answerer.config, "reader_passages", "chunk")
    monkeypatch.setattr(answerer.config, "reader_candidates", "window")
    per_window = answerer.candidates(q, retrieval, 3)
    monkeypatch.setattr(answerer.config, "reader_candidates", "sentence")
    per_sentence = answerer.candidates(q, retrieval, 3)
    assert len(per_sentence) > len(per_window)
    spans = {(c.doc, c.start, c.end): c.margin for c in per_sentence}
    for cand in per_window:  # each window's best span is also its sentence's best
        assert spans[cand.doc, cand.start, cand.end] == pytest.approx(cand.margin, abs=1e-4)
    for cand in per_sentence:
        lo, hi = (int(x) for x in data.chunk_sents[cand.chunk])
        inside = [i for i in range(lo, hi) if data.sent_bounds[i][0] < cand.sentence[1]
                  and cand.sentence[0] < data.sent_bounds[i][1]]
        cosine = float(np.max(data.sentence_vectors[inside] @ retrieval.query_vector))
        assert cand.features.similarity == pytest.approx(cosine, abs=1e-5)
    top = max(c.features.similarity for c in per_sentence)
    assert all(c.features.similarity_gap == pytest.approx(c.features.similarity - top)
               for c in per_sentence)
    assert max(c.features.similarity_gap for c in per_sentence) == 0.0
    assert "糖尿病" in assistant.answer(q).short_answer
    monkeypatch.setattr(answerer.config, "reader_candidates", "paragraph")
    with pytest.raises(ValueError, match="reader_candidates"):
        assistant.answer(q)


def test_sentence_passages_are_read_around_the_best_ranked_sentences(assistant, monkeypatch):
    """reader_passages="sentence": the reader reads the neighbourhoods of the heuristic's best
    sentences (whole sentences, within their chunk and the focus limit), none twice."""
    from rag.answerer import weighted_words

    answerer = assistant._answerer_for(True)
    data = assistant._data
    q = "中国太保集团副总裁兼大健康负责人是谁？"
    retrieval = assistant._retriever.run(q, need_vector=True)
    words = weighted_words(data, assistant.analyzer, q)
    monkeypatch.setattr(answerer.config, "reader_passages", "sentence")
    read = answerer.passages(q, retrieval, words, 3)
    ranked = sorted(answerer.sentences.sentence_candidates(q, retrieval), key=lambda c: -c.score)
    best = ranked[0].sent
    chunk, (a, b) = read[0]
    assert a <= data.sent_bounds[best][0] < data.sent_bounds[best][1] <= b or \
        data.chunks[chunk].start > data.sent_bounds[best][0]  # a sentence cut by its chunk
    limit = assistant.config.answer.reader_focus_chars
    for chunk, (a, b) in read:
        c = data.chunks[chunk]
        assert c.start <= a < b <= c.end and b - a <= max(limit, 300)
    spans = [(int(data.chunk_doc[c]), a, b) for c, (a, b) in read]
    assert len(set(spans)) == len(spans) == 3
    assert "马欣" in assistant.answer(q).short_answer
    monkeypatch.setattr(answerer.config, "reader_passages", "chunk")
    assert [c for c, _ in answerer.passages(q, retrieval, words, 2)] == [
        i for i, _ in assistant._retriever.distinct(retrieval.candidates, 2)]
    monkeypatch.setattr(answerer.config, "reader_passages", "page")
    with pytest.raises(ValueError, match="reader_passages"):
        assistant.answer(q)


def test_reader_settings_below_one_are_clear_errors(assistant, monkeypatch):
    answerer = assistant._answerer_for(True)
    q = "京东健康的CEO是谁？"
    monkeypatch.setattr(answerer.config, "reader_chunks", 0)
    with pytest.raises(ValueError, match="reader_chunks"):
        assistant.answer(q)
    monkeypatch.setattr(answerer.config, "reader_chunks", 2)
    monkeypatch.setattr(answerer.config, "context_chunks", 0)
    monkeypatch.setattr(answerer.config, "reader_passages", "sentence")
    with pytest.raises(ValueError, match="context_chunks"):
        assistant.answer(q)


def test_questions_in_another_language_read_their_own_passage_count(assistant, monkeypatch):
    """``reader_chunks_foreign`` applies to the questions that get the foreign threshold."""
    answerer = assistant._answerer_for(True)
    counts: list[int] = []
    passages = answerer.passages

    def counted(question, retrieval, words, n):
        counts.append(n)
        return passages(question, retrieval, words, n)

    monkeypatch.setattr(answerer, "passages", counted)
    monkeypatch.setattr(answerer.config, "reader_chunks", 1)
    monkeypatch.setattr(answerer.config, "reader_chunks_foreign", 3)
    chinese, english = "京东健康的CEO是谁？", "Who is the CEO of JD Health?"
    assistant.answer(chinese)
    assistant.answer(english)
    assistant.answer("Zxqv wplm?")  # no dictionary word: untranslated, still another language
    assert counts == [1, 3, 3]
    monkeypatch.setattr(answerer.config, "reader_chunks_foreign", None)  # the same count
    assistant.answer(english)
    assert counts[-1] == 1
