"""The Gradio Blocks of the web chat: ``build_demo(assistant)`` and ``launch(demo, ...)``.

Per-session state is one dict ``{"records": {message_index: record}, "current": index}``;
a record is what one answer showed (question, query, answered, message, items), so the
sources panel and the 👍/👎 log can refer back to any answer of the conversation.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import date
from pathlib import Path
from typing import Any

import gradio as gr

from rag.errors import EMPTY_QUESTION, RagError
from rag.web.feedback import FeedbackLog, vote_name
from rag.web.limits import DEFAULT_PER_MINUTE, LIMITED, ClientLimiter, client_key
from rag.web.privacy import public_metadata
from rag.web.render import (
    citation_label,
    closest_articles,
    escape_text,
    format_answer_html,
    format_answer_text,
    format_context_html,
    format_document_html,
    format_notice_html,
    format_question_html,
    item_from,
    relocate,
)
from rag.web.uploads import ALLOWED_SUFFIXES, MAX_UPLOAD_BYTES, add_uploads

__all__ = ["CSS", "EXAMPLES", "ask", "build_demo", "input_error", "launch", "record_vote",
           "run_answer"]

log = logging.getLogger(__name__)

CONCURRENCY = 2  # 2 CPU cores; the assistant is thread-safe for reads
QUEUE_MAX = 256
ALL_SOURCES = "全部 All"
CHANGED = ("这篇文章在回答之后已更新，不再包含引用的原文；请重新提问。"
           "The article was changed after this answer and no longer holds the quoted text; "
           "ask again.")
MODES = ["hybrid", "dense", "keyword"]
EXAMPLES = [
    "安唐保是为哪类患者设计的？",
    "京东健康和哪家机构成立了互联网医疗中心？",
    "What is the 安唐保 insurance product for?",
    "中国太保和瑞金医院合作了什么？",
]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

CSS = """
.rag-answer blockquote { margin: 0.1em 0; padding: 0.3em 0.8em;
  border-left: 4px solid #f59e0b; background: rgba(245, 158, 11, 0.06); }
.rag-snippet { margin-bottom: 0.7em; }
.rag-short { font-size: 1.1em; margin: 0.2em 0 0.5em; }
.rag-cite { padding-left: 1em; }
.rag-num { font-weight: 700; color: #b45309; margin-right: 0.3em; }
.rag-cite { font-size: 0.86em; opacity: 0.85; }
.rag-status, .rag-query { font-size: 0.86em; opacity: 0.8; margin-bottom: 0.3em; }
mark.rag-hl { background: #fde047; color: inherit; padding: 0 1px; border-radius: 2px; }
mark.rag-ctx { background: rgba(96, 165, 250, 0.22); color: inherit; }
mark.rag-ctx-hit { background: rgba(156, 163, 175, 0.25); }
.rag-refusal-head { font-size: 1.05em; color: #b91c1c; margin-bottom: 0.3em; }
.rag-closest { font-size: 0.9em; font-style: italic; opacity: 0.85; margin-top: 0.4em; }
.rag-hits li { margin-bottom: 0.3em; }
.rag-hit-text { font-size: 0.85em; opacity: 0.75; }
.rag-notice { color: #92400e; }
.rag-meta { font-size: 0.85em; margin-top: 0.6em; }
.rag-meta th { text-align: left; padding-right: 0.8em; white-space: nowrap; opacity: 0.75; }
.rag-para, .rag-doc-text { line-height: 1.7; }
.rag-doc-text { max-height: 32em; overflow-y: auto; }
.rag-context, .rag-document, .rag-meta td, #citations label, #citations label span {
  overflow-wrap: anywhere; min-width: 0; }
"""

# Run in the browser when a question is sent: until its answer is shown (or the user scrolls),
# the first new message of the chat (the question, or a notice) is kept at the top of the
# chat, so that the short answer under it is in view; Gradio scrolled to the bottom instead,
# showing the end of a long answer (on a phone, the last snippet's citation).
SHOW_NEW_MESSAGE_JS = """() => {
  const log = document.querySelector('#chat [role=log]');
  if (!log) return [];
  const messages = () => log.querySelectorAll('[data-testid=user], [data-testid=bot]');
  const first = messages().length;
  if (window.ragShowNew) window.ragShowNew.stop();
  const show = () => {
    const target = messages()[first];
    if (target) log.scrollTop += target.getBoundingClientRect().top
                                 - log.getBoundingClientRect().top - 32;
  };
  const observer = new MutationObserver(show);
  const stop = () => { observer.disconnect(); log.removeEventListener('wheel', stop);
                       log.removeEventListener('touchmove', stop); };
  log.addEventListener('wheel', stop);
  log.addEventListener('touchmove', stop);
  observer.observe(log, {childList: true, subtree: true, characterData: true});
  window.ragShowNew = {show, stop};
  return [];
}"""
ANSWER_SHOWN_JS = """() => {
  const follow = window.ragShowNew;
  if (follow) requestAnimationFrame(() => { follow.show(); follow.stop(); });
  return [];
}"""

HEADER = """
<div style="display:flex;align-items:baseline;gap:0.8em;flex-wrap:wrap">
<h2 style="margin:0">📰 新闻问答助手 <small style="font-weight:400">News QA assistant</small></h2>
<span style="opacity:0.75">回答均为文章原文摘录并注明出处 · Answers are verbatim,
cited snippets from the articles; nothing is generated.</span></div>
"""


def _corpus_updates(assistant: Any, st: dict, source: str | None) -> tuple[Any, Any]:
    """The corpus label and source choices, when the corpus differs from what this session
    last showed (the assistant followed a build another process swapped in, or an upload
    added documents); no update otherwise. A chosen source that is gone resets to all. The
    build's name tells (every change of the corpus is a new build), so that an answer does
    not read every document's source."""
    seen = [assistant.build_id, assistant.n_documents]
    if st.get("corpus") == seen:
        return gr.update(), gr.update()
    st["corpus"] = seen
    choices = _source_choices(assistant)
    kept = source if source in choices else ALL_SOURCES
    return _doc_count_md(assistant), gr.update(choices=choices, value=kept)


def _doc_count_md(assistant: Any) -> str:
    n = assistant.n_documents
    return f"📚 语料库 Corpus：**{n}** 篇文章 / documents"


def _source_choices(assistant: Any) -> list[str]:
    return [ALL_SOURCES, *sorted(str(s) for s in assistant.sources() if s)]


def _check_date(value: str | None, label: str) -> str | None:
    from rag.validation import date_text

    value = date_text(value or "")
    if not value:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError(value)
        date.fromisoformat(value)
    except ValueError as e:
        raise RagError(f"{label}日期格式应为 YYYY-MM-DD / {label} date must be YYYY-MM-DD") from e
    return value


def _filters(source: str | None, date_from: str | None, date_to: str | None) -> Any:
    from rag import Filters

    src = None if not source or source == ALL_SOURCES else source
    d0, d1 = _check_date(date_from, "起始 From "), _check_date(date_to, "截止 To ")
    if d0 and d1 and d0 > d1:
        raise RagError("起始日期晚于截止日期 / the start date is after the end date")
    if not (src or d0 or d1):
        return None
    return Filters(source=src, date_from=d0, date_to=d1)


def input_error(question: str, source: str | None = None, date_from: str | None = None,
                date_to: str | None = None) -> str:
    """The message for a question or filter refused before any search (over-long question,
    bad date), else "": such a question stays in the box to be corrected."""
    from rag.assistant import check_question

    try:
        check_question(question)
        _filters(source, date_from, date_to)
    except RagError as e:
        return str(e)
    return ""


def run_answer(
    assistant: Any,
    question: str,
    history: list[str] | None = None,
    k: int = 5,
    mode: str | None = None,
    source: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
) -> tuple[Any | None, str]:
    """Call ``assistant.answer``; returns (Answer, "") or (None, friendly error message)."""
    if not isinstance(question, str) or not question.strip():  # API callers send anything
        return None, EMPTY_QUESTION
    try:
        filters = _filters(source, date_from, date_to)
        answer = assistant.answer(
            question, k=int(k), mode=mode or None, filters=filters, history=history or None
        )
    except RagError as e:
        return None, str(e)
    except Exception:  # noqa: BLE001 - shown as a friendly message, logged with its trace
        log.exception("answer failed for %r", question[:200])
        return None, "抱歉，处理问题时出错了。Sorry, something went wrong."
    return answer, ""


def ask(assistant: Any, question: str, history: list[str] | None = None,
        **options: Any) -> tuple[dict[str, Any], str]:
    """Answer one question for the chat; returns (record, chat HTML). Never raises."""
    record: dict[str, Any] = {
        "question": question, "query": "", "answered": False, "message": "", "items": [],
    }
    answer, error = run_answer(assistant, question, history, **options)
    if answer is None:
        record["message"] = error
        icon = "✏️" if not (question or "").strip() else "⚠️"
        return record, format_notice_html(error, icon=icon)
    items = [item_from(s, "snippet") for s in answer.snippets]
    if not answer.answered or not items:
        # the chat and the sources panel: the same closest articles, each once
        items = [item_from(h, "hit") for h in closest_articles(answer.hits)]
    roots = _roots(assistant)
    for item in items:  # no absolute server path reaches the browser
        item["metadata"] = public_metadata(item["metadata"], roots)
    record.update(
        query=answer.query or question, answered=bool(answer.answered and answer.snippets),
        message=answer.message or "", items=items,
    )
    html = format_answer_html(
        record["answered"], items, record["message"], record["query"], question
    )
    return record, html


def _panel(assistant: Any, state: dict[str, Any], choice: Any) -> tuple[Any, str, str]:
    """(radio update, context HTML, article HTML) for the current answer and citation."""
    record = state.get("records", {}).get(state.get("current"))
    if not record or not record["items"]:
        return gr.update(choices=[], value=None), _panel_placeholder(), ""
    choices = [(citation_label(n, it), n - 1) for n, it in enumerate(record["items"], 1)]
    idx = choice if isinstance(choice, int) and 0 <= choice < len(choices) else 0
    context, article = _views(assistant, record["items"][idx])
    return gr.update(choices=choices, value=idx), context, article


def _views(assistant: Any, item: dict[str, Any] | None) -> tuple[str, str]:
    """(snippet-in-paragraph HTML, whole-article HTML) of one citation."""
    if item is None:
        return _panel_placeholder(), ""
    try:
        doc = assistant.document(item["doc_id"])
    except RagError as e:
        return format_notice_html(str(e)), ""
    meta = public_metadata(doc.metadata, _roots(assistant))
    current = relocate(item, doc.text)  # the index may have been rebuilt since the answer
    if current is None:
        article = format_document_html(doc.doc_id, doc.title, doc.text, meta)
        return format_notice_html(CHANGED, icon="ℹ️"), article
    article = format_document_html(doc.doc_id, doc.title, doc.text, meta, current)
    return format_context_html(doc.text, current), article


def _roots(assistant: Any) -> list[Path]:
    """Folders that document paths are shown relative to: the corpus, the index (uploads)."""
    return [Path(p) for p in (getattr(assistant, "corpus", None),
                              getattr(assistant, "index_dir", None)) if p]


def _panel_placeholder() -> str:
    return (
        '<div class="rag-notice">提问后，这里显示引用的原文段落。'
        " Ask a question to see the cited paragraphs here.</div>"
    )


def _selected_item(state: dict[str, Any], choice: Any) -> dict[str, Any] | None:
    record = state.get("records", {}).get(state.get("current"))
    if not record or not isinstance(choice, int) or not 0 <= choice < len(record["items"]):
        return None
    return record["items"][choice]


def record_vote(feedback: FeedbackLog, state: dict[str, Any], index: Any,
                liked: object) -> bool:
    """Log a 👍/👎 on the answer at chat ``index``; False when nothing was saved: a notice
    (empty or over-long question, bad date) is no answer to judge. A log that cannot be
    written (disk full, a folder in its place) is a warning, never an error."""
    record = state.get("records", {}).get(index if isinstance(index, int) else None)
    if record is None or not record.get("query"):
        return False
    try:
        feedback.record(record, vote_name(liked))
    except OSError as e:
        log.warning("feedback vote not saved to %s: %s", feedback.path, e)
        gr.Warning("反馈未保存 / Your vote was not saved (the feedback log cannot be written).")
        return False
    return True


def build_demo(
    assistant: Any,
    feedback_path: Path | str | None = None,
    *,
    title: str = "新闻问答 News QA",
    rate_limit: int = DEFAULT_PER_MINUTE,
) -> gr.Blocks:
    """The chat UI over ``assistant`` (shared by all sessions; uploads are serialized).

    ``rate_limit``: questions per minute per client address (0: no limit)."""
    if feedback_path is None:
        from rag.config import cache_dir

        feedback_path = cache_dir() / "feedback.jsonl"
    feedback = FeedbackLog(feedback_path)
    upload_lock = threading.Lock()
    limiter = ClientLimiter(rate_limit)

    with gr.Blocks(title=title, analytics_enabled=False) as demo:
        state = gr.State({"records": {}, "current": None})
        gr.HTML(HEADER, js_on_load=None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chatbot = gr.Chatbot(
                    label="对话 Chat",
                    elem_id="chat",
                    height=560,
                    autoscroll=False,  # SHOW_NEW_MESSAGE_JS scrolls to a new question instead
                    sanitize_html=True,
                    allow_tags=False,
                    latex_delimiters=[],
                    render_markdown=True,
                    feedback_options=("Like", "Dislike"),
                    group_consecutive_messages=False,
                    buttons=[],  # Gradio's copy buttons would copy our raw HTML markup
                    placeholder=(
                        "<b>问我新闻语料里的问题</b><br>Ask about the news articles — answers are"
                        " verbatim quotes with citations."
                    ),
                )
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="输入问题，回车发送 · Type a question and press Enter",
                        show_label=False, lines=1, max_lines=4, scale=5,
                        elem_id="question", autofocus=True,
                    )
                    send = gr.Button("发送 Ask", variant="primary", scale=1, elem_id="ask")
                with gr.Row():
                    clear = gr.Button("清空对话 Clear", size="sm", elem_id="clear")
                gr.Examples(EXAMPLES, inputs=[question], label="示例问题 Examples")
                with gr.Accordion("高级选项 Options", open=False, elem_id="options"):
                    with gr.Row():
                        k = gr.Slider(1, 10, value=5, step=1, label="摘录数 Snippets (k)",
                                      elem_id="k")
                        mode = gr.Radio(MODES, value="hybrid", label="检索模式 Retrieval mode",
                                        elem_id="mode")
                    with gr.Row():
                        source = gr.Dropdown(
                            _source_choices(assistant), value=ALL_SOURCES,
                            label="来源 Source", elem_id="source",
                        )
                        date_from = gr.Textbox(label="起始日期 From (YYYY-MM-DD)", max_lines=1,
                                               elem_id="date-from")
                        date_to = gr.Textbox(label="截止日期 To (YYYY-MM-DD)", max_lines=1,
                                             elem_id="date-to")
            with gr.Column(scale=2, min_width=320):
                doc_count = gr.Markdown(_doc_count_md(assistant), elem_id="doc-count")
                with gr.Accordion("引用来源 Sources", open=True, elem_id="sources"):
                    citations = gr.Radio(
                        choices=[], label="引用 Citations", type="value", elem_id="citations"
                    )
                    context = gr.HTML(_panel_placeholder(), elem_id="context", js_on_load=None)
                    open_doc = gr.Button("打开全文 Open full article", size="sm",
                                         elem_id="open-doc")
                with gr.Accordion("全文 Full article", open=False, elem_id="doc-box") as doc_box:
                    document = gr.HTML("", elem_id="document", js_on_load=None)
                with gr.Accordion("添加文章 Add articles", open=False, elem_id="add-box"):
                    files = gr.File(
                        label=f"上传 Upload ({' '.join(ALLOWED_SUFFIXES)}, ≤ "
                        f"{MAX_UPLOAD_BYTES // 1048576} MB)",
                        file_count="multiple", elem_id="upload",
                    )
                    add_btn = gr.Button("添加到语料库 Add to corpus", elem_id="add")
                    upload_status = gr.Markdown("", elem_id="upload-status")

        def respond(q, chat, st, k_, mode_, src, d0, d1, request: gr.Request):
            chat = list(chat or [])
            st = {"records": dict(st.get("records", {})), "current": st.get("current"),
                  "corpus": st.get("corpus")}
            same = (gr.update(), gr.update())
            if (q or "").strip() and not limiter.allow(client_key(request)):
                chat.append({"role": "assistant", "content": format_notice_html(LIMITED)})
                yield chat, st, q, gr.update(), gr.update(), gr.update(), *same
                return
            history = [r["question"] for _, r in sorted(st["records"].items()) if r["query"]]
            if (q or "").strip():
                chat.append({"role": "user", "content": format_question_html(q)})
                if not input_error(q, src, d0, d1):  # else the question stays in the box
                    chat.append({"role": "assistant", "content": "🔎 正在检索… Searching…"})
                    yield chat, st, "", gr.update(), gr.update(), gr.update(), *same
                    chat.pop()
            record, html = ask(assistant, q, history, k=k_, mode=mode_, source=src,
                               date_from=d0, date_to=d1)
            chat.append({"role": "assistant", "content": html})
            index = len(chat) - 1
            st["records"][index] = record
            corpus = _corpus_updates(assistant, st, src)  # the build may have been followed
            # the box was emptied when the question was sent: what was typed since is kept
            if not record["items"]:  # a notice: keep showing the previous answer's sources
                yield chat, st, gr.update(), gr.update(), gr.update(), gr.update(), *corpus
                return
            st["current"] = index
            yield chat, st, gr.update(), *_panel(assistant, st, 0), *corpus

        ask_inputs = [question, chatbot, state, k, mode, source, date_from, date_to]
        ask_outputs = [chatbot, state, question, citations, context, document, doc_count,
                       source]
        asked = [trigger(respond, ask_inputs, ask_outputs, api_visibility="private",
                         concurrency_id="answer", show_progress="hidden")
                 for trigger in (question.submit, send.click)]
        for trigger, event in zip((question.submit, send.click), asked, strict=True):
            trigger(None, None, None, js=SHOW_NEW_MESSAGE_JS, queue=False)
            event.then(None, None, None, js=ANSWER_SHOWN_JS, queue=False)

        def on_clear():
            empty = {"records": {}, "current": None}
            return [], empty, gr.update(choices=[], value=None), _panel_placeholder(), ""

        # an answer still pending is cancelled: it would bring the cleared conversation back
        for cleared in (clear.click, chatbot.clear):
            cleared(on_clear, None, [chatbot, state, citations, context, document],
                    api_visibility="private", queue=False, cancels=asked)

        def on_cite(choice, st):
            return _views(assistant, _selected_item(st, choice))

        citations.input(on_cite, [citations, state], [context, document],
                        api_visibility="private", show_progress="hidden")

        def on_select(st, evt: gr.SelectData):
            index = evt.index if isinstance(evt.index, int) else None
            record = st.get("records", {}).get(index)
            if record is None or not record["items"]:
                return st, gr.update(), gr.update(), gr.update()
            st = {**st, "current": index}
            return st, *_panel(assistant, st, 0)

        chatbot.select(on_select, [state], [state, citations, context, document],
                       api_visibility="private")

        def on_open(choice, st):
            item = _selected_item(st, choice)
            if not item:
                return gr.update(open=True), format_notice_html(
                    "请先选择一条引用。Select a citation first.", icon="ℹ️")
            return gr.update(open=True), _views(assistant, item)[1]

        open_doc.click(on_open, [citations, state], [doc_box, document],
                       api_visibility="private")

        def on_like(st, data: gr.LikeData):
            record_vote(feedback, st, data.index, data.liked)

        # queued (no concurrency limit) so that gr.Warning reaches the browser
        chatbot.like(on_like, [state], None, api_visibility="private", concurrency_limit=None)

        def on_add(paths):
            paths = [p for p in (paths or []) if p]
            if not paths:
                return "ℹ️ 请先选择文件。Choose files first.", gr.update(), gr.update(), None
            with upload_lock:
                try:
                    # never a spinner for as long as another process's build lasts
                    report = add_uploads(assistant, [Path(p) for p in paths], wait=False)
                except RagError as e:
                    return f"❌ {escape_text(str(e))}", gr.update(), gr.update(), None
                except Exception:  # noqa: BLE001 - reported to the user, logged with trace
                    log.exception("adding files failed")
                    msg = "❌ 添加文件时出错 / adding the files failed."
                    return msg, gr.update(), gr.update(), None
            lines = []
            if report.added:
                titles = []
                for doc_id in report.added:
                    try:
                        titles.append(assistant.document(doc_id).title or doc_id)
                    except RagError:
                        titles.append(doc_id)
                lines.append(f"✅ 已添加 {len(report.added)} 篇 / added: "
                             + "；".join(f"《{escape_text(t)}》" for t in titles))
            lines += [f"ℹ️ {escape_text(msg, newlines=False)}" for msg in report.present]
            lines += [f"❌ {escape_text(err, newlines=False)}" for err in report.errors]
            if not lines:
                lines.append("ℹ️ 没有新文章 / nothing new was added.")
            choices = _source_choices(assistant)
            return ("<br>".join(lines), _doc_count_md(assistant),
                    gr.update(choices=choices), None)

        add_btn.click(on_add, [files], [upload_status, doc_count, source, files],
                      api_visibility="private", concurrency_id="upload", concurrency_limit=1)

        def on_load():
            return _doc_count_md(assistant), gr.update(choices=_source_choices(assistant))

        demo.load(on_load, None, [doc_count, source], api_visibility="private", queue=False)

        def answer(question: str, request: gr.Request) -> str:
            """Answer a question from the news corpus: cited verbatim snippets, as plain text
            (the question is echoed as typed: clients showing it as HTML must escape it)."""
            if not limiter.allow(client_key(request)):
                return f"⚠️ {LIMITED}"
            result, error = run_answer(assistant, question)
            return format_answer_text(result) if result is not None else f"⚠️ {error}"

        gr.api(answer, api_name="answer", concurrency_id="answer")

    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_MAX)
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860,
           **kwargs: Any) -> Any:
    """Serve ``demo`` (loopback by default) with the chat's CSS; extra kwargs go to launch()."""
    kwargs.setdefault("max_file_size", "50mb")
    kwargs.setdefault("footer_links", ["api"])
    kwargs.setdefault("ssr_mode", False)
    kwargs.setdefault("show_error", False)
    return demo.launch(server_name=host, server_port=port, css=CSS, **kwargs)

