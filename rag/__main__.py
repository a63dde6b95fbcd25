"""``python -m rag``: see rag.cli (``run`` is also the installed ``rag`` command)."""

from rag.cli import run

run()
