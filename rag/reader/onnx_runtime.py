"""The reader in ONNX Runtime: exported once from the merged torch model (fp32, and optionally
dynamic int8), cached per weights SHA-256 under ``<cache>/readers/``.

fp32 gives the same spans as torch (checked in tests) and needs no torch once exported, so it is
the default (``reader_runtime="auto"``); int8 is faster but picked another span for 8 of 40
questions, so it is opt-in (``"onnx-int8"``)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
RUNTIMES = ("auto", "torch", "onnx", "onnx-int8")  # onnx = fp32
GRAPH = "fused"  # in the file name: a graph of another recipe is exported again


def onnx_path(cache_root: Path, weights_sha: str, precision: str = "int8") -> Path:
    return cache_root / "readers" / weights_sha[:16] / f"reader-{precision}-{GRAPH}.onnx"


def export_onnx(base_dir: Path, folder: Path, target: Path, quantize: bool = True) -> Path:
    """Merge LoRA, export to ONNX (dynamic batch and length, eager attention), fuse the BERT
    layers (:func:`embeddings.onnx_encoder.fuse_bert`) and, with ``quantize``, quantise to
    int8; weights in ``<target>.data`` beside it (memory-mapped). Atomic: the data file lands
    first, then the graph."""
    from embeddings.onnx_encoder import data_file, export_token_model, fuse_bert, quantize_int8
    from rag.reader.model import load_network

    net, _ = load_network(base_dir, folder, attn_implementation="eager")
    config = net.encoder.config
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".reader-", dir=target.parent))
    try:
        raw, fused = tmp / "raw.onnx", tmp / f"fused-{target.name}"
        export_token_model(net, raw, ["start_logits", "end_logits"])
        final = tmp / target.name  # its data file's name is the one the graph will keep
        if quantize:
            fuse_bert(raw, fused, config.num_attention_heads, config.hidden_size)
            quantize_int8(fused, final)
        else:
            fuse_bert(raw, final, config.num_attention_heads, config.hidden_size)
        for path in (data_file(final), final):
            path.chmod(0o644)  # readable by other users of a shared cache, as the encoder's
        os.replace(data_file(final), data_file(target))
        os.replace(final, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for stale in target.parent.glob("reader-*.onnx*"):  # graphs of earlier recipes
        if stale.name.split(".onnx")[0].rsplit("-", 1)[-1] != GRAPH:
            stale.unlink(missing_ok=True)
    return target


class OnnxRuntime:
    """Start/end logits from the ONNX reader. With ``threads`` > 1 the windows of a question
    are split into ``threads`` groups that run side by side on one single-threaded session
    (as the encoder's passages: on 2 cores faster than 2 intra-op threads on one batch)."""

    def __init__(self, model_path: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # shared CPU
        self.session = ort.InferenceSession(str(model_path), opts,
                                            providers=["CPUExecutionProvider"])
        self.threads = max(1, threads)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray):
        from embeddings.onnx_encoder import ordered_map

        ids = input_ids.astype(np.int64)
        mask = attention_mask.astype(np.int64)
        groups = max(1, min(self.threads, len(ids)))

        def run(rows: np.ndarray) -> list[np.ndarray]:
            return self.session.run(None, {"input_ids": ids[rows], "attention_mask": mask[rows]})

        parts = np.array_split(np.arange(len(ids)), groups)
        outputs = list(ordered_map(run, parts, groups))
        return (np.concatenate([o[0] for o in outputs]),
                np.concatenate([o[1] for o in outputs]))


def load_onnx_runtime(base_dir: Path, folder: Path, cache_root: Path, weights_sha: str,
                      threads: int = 1, precision: str = "int8") -> OnnxRuntime:
    """The cached ONNX model (``precision`` "fp32" or "int8") for these weights, exported on
    first use (which needs torch)."""
    from embeddings.onnx_encoder import data_file

    path = onnx_path(cache_root, weights_sha, precision)
    if not (path.is_file() and data_file(path).is_file()):  # graph + memory-mapped weights
        log.info("exporting the reader to ONNX (%s) in %s", precision, path.parent)
        export_onnx(base_dir, folder, path, quantize=precision == "int8")
    return OnnxRuntime(path, threads)


def make_runtime(choice: str, base_dir: Path, folder: Path, weights_sha: str,
                 threads: int = 1, cache_root: Path | None = None):
    """The reader runtime for ``choice``: "torch"; "onnx" (fp32) or "onnx-int8", exported on
    first use; "auto" = fp32 ONNX (same spans as torch, no torch once exported), falling back to
    torch with a warning if the export fails."""
    if choice not in RUNTIMES:
        raise ValueError(f"unknown reader runtime {choice!r}; use one of {', '.join(RUNTIMES)}")
    if cache_root is None:
        from embeddings.convert import cache_root as default_root

        cache_root = default_root()
    if choice == "torch":
        from rag.reader.inference import TorchRuntime

        return TorchRuntime(base_dir, folder, threads)
    precision = "int8" if choice == "onnx-int8" else "fp32"
    try:
        return load_onnx_runtime(base_dir, folder, cache_root, weights_sha, threads, precision)
    except Exception as exc:
        if choice != "auto":
            raise
        log.warning("cannot export the reader to ONNX (%s); using torch", exc)
        from rag.reader.inference import TorchRuntime

        return TorchRuntime(base_dir, folder, threads)
