"""Eighth robustness probe: the chat in a real browser (2026-11-24).

Each test reproduces a problem a user of the chat hit in headless Chromium (or, where the
browser is not needed, in the UI functions) and fails without its fix. The app is the
session's shared server (``app_support.shared_app``); a slow answer is made by holding the
real ``assistant.answer`` until the test releases it, not by waiting a set time.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_support import (  # noqa: E402
    CHROMIUM,
    NO_CHROMIUM,
    TIMEOUT_MS,
    AppServer,
    chromium,
    new_page,
    press_enter_until_sent,
    shared_app,
)

from rag.errors import RagError  # noqa: E402
from rag.web.feedback import FeedbackLog  # noqa: E402
from rag.web.ui import ask as ui_ask  # noqa: E402
from rag.web.ui import record_vote  # noqa: E402

ATB = "安唐保是为哪类患者设计的？"
JD = "京东健康和哪家机构成立了互联网医疗中心？"
BROWSER_MARKS = (pytest.mark.browser, pytest.mark.slow,
                 pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM))


def browser_test(test: Any) -> Any:
    """Marks of the browser tests (as in test_app_browser.py): skipped without Chromium."""
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> AppServer:
    return shared_app(tmp_path_factory)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any, app: AppServer) -> Iterator[Any]:
    pg = new_page(browser, app.url)
    yield pg
    pg.context.close()


class Held:
    """``assistant.answer`` held until :meth:`release`; ``done`` is set once it returned."""

    def __init__(self, answer: Any) -> None:
        self.answer, self.gate, self.done = answer, threading.Event(), threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.gate.wait(TIMEOUT_MS / 1000)
        try:
            return self.answer(*args, **kwargs)
        finally:
            self.done.set()

    def release(self) -> None:
        self.gate.set()
        assert self.done.wait(TIMEOUT_MS / 1000)


@pytest.fixture
def held(app: AppServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Held]:
    hold = Held(app.assistant.answer)
    monkeypatch.setattr(app.assistant, "answer", hold)
    yield hold
    hold.gate.set()


def send(page: Any, question: str) -> None:
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")


def ask(page: Any, question: str) -> None:
    """Type ``question`` and send it, pressing Enter again while Gradio still counts the
    previous answer's events as pending (on a loaded machine one Enter was ignored, and the
    test waited for an answer to a question never sent)."""
    users = page.locator("#chat [data-testid=user]").count()
    page.fill("#question textarea", question)
    press_enter_until_sent(page, users)


def wait_answer(page: Any, count: int) -> str:
    """Wait until the chat holds ``count`` bot messages, the last one final; its text."""
    page.wait_for_function(
        """n => { const m = document.querySelectorAll('#chat [data-testid=bot]');
                  return m.length === n && !m[n - 1].innerText.includes('Searching'); }""",
        arg=count,
    )
    return page.locator("#chat [data-testid=bot]").last.inner_text()


def box(page: Any) -> str:
    return page.input_value("#question textarea")


def users(page: Any) -> list[str]:
    return page.locator("#chat [data-testid=user]").all_inner_texts()


@browser_test
def test_clear_while_an_answer_is_pending_stays_cleared(page: Any, held: Held) -> None:
    """Clear (or the chat's 🗑) pressed while an answer was being found: the answer's arrival
    brought the whole cleared conversation back. The pending answer is cancelled."""
    send(page, ATB)
    page.wait_for_function("() => document.querySelector('#chat').innerText.includes('Searching')")
    page.click("#clear")
    page.wait_for_function("() => !document.querySelector('#chat [data-testid=bot]')")
    held.release()  # the held answer is found now; it must not reach the cleared chat
    page.fill("#question textarea", JD)
    press_enter_until_sent(page, 0)
    assert users(page) == [JD]  # not the cleared question, back with its answer
    assert "济爱" in wait_answer(page, 1)


@browser_test
def test_what_is_typed_while_an_answer_is_pending_is_kept(page: Any, held: Held) -> None:
    """The next question typed while an answer was pending was wiped from the box when the
    answer arrived (and, sent with Enter meanwhile, lost without a trace)."""
    send(page, ATB)
    page.wait_for_function("() => document.querySelector('#question textarea').value === ''")
    send(page, JD)  # Enter while the first answer is pending: Gradio ignores it
    held.release()
    assert "糖尿病" in wait_answer(page, 1)
    assert box(page) == JD  # still there, to be sent now
    press_enter_until_sent(page, 1)
    assert "济爱" in wait_answer(page, 2)
    assert users(page) == [ATB, JD]


@browser_test
def test_a_refused_question_stays_in_the_box(page: Any) -> None:
    """An over-long question, or a question with a date typed wrongly, was emptied from the
    box with the notice: the user had to type (or paste) it again after correcting it."""
    long_question = "请问" + "安唐保的保障范围" * 260
    send(page, long_question)
    assert "2000" in wait_answer(page, 1)
    assert box(page) == long_question
    page.click("#options >> text=高级选项 Options")
    page.fill("#date-from input, #date-from textarea", "2022/06/01")
    ask(page, ATB)
    assert "YYYY-MM-DD" in wait_answer(page, 2)
    assert box(page) == ATB
    page.fill("#date-from input, #date-from textarea", "2022-06-01")
    # corrected: the same question, sent again
    press_enter_until_sent(page, page.locator("#chat [data-testid=user]").count())
    assert "糖尿病" in wait_answer(page, 3)
    assert box(page) == ""


@browser_test
def test_long_urls_and_titles_wrap_in_the_sources_panel(page: Any, app: AppServer,
                                                        tmp_path: Path) -> None:
    """An article with a long URL or an English title without spaces: the sources panel (the
    citation list, the paragraph, the metadata table, the whole article) ran past its edge
    and the end of the text was cut off, unreadable."""
    url = "https://example.com/news/" + "a1b2c3d4e5" * 25 + "?utm_source=newsletter"
    title = "Supercalifragilisticexpialidocious_" * 4 + "蓝鲸链接"
    article = tmp_path / "blue_whale_link.md"
    article.write_text(
        f"---\ntitle: {title}\ndate: 2024-06-01\nsource: 蓝鲸日报\n---\n\n"
        f"蓝鲸链接公司于2024年6月1日发布公告，公告原文见{url}，公司总部位于杭州滨江。\n",
        encoding="utf-8")
    app.assistant.add_files([article])
    send(page, "蓝鲸链接公司的总部位于哪里？")
    assert "蓝鲸" in wait_answer(page, 1)
    page.wait_for_function("() => document.querySelector('#context mark') !== null")
    page.click("#open-doc")
    page.wait_for_function("() => document.querySelector('#document')?.innerText.includes('滨江')")
    overflow = page.evaluate(
        """() => [...document.querySelectorAll('#citations, #context, #document')].flatMap(
               box => { const edge = box.getBoundingClientRect().right + 1;
                        return [...box.querySelectorAll('*')]
                          .filter(el => el.getBoundingClientRect().right > edge)
                          .map(el => box.id + ' ' + el.tagName); })""")
    assert overflow == []
    assert url[-30:] in page.inner_text("#document").replace("\n", "")


@pytest.mark.unit
def test_a_vote_on_a_notice_is_not_logged(tmp_path: Path) -> None:
    """👍/👎 under a notice (an empty question, a wrong date, a failure) was written to the
    feedback log as a vote on an answer, with an empty question and no snippets."""

    class Failing:
        def answer(self, *args: Any, **kwargs: Any) -> Any:
            raise RagError("起始日期格式应为 YYYY-MM-DD")

    log = FeedbackLog(tmp_path / "feedback.jsonl")
    records = {1: ui_ask(None, "   ")[0], 3: ui_ask(Failing(), ATB)[0]}
    for index in records:
        assert not record_vote(log, {"records": records}, index, True)
    assert log.read() == []


@pytest.mark.unit
@pytest.mark.parametrize("message", ["👍", "😀😀😀", "！", "？？？", "……"])
def test_a_message_without_words_is_no_follow_up(message: str) -> None:
    """"👍" (or "！") typed after an answer was taken for a follow-up on it, searched as
    "安唐保 👍", and answered with a confident short answer to a question nobody asked."""
    from rag.analyzer import Analyzer
    from rag.followup import contextualize

    assert contextualize(message, [ATB], Analyzer()) == message
    assert contextualize("它是什么？", [ATB], Analyzer()) == "安唐保是什么？"  # still follows


@browser_test
def test_the_short_answer_of_a_long_answer_is_in_view_on_a_phone(browser: Any,
                                                                  app: AppServer) -> None:
    """On a phone (390×844) the chat scrolled to the bottom of each answer: the question and
    the short answer ("答案 Answer: …") of a long answer were out of view above, and the user
    saw the last snippet's citation. The new question is now kept at the top of the chat."""
    page = new_page(browser, app.url, width=390, height=844)
    try:
        for n, question in enumerate([ATB, JD, "What is the 安唐保 insurance product for?"], 1):
            ask(page, question)
            wait_answer(page, n)
        tall = page.evaluate(  # the answer does not fit: the chat must choose what to show
            """() => document.querySelector('#chat [role=log]').clientHeight <
                     [...document.querySelectorAll('#chat [data-testid=bot]')].pop()
                       .getBoundingClientRect().height""")
        assert tall
        page.wait_for_function(
            """() => { const log = document.querySelector('#chat [role=log]')
                                     .getBoundingClientRect();
                       const bot = [...document.querySelectorAll('#chat [data-testid=bot]')].pop();
                       const s = bot.querySelector('.rag-short')?.getBoundingClientRect();
                       return s && s.top >= log.top && s.bottom <= log.bottom; }""",
            timeout=15_000)
    finally:
        page.context.close()
