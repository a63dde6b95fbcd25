"""The Gradio web chat over an :class:`rag.Assistant` (``python app.py``).

Pure helpers live in :mod:`rag.web.render` (safe HTML/text), :mod:`rag.web.uploads`
(file validation) and :mod:`rag.web.feedback` (👍/👎 log); :mod:`rag.web.ui` builds the Blocks.
Import :func:`build_demo` / :func:`launch` from :mod:`rag.web.ui` (it imports Gradio).
"""
