"""The default e5 model in ONNX Runtime: same vectors as the torch encoder, no torch at run time.

The rebuilt multilingual-e5-small (:func:`embeddings.convert.default_model_dir`) is exported once
(``torch.onnx.export`` with eager attention, fused by ``onnxruntime.transformers``' BERT
optimizer; under a minute and a half on 2 cores; needs torch) into ``<models>/<model>-onnx/``
next to it, as ``encoder-fp32.onnx`` and a dynamically int8-quantised ``encoder-int8.onnx``
(``onnxruntime.quantization.quantize_dynamic``), each with its weights in ``<file>.data``
(memory-mapped by ONNX Runtime). Tokenization uses the model's ``tokenizer.json`` with the
``tokenizers`` library; prompts, mean pooling, normalisation and the maximum length are those
of the sentence-transformers folder.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from embeddings.base import DEFAULT_MODEL, CachedEncoder, canonical_model_name, pool_spans, unit

log = logging.getLogger(__name__)
ONNX_VARIANTS = {"onnx": "fp32", "onnx-int8": "int8"}
MARKER = ".complete"
# The graph: exported with eager attention and fused by onnxruntime.transformers' BERT optimizer
# (EmbedLayerNormalization, Attention, SkipLayerNormalization, BiasGelu); fp32 stays the torch
# model's vectors (cosine 1.0000), and int8 encodes 1.2x faster than the unfused graph.
# Dynamic int8 of the MatMul and Attention weights (the embedding table stays fp32), one scale
# per output channel, full 8-bit range. Measured on bundled chunks and CMRC/DRCD questions:
# cosine to fp32 >= 0.99 for every query and passage; per-tensor scales or quantising the
# embedding Gather gave 0.98, and the 7-bit range (reduce_range) lost a question in dense
# recall@1 (`python -m eval.encoder_bench`, README).
FUSION = {"model_type": "bert", "attention": "eager"}
QUANTIZATION = {"per_channel": True, "reduce_range": False,
                "op_types_to_quantize": ["MatMul", "Attention"]}
RECIPE = ("torch.onnx.export opset 17; fused: " + json.dumps(FUSION, sort_keys=True)
          + "; int8: " + json.dumps(QUANTIZATION, sort_keys=True))


def int8_recipe_id() -> str:
    """Short id of the int8 recipe: part of the int8 cache name and build key, so vectors of
    another quantisation are never mixed in."""
    import hashlib

    return hashlib.sha1(RECIPE.encode()).hexdigest()[:8]


def onnx_dir(model_dir: Path) -> Path:
    """Folder of the exported ONNX files of the model folder ``model_dir``."""
    return model_dir.parent / f"{model_dir.name}-onnx"


def onnx_file(model_dir: Path, precision: str) -> Path:
    return onnx_dir(model_dir) / f"encoder-{precision}.onnx"


def export_encoder(model_dir: Path, target: Path) -> Path:
    """Export ``model_dir`` (a BERT-type sentence-transformers folder) to ``target``: the fused
    fp32 graph (token embeddings out) and its dynamic int8 quantisation, atomically."""
    import torch
    from transformers import AutoModel

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, input_ids, attention_mask):
            return self.net(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
    net = TokenEmbeddings(model).eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        raw, fp32, int8 = (tmp / "raw.onnx", tmp / "encoder-fp32.onnx",
                           tmp / "encoder-int8.onnx")
        export_token_model(net, raw, ["token_embeddings"])
        fuse_bert(raw, fp32, model.config.num_attention_heads, model.config.hidden_size)
        raw.unlink()
        quantize_int8(fp32, int8, **QUANTIZATION)
        for path in (fp32, int8):  # both written with external data (see is_exported)
            if not data_file(path).is_file():
                raise RuntimeError(f"the ONNX export wrote no {data_file(path).name}")
        (tmp / MARKER).write_text(RECIPE + "\n", encoding="utf-8")  # written last
        from embeddings.convert import _relax_permissions

        _relax_permissions(tmp)
        if target.exists():  # an export by an older recipe
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
            os.rename(target, old / "old")
            shutil.rmtree(old, ignore_errors=True)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def fuse_bert(src: Path, dst: Path, num_heads: int, hidden_size: int) -> Path:
    """``onnxruntime.transformers``' BERT fusions of an eager-attention export ``src`` into
    ``dst`` (external data): fused attention, layer norms and GELU run faster on CPU."""
    from onnxruntime.transformers.optimizer import optimize_model

    with _quiet("onnxruntime"):
        model = optimize_model(str(src), model_type="bert", num_heads=num_heads,
                               hidden_size=hidden_size)
        model.save_model_to_file(str(dst), use_external_data_format=True)
    return dst


def quantize_int8(src: Path, dst: Path, **options) -> Path:
    """Dynamic int8 quantisation of ``src`` (fused graphs included) into ``dst``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet(None):  # "consider pre-processing" advice from the quantiser, on the root
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8,
                         use_external_data_format=True,
                         # fused ops (Attention, ...) defeat shape inference of some outputs
                         extra_options={"DefaultTensorType": 1}, **options)  # 1 = FLOAT
    return dst


