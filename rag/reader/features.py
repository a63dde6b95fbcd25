"""Question + passage → token windows with character offsets (shared by training and inference)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Window:
    """One ``<s> question </s></s> passage-part </s>`` window.

    ``offsets[i]`` is token i's ``(start, end)`` in the passage, or None for question, special
    and padding tokens; ``passage`` indexes the passages given to :func:`make_windows`.
    """

    input_ids: list[int]
    offsets: list[tuple[int, int] | None]
    passage: int

    def context_range(self) -> tuple[int, int]:
        """First and last passage character covered by this window."""
        spans = [o for o in self.offsets if o is not None]
        return spans[0][0], spans[-1][1]


def make_windows(
    tokenizer,
    question: str,
    passages: Sequence[str],
    max_length: int,
    stride: int,
    max_question_tokens: int,
) -> list[Window]:
    """Tokenize ``question`` against every passage; long passages overflow into windows that
    overlap by ``stride`` tokens."""
    if not passages:
        return []
    q_ids = tokenizer(question, add_special_tokens=False)["input_ids"]
    if len(q_ids) > max_question_tokens:  # keep the end: Chinese questions ask at the end
        question = tokenizer.decode(q_ids[-max_question_tokens:])
    enc = tokenizer(
        [question] * len(passages),
        list(passages),
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )
    windows: list[Window] = []
    for i, ids in enumerate(enc["input_ids"]):
        seq = enc.sequence_ids(i)
        offsets = [
            (int(a), int(b)) if s == 1 and b > a else None
            for s, (a, b) in zip(seq, enc["offset_mapping"][i])
        ]
        windows.append(Window(list(ids), offsets, int(enc["overflow_to_sample_mapping"][i])))
    return windows


def answer_tokens(window: Window, start: int, end: int) -> tuple[int, int] | None:
    """Token positions of the character span ``[start, end)`` if the window holds all of it."""
    first = last = None
    for i, off in enumerate(window.offsets):
        if off is None:
            continue
        a, b = off
        if first is None and a <= start < b:
            first = i
        if a < end <= b:
            last = i
    if first is None or last is None or last < first:
        return None
    return first, last
