"""The ONNX Runtime encoder and reader against their torch twins, the encoder choice, the
per-variant embedding cache, and a query process that never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embeddings.choice import make_encoder, query_encoder, resolve_encoder, vector_family
from rag.config import Config

REPO = Path(__file__).resolve().parent.parent
TEXTS = [
    "安唐保是为哪类患者设计的？",
    "作为一款专为糖尿病患者打造的产品，“安唐保”将整合资源，为患者提供全周期、全方位健康服务。",
    "京东健康的首席执行官是谁？",
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "2022年6月7日，慧医天下与阿里健康达成战略合作。",
    "短",
]


# ---------------------------------------------------------------------- unit: the choice
@pytest.mark.unit
def test_auto_picks_onnx_int8_for_the_default_model_and_torch_for_others():
    assert resolve_encoder("auto", "multilingual-e5-small") == "onnx-int8"
    assert resolve_encoder("auto", "intfloat/multilingual-e5-small") == "onnx-int8"
    assert resolve_encoder(None, "some/other-model") == "torch"
    assert resolve_encoder("TORCH", None) == "torch"
    with pytest.raises(ValueError, match="unknown encoder"):
        resolve_encoder("onnx-int4")
    with pytest.raises(ValueError, match="serves multilingual-e5-small only"):
        resolve_encoder("onnx", "some/other-model")


@pytest.mark.unit
def test_queries_to_an_index_use_its_vector_family():
    assert vector_family("torch") == vector_family("onnx") == "fp32"
    assert vector_family("onnx-int8") == "int8"
    assert query_encoder(None) == "onnx"  # an index from before encoders were recorded
    assert query_encoder("torch") == "onnx"
    assert query_encoder("onnx-int8") == "onnx-int8"
    assert query_encoder("torch", "some/other-model") == "torch"


@pytest.mark.unit
def test_int8_indexes_have_their_own_build_key_and_fp32_keys_are_unchanged():
    keys = {}
    for variant in ("torch", "onnx", "onnx-int8", "auto"):
        config = Config()
        config.encoder = variant
        keys[variant] = config.build_key()
    assert keys["torch"] == keys["onnx"]
    assert "vectors" not in keys["torch"]  # indexes built before stay valid
    assert keys["onnx-int8"] != keys["torch"]
    assert keys["auto"] == keys["onnx-int8"]


@pytest.mark.unit
def test_the_approximate_index_recipe_is_part_of_the_build_key():
    """Another ANN type or recall target rebuilds the index; default keys are unchanged."""
    base = Config().build_key()
    assert "ann_index" not in base and "ann_recall_target" not in base
    for name, value in (("ann_index", "hnsw"), ("ann_recall_target", 0.99)):
        config = Config()
        setattr(config.retrieval, name, value)
        assert config.build_key() != base and config.build_key()[name] == value
    config = Config()
    config.retrieval.ann_index = "ivf"  # the default, set explicitly
    assert config.build_key() == base


@pytest.mark.unit
def test_the_embedding_cache_is_keyed_by_encoder_variant(tmp_path):
    """int8 and fp32 vectors never share a cache file, so one never serves the other."""
    from embeddings.encoder import Encoder
    from embeddings.onnx_encoder import OnnxEncoder

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text(json.dumps({"hidden_size": 4}))

    class Model:  # a stand-in sentence-transformers model for the torch encoder
        prompts: dict[str, str] = {}

        def get_sentence_embedding_dimension(self) -> int:
            return 4

    torch_enc = Encoder(None, tmp_path / "cache")
    torch_enc._model = Model()
    encoders = [torch_enc] + [OnnxEncoder(None, tmp_path / "cache", variant=v,
                                          model_dir=model_dir) for v in ("onnx", "onnx-int8")]
    paths = [e.cache.path for e in encoders]
    assert len(set(paths)) == 3
    assert paths[1].name.endswith("-onnx-4.sqlite")
    from embeddings.onnx_encoder import int8_recipe_id

    assert paths[2].name.endswith(f"-onnx-int8-{int8_recipe_id()}-4.sqlite")
    key = encoders[2].cache.key(paths[2].stem, "passage", "文本")
    encoders[2].cache.put_many([key], np.ones((1, 4), np.float32))
    assert encoders[1].cache.get_many([key]) == {}
    assert encoders[0].cache.get_many([key]) == {}
    assert len(encoders[2].cache) == 1


@pytest.mark.unit
def test_pool_spans_means_the_overlapping_tokens_and_falls_back_to_the_passage():
    from embeddings.base import pool_spans

    emb = np.array([[1, 0], [0, 1], [0, 3], [5, 5]], np.float32)
    offsets = np.array([[0, 0], [0, 2], [2, 4], [0, 0]])  # <s>, two tokens, </s>
    passage = np.array([0.6, 0.8], np.float32)
    out = pool_spans(emb, offsets, [(0, 2), (1, 3), (9, 10)], passage)
    assert np.allclose(out[0], [0, 1])
    assert np.allclose(out[1], [0, 1])  # mean of (0,1) and (0,3), normalised
    assert np.allclose(out[2], passage)


# ---------------------------------------------------------------- integration: the model
@pytest.fixture(scope="module")
def encoders():
    return {v: make_encoder(None, None, variant=v) for v in ("torch", "onnx", "onnx-int8")}


def _spans(texts):
    return [[(0, len(t) // 2), (len(t) // 3, len(t))] for t in texts]


@pytest.mark.integration
@pytest.mark.slow
def test_onnx_vectors_match_torch(encoders):
    ref_q = encoders["torch"].encode_queries(TEXTS)
    ref_p = encoders["torch"].encode_passages(TEXTS, use_cache=False)
    for variant, floor in (("onnx", 0.9999), ("onnx-int8", 0.99)):
        q = encoders[variant].encode_queries(TEXTS)
        p = encoders[variant].encode_passages(TEXTS, use_cache=False)
        assert q.shape == ref_q.shape and q.dtype == np.float32
        assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-5)
        assert (q * ref_q).sum(axis=1).min() >= floor, variant
        assert (p * ref_p).sum(axis=1).min() >= floor, variant
    # queries and passages carry their own e5 prompts
    q, p = encoders["onnx"].encode_queries(TEXTS[:1]), encoders["onnx"].encode_passages(
        TEXTS[:1], use_cache=False)
    assert float(q[0] @ p[0]) < 0.999


@pytest.mark.integration
@pytest.mark.slow
def test_span_vectors_are_pooled_like_the_torch_encoder(encoders):
    spans = _spans(TEXTS)
    ref_p, ref_s = encoders["torch"].encode_passages_with_spans(TEXTS, spans, use_cache=False)
    for variant, floor in (("onnx", 0.9999), ("onnx-int8", 0.99)):
        p, s = encoders[variant].encode_passages_with_spans(TEXTS, spans, use_cache=False)
        assert (p * ref_p).sum(axis=1).min() >= floor
        for mine, ref in zip(s, ref_s):
            assert mine.shape == ref.shape
            assert (mine * ref).sum(axis=1).min() >= floor, variant
        plain = encoders[variant].encode_passages(TEXTS, use_cache=False)
        assert np.allclose(p, plain, atol=1e-5)  # the span pass gives the same passage vectors


# ---------------------------------------------------------------- integration: the reader
@pytest.mark.integration
@pytest.mark.slow
def test_reader_onnx_fp32_spans_equal_torch_spans(assistant):
    """The default ONNX reader picks the same spans as torch on 30 bundled questions, with
    its windows in one run or split over two threads."""
    from rag.reader.inference import Reader

    rows = [json.loads(line) for line in
            (REPO / "eval" / "data" / "bundled_qa.jsonl").read_text("utf-8").splitlines()]
    questions = [r["question"] for r in rows[::4]][:30]
    torch_reader = Reader(runtime="torch")
    onnx_readers = [Reader(runtime="onnx"), Reader(runtime="onnx", threads=2)]
    split = 0
    for question in questions:
        hits = assistant.retrieve(question, k=3)
        passages = [h.text for h in hits]
        ref = torch_reader.read(question, passages)
        split += len(onnx_readers[1].windows(question, passages)) > 1
        for onnx_reader in onnx_readers:
            got = onnx_reader.read(question, passages)
            assert [(s.passage, s.start, s.end) for s in got] == \
                [(s.passage, s.start, s.end) for s in ref], question
            assert np.allclose([s.margin for s in got], [s.margin for s in ref], atol=1e-2)
    assert split == len(questions)  # every question's windows were split over the threads


# ------------------------------------------------------------ integration: no torch in ask
ASK = """
import runpy, sys
sys.argv = ["rag", "ask", "--index", sys.argv[1], "安唐保是为哪类患者设计的？", "--json"]
try:
    runpy.run_module("rag", run_name="__main__")
