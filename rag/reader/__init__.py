"""The trained extractive reader: e5 + LoRA span model, its training, and inference.

``Reader`` reads short passages and returns answer spans; ``ReaderAnswerer`` (in
``rag.reader.answerer``) turns them into cited snippets with a short answer.
"""

from rag.reader.inference import DEFAULT_READER_DIR, Reader, ReadSpan

__all__ = ["DEFAULT_READER_DIR", "ReadSpan", "Reader"]
