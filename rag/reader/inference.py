"""Run the trained reader: question + passages → best answer spans with no-answer margins."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.reader.decode import best_spans
from rag.reader.features import Window, make_windows
from rag.reader.model import WEIGHTS_FILE, ReaderSettings

DEFAULT_READER_DIR = Path(__file__).resolve().parent.parent / "resources" / "reader"


@dataclass
class ReadSpan:
    """The best span of one window: character offsets into its passage and its scores.

    ``margin`` (span score minus the window's no-answer score) is what ranking and refusal use.
    """

    passage: int
    start: int
    end: int
    score: float
    null_score: float

    @property
    def margin(self) -> float:
        return self.score - self.null_score


class LogitsRuntime(Protocol):
    """Computes (start, end) logits for a padded batch of token ids."""

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]: ...


class TorchRuntime:
    """The reader in PyTorch (LoRA merged into the base weights)."""

    def __init__(self, base_dir: Path, folder: Path, threads: int = 1) -> None:
        import torch

        from rag.reader.model import load_network

        self.net, _ = load_network(base_dir, folder)
        self.threads = threads
        self._torch = torch

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray):
        torch = self._torch
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        with torch.inference_mode():
            s, e = self.net(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
        return s.numpy(), e.numpy()


def weights_sha256(folder: Path = DEFAULT_READER_DIR) -> str:
    from rag.integrity import sha256_file

    return sha256_file(folder / WEIGHTS_FILE)


class Reader:
    """Extractive reader over short passages; the model is loaded on first use.

    ``max_length``/``stride`` may differ from training (longer windows read a 300-character
    chunk in one pass); ``runtime`` is "auto" (fp32 ONNX Runtime, exported and cached on first
    use; same spans as torch, no torch afterwards), "torch", "onnx" (fp32 ONNX), "onnx-int8"
    (faster, slightly less exact) or a ready :class:`LogitsRuntime`. ``base_tokenizer(base_dir)``
    may return that base model's ``tokenizers.Tokenizer`` already loaded elsewhere (the
    encoder's), whose vocabulary the reader's tokenizer then shares instead of parsing it again.
    """

    def __init__(self, folder: Path | str = DEFAULT_READER_DIR, base_dir: Path | None = None,
                 max_length: int = 320, stride: int = 96, threads: int = 1,
                 runtime: str | LogitsRuntime = "auto",
                 base_tokenizer: Callable[[Path], object | None] | None = None) -> None:
        self.folder = Path(folder)
        if not (self.folder / WEIGHTS_FILE).is_file():
            raise FileNotFoundError(f"no reader weights in {self.folder} ({WEIGHTS_FILE}); "
                                    "train them with `make reader`")
        self.settings = ReaderSettings.load(self.folder)
        self.max_length = max_length
        self.stride = stride
        self.threads = threads
        self._base_dir = base_dir
        self._runtime_choice = runtime
        self._runtime: LogitsRuntime | None = None if isinstance(runtime, str) else runtime
        self._tokenizer = None
        self._base_tokenizer = base_tokenizer
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self._lock:
            if self._tokenizer is not None:
                return
            from embeddings.convert import default_model_dir
            from rag.reader.tokenizer import reader_tokenizer

            base = self._base_dir or default_model_dir()
            if self._runtime is None:
                self._runtime = self._make_runtime(base)
            shared = self._base_tokenizer(base) if self._base_tokenizer else None
            self._tokenizer = reader_tokenizer(base, shared)

    def _make_runtime(self, base: Path) -> LogitsRuntime:
        from rag.reader.onnx_runtime import make_runtime

        return make_runtime(self._runtime_choice, base, self.folder, weights_sha256(self.folder),
                            self.threads)

    def warm_up(self) -> None:
        """Load (and on first use export) the model now rather than at the first question."""
        self.read("谁？", ["预热。"])

    @property
    def tokenizer(self):
        self._load()
        return self._tokenizer

    def windows(self, question: str, passages: Sequence[str]) -> list[Window]:
        s = self.settings
        return make_windows(self.tokenizer, question, passages, self.max_length, self.stride,
                            s.max_question_tokens)

    def read(self, question: str, passages: Sequence[str],
             sentence_starts: Sequence[Sequence[int]] | None = None) -> list[ReadSpan]:
        """The best span of every window, best margin first (one batched forward pass). With
        ``sentence_starts`` (per passage, the sorted character offsets where its sentences
        start), the best span starting in each sentence of every window instead."""
        windows = self.windows(question, passages)
        if not windows:
            return []
        width = max(len(w.input_ids) for w in windows)
        ids = np.full((len(windows), width), self.tokenizer.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(windows), width), dtype=np.int64)
        context = np.zeros((len(windows), width), dtype=bool)
        for i, w in enumerate(windows):
            n = len(w.input_ids)
            ids[i, :n] = w.input_ids
            mask[i, :n] = 1
            context[i, :n] = [o is not None for o in w.offsets]
        start_logits, end_logits = self._runtime(ids, mask)
        spans: list[ReadSpan] = []
        for i, w in enumerate(windows):
            groups = None
            if sentence_starts is not None:
                firsts = np.array([o[0] if o is not None else -1 for o in w.offsets])
                groups = np.searchsorted(np.asarray(sentence_starts[w.passage]), firsts,
                                         side="right")
            text = passages[w.passage]
            for best in best_spans(start_logits[i], end_logits[i], context[i],
                                   self.settings.max_answer_tokens, groups):
                a = w.offsets[best.start_token][0]
                b = w.offsets[best.end_token][1]
                while a < b and text[a].isspace():  # Latin tokens carry their leading space
                    a += 1
                while b > a and text[b - 1].isspace():
                    b -= 1
                if b > a:
                    spans.append(ReadSpan(w.passage, a, b, best.score, best.null_score))
        spans.sort(key=lambda s: -s.margin)
        return spans