except SystemExit as exc:
    assert not exc.code, exc.code
heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers", "jieba.posseg")
               if m in sys.modules)
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
"""


@pytest.mark.integration
@pytest.mark.slow
def test_rag_ask_never_imports_torch_when_onnx_serves(assistant):
    """`python -m rag ask` on a prebuilt index answers without importing torch,
    sentence-transformers or transformers (the ONNX encoder and reader serve it), nor jieba's
    part-of-speech model (only highlighting and follow-ups need it)."""
    assert assistant.manifest["config"]["encoder"] == "onnx-int8"
    assert assistant.answer("安唐保是为哪类患者设计的？").answered  # exports the ONNX reader
    proc = subprocess.run([sys.executable, "-c", ASK, str(assistant.index_dir)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "HEAVY=\n" in proc.stderr, proc.stderr[-3000:]
    answer = json.loads(proc.stdout)
    assert answer["answered"] and "糖尿病" in answer["short_answer"]


@pytest.mark.integration
def test_reader_tokenizer_without_transformers_gives_the_same_windows():
    """The ``tokenizers``-only reader tokenizer makes exactly the windows of the transformers
    one it replaces (ids, offsets, overflow with stride, truncated long questions)."""
    from embeddings.convert import default_model_dir
    from embeddings.onnx_encoder import OnnxEncoder
    from rag.reader.features import make_windows
    from rag.reader.tokenizer import hf_reader_tokenizer, reader_tokenizer

    base = default_model_dir()
    encoder = OnnxEncoder(variant="onnx-int8", model_dir=base)
    assert encoder.tokenizer_of(base.parent) is None  # another folder: nothing shared
    shared = encoder.tokenizer_of(base)  # the encoder's own, already set to truncate at 512
    light, hf = reader_tokenizer(base), hf_reader_tokenizer(base)
    sharing = reader_tokenizer(base, shared)
    assert light.pad_token_id == hf.pad_token_id == sharing.pad_token_id
    passages = [TEXTS[1] * 6, TEXTS[3] * 4, TEXTS[4], "。"]
    for question in (TEXTS[0], TEXTS[3], "长" * 90 + "问题是什么 ok , fine . don't"):
        for max_length, stride in ((320, 96), (96, 24)):
            ref = make_windows(hf, question, passages, max_length, stride, 40)
            assert len(ref) > len(passages) or max_length == 320
            for mine in (light, sharing):
                got = make_windows(mine, question, passages, max_length, stride, 40)
                assert [(w.input_ids, w.offsets, w.passage) for w in got] == \
                    [(w.input_ids, w.offsets, w.passage) for w in ref]
    # the encoder's tokenizer is untouched by the reader's (own normalizer, truncation)
    assert encoder.encode_queries([TEXTS[0]]).shape == (1, 384)
    assert shared.truncation["max_length"] == encoder.max_length
    assert len(shared.encode("长" * 1000).ids) == encoder.max_length


@pytest.mark.unit
def test_an_export_missing_a_weights_file_is_exported_again(tmp_path, monkeypatch):
    """Exports keep their weights in ``<graph>.data`` (memory-mapped by ONNX Runtime): an
    export of the current recipe is used as it is; one whose data file went missing, or of
    another recipe, is exported again."""
    from embeddings import onnx_encoder as oe

    model_dir = tmp_path / "model"
    exports: list[Path] = []

    def fake_export(model_dir_arg: Path, target: Path) -> Path:
        exports.append(target)
        target.mkdir(parents=True, exist_ok=True)
        for precision in oe.ONNX_VARIANTS.values():
            graph = oe.onnx_file(model_dir_arg, precision)
            graph.write_bytes(b"graph")
            oe.data_file(graph).write_bytes(b"weights")
        (target / oe.MARKER).write_text(oe.RECIPE + "\n", encoding="utf-8")
        return target

    monkeypatch.setattr(oe, "export_encoder", fake_export)
    folder = oe.ensure_onnx(model_dir)
    assert exports == [folder] and oe.is_exported(model_dir)
    oe.ensure_onnx(model_dir)
    assert len(exports) == 1  # complete: used as it is
    oe.data_file(oe.onnx_file(model_dir, "int8")).unlink()
    assert not oe.is_exported(model_dir)
    oe.ensure_onnx(model_dir)
    assert len(exports) == 2 and oe.is_exported(model_dir)
    (folder / oe.MARKER).write_text("an older recipe\n", encoding="utf-8")
    oe.ensure_onnx(model_dir)
    assert len(exports) == 3