@contextmanager
def _quiet(logger: str | None) -> Iterator[None]:
    """Only errors from ``logger`` (None: the root logger) inside the block."""
    log_ = logging.getLogger(logger)
    level = log_.level
    log_.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log_.setLevel(level)


def export_token_model(net, path: Path, outputs: Sequence[str]) -> None:
    """``torch.onnx.export`` of a network taking (input_ids, attention_mask) and giving
    per-token ``outputs``, with dynamic batch and length (the encoder and the reader)."""
    import torch

    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on shape checks that are constant
        torch.onnx.export(
            net, (ids, mask), str(path), input_names=["input_ids", "attention_mask"],
            output_names=list(outputs), opset_version=17, dynamo=False,
            dynamic_axes={n: {0: "batch", 1: "length"}
                          for n in ("input_ids", "attention_mask", *outputs)},
        )


def data_file(path: Path) -> Path:
    """The external-data file beside the ONNX graph ``path``."""
    return path.with_name(path.name + ".data")


def is_exported(model_dir: Path) -> bool:
    """True when ``model_dir``'s ONNX files were made by the current recipe and are all there:
    each graph with its weights in ``<graph>.data`` beside it (ONNX external data, which ONNX
    Runtime memory-maps: a session opens in about 0.2 s instead of parsing a 400 MB protobuf in
    1.5 s). A missing file (a cache cleaner) means a new export."""
    try:
        marker = (onnx_dir(model_dir) / MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        return False
    return marker == RECIPE and all(
        onnx_file(model_dir, p).is_file() and data_file(onnx_file(model_dir, p)).is_file()
        for p in ONNX_VARIANTS.values())


def ensure_onnx(model_dir: Path) -> Path:
    """The exported folder of ``model_dir``, exporting it (once, under a lock) if missing."""
    from embeddings.convert import _locked

    target = onnx_dir(model_dir)
    if is_exported(model_dir):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / f".{target.name}.lock"):
        if not is_exported(model_dir):
            log.info("exporting %s to ONNX in %s", model_dir.name, target)
            for stale in target.parent.glob(f".{target.name}.tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)
            export_encoder(model_dir, target)
    return target


def onnx_available(model: str | None = None) -> bool:
    """True when the ONNX encoder can serve ``model`` without torch: the default model, with
    its exported files already in the cache."""
    if canonical_model_name(model) != DEFAULT_MODEL:
        return False
    from embeddings.convert import MARKER as MODEL_MARKER
    from embeddings.convert import cache_root, model_dir_name

    model_dir = cache_root() / "models" / model_dir_name()
    return (model_dir / MODEL_MARKER).is_file() and is_exported(model_dir)


class OnnxEncoder(CachedEncoder):
    """The default e5 model in ONNX Runtime (``variant`` "onnx" = fp32, "onnx-int8")."""

    def __init__(self, model: str | None = None, cache_dir: Path | None = None,
                 batch_size: int = 32, query_threads: int = 1,
                 passage_threads: int | None = None, variant: str = "onnx",
                 model_dir: Path | None = None, model_cache_dir: Path | None = None) -> None:
        super().__init__(model, cache_dir, batch_size, query_threads, passage_threads)
        if variant not in ONNX_VARIANTS:
            raise ValueError(f"unknown ONNX encoder variant {variant!r}; "
                             f"use one of {', '.join(ONNX_VARIANTS)}")
        if self.model_name != DEFAULT_MODEL and model_dir is None:
            raise ValueError(f"the ONNX encoder serves the default {DEFAULT_MODEL} only, not "
                             f"{self.model_name!r}; use encoder='torch' for other models")
        self.variant = variant
        self.precision = ONNX_VARIANTS[variant]
        self._model_dir = model_dir
        self._model_cache_dir = model_cache_dir
        self._tokenizer = None
        self._prompts: dict[str, str] = {}
        self._onnx_session = None
        self._session_lock = threading.Lock()
        self._dim: int | None = None
        self.max_length = 512
        self.pad_id = 1

    def cache_model_id(self) -> str:
        base = super().cache_model_id()
        return f"{base}-{int8_recipe_id()}" if self.precision == "int8" else base

    # ------------------------------------------------------------------ loading
    @property
    def model_dir(self) -> Path:
        if self._model_dir is None:
            from embeddings.convert import default_model_dir

            self._model_dir = default_model_dir(self._model_cache_dir)
        return self._model_dir

    def _load(self) -> None:
        with self._lock:
            if self._tokenizer is not None:
                return
            from tokenizers import Tokenizer

            from embeddings.loader import model_prompts

            folder = self.model_dir
            st_config = _read_json(folder / "config_sentence_transformers.json")
            self._prompts = {k: v for k, v in (st_config.get("prompts") or {}).items() if v}
            self._query_prompt, self._passage_prompt = model_prompts(
                SimpleNamespace(prompts=self._prompts))
            bert_config = _read_json(folder / "sentence_bert_config.json")
            tok_config = _read_json(folder / "tokenizer_config.json")
            self.max_length = int(bert_config.get("max_seq_length")
                                  or tok_config.get("model_max_length") or 512)
            self._dim = int(_read_json(folder / "config.json")["hidden_size"])
            tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tok.no_padding()
            tok.enable_truncation(max_length=self.max_length)
            pad = tok.token_to_id(tok_config.get("pad_token") or "<pad>")
            self.pad_id = int(pad) if pad is not None else 0
            ensure_onnx(folder)
            self._tokenizer = tok

    def tokenizer_of(self, model_dir: Path) -> object | None:
        """This encoder's ``tokenizers.Tokenizer`` (loaded now if need be) when ``model_dir``
        is the folder it was loaded from, else None: the reader, built on the same base model,
        shares its vocabulary instead of parsing ``tokenizer.json`` again."""
        if Path(model_dir).resolve() != self.model_dir.resolve():
            return None
        self._load()
        return self._tokenizer

    def _session(self):
        """The one ONNX Runtime session (single-threaded: :meth:`_token_embeddings` runs
        batches side by side on it instead), created on first use; its weights are
        memory-mapped (:func:`is_exported`)."""
        with self._session_lock:
            if self._onnx_session is None:
                import onnxruntime as ort

                opts = ort.SessionOptions()
                opts.intra_op_num_threads = 1
                opts.inter_op_num_threads = 1
                # no busy-waiting between ops: the CPU is shared with other processes
                opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._onnx_session = ort.InferenceSession(
                    str(onnx_file(self.model_dir, self.precision)), opts,
                    providers=["CPUExecutionProvider"])
        return self._onnx_session

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(_read_json(self.model_dir / "config.json")["hidden_size"])
        return self._dim

    # ------------------------------------------------------------------ encoding
    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        return self._vectors(list(texts), self._query_prompt, self.query_threads)

    def _encode(self, texts: list[str], prompt_name: str | None, progress: bool) -> np.ndarray:
        return self._vectors(texts, prompt_name, self.passage_threads)

    def _vectors(self, texts: list[str], prompt_name: str | None, threads: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, emb, _ in self._token_embeddings(texts, prompt_name, threads):
            out[i] = unit(emb.mean(axis=0))
        return out

    def _encode_with_spans(self, texts: list[str], spans: list[Sequence[tuple[int, int]]]
                           ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One tokenization and one forward pass give the passage and its span vectors."""
        prompt = self._prompts.get(self._passage_prompt, "") if self._passage_prompt else ""
        vecs = np.zeros((len(texts), self.dim), dtype=np.float32)
        svecs: list[np.ndarray] = [np.zeros((0, self.dim), np.float32)] * len(texts)
        for i, emb, offsets in self._token_embeddings(texts, self._passage_prompt,
                                                      self.passage_threads):
            vecs[i] = unit(emb.mean(axis=0))
            svecs[i] = pool_spans(emb, offsets - len(prompt), spans[i], vecs[i])
        return vecs, svecs

    def _token_embeddings(self, texts: list[str], prompt_name: str | None, threads: int):
        """(index, token embeddings, character offsets) per text, in length-sorted batches
        (little padding); offsets are into the prompted text.

        With ``threads`` > 1 the batches (``batch_size / threads`` texts each) run side by side
        on one single-threaded session, one per thread: measured on 2 cores, 1.5-1.7× the
        texts/s of one session with 2 intra-op threads over batches of ``batch_size``
        (``python -m eval.encoder_bench``), whose small per-layer matrices split badly."""
        if not texts:
            return
        prompt = self._prompts.get(prompt_name, "") if prompt_name else ""
        encodings = self._tokenizer.encode_batch([prompt + t for t in texts])
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        session = self._session()
        size = max(1, self.batch_size // threads)
        batches = [order[lo:lo + size] for lo in range(0, len(order), size)]

        def forward(part: list[int]) -> np.ndarray:
            width = max(len(encodings[i].ids) for i in part)
            ids = np.full((len(part), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(part), width), dtype=np.int64)
            for row, i in enumerate(part):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            return session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

        for part, emb in zip(batches, ordered_map(forward, batches, threads), strict=True):
            for row, i in enumerate(part):
                n = len(encodings[i].ids)
                yield i, emb[row, :n], np.asarray(encodings[i].offsets, dtype=np.int64)


def ordered_map(fn, items: list, threads: int):
    """``map(fn, items)`` on ``threads`` threads, in order, with at most ``2 × threads`` results
    waiting (bounded memory however many items). ONNX Runtime releases the GIL while it runs."""
    if threads <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads, thread_name_prefix="onnx-encode") as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
