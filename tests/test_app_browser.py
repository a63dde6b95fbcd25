"""End-to-end tests of the web chat in headless Chromium (Playwright), real Assistant.

The app is served once per session (see ``app_support.shared_app``); each test opens a fresh
page (a fresh chat session). Screenshots go to each test's ``tmp_path``; set
``RAG_DOCS_SCREENSHOT=1`` to also refresh ``docs/chat.png``.
"""

from __future__ import annotations

import html
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_support import (  # noqa: E402
    CHROMIUM,
    NO_CHROMIUM,
    REPO,
    AppServer,
    chromium,
    new_page,
    press_enter_until_sent,
    shared_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

ATB = "安唐保是为哪类患者设计的？"
ATB_TITLE = "慧医天下牵手阿里健康"
PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    "[x](javascript:window.__xss=1)",
]


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> AppServer:
    return shared_app(tmp_path_factory)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser, app: AppServer):
    def watch_dialogs(pg) -> None:  # every alert/confirm/prompt that fires (there must be none)
        pg.dialogs = []
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))

    pg = new_page(browser, app.url, prepare=watch_dialogs)
    yield pg
    pg.context.close()


def ask(page, question: str) -> str:
    """Type a question, press Enter, wait for the final answer; returns its text."""
    bots = page.locator("#chat [data-testid=bot]")
    before = bots.count()
    users = page.locator("#chat [data-testid=user]").count()
    page.fill("#question textarea", question)
    press_enter_until_sent(page, users, before)
    page.wait_for_function(
        """n => { const m = document.querySelectorAll('#chat [data-testid=bot]');
                  return m.length > n && !m[m.length - 1].innerText.includes('Searching'); }""",
        arg=before,
    )
    return bots.last.inner_text()


def assert_no_xss(page) -> None:
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert page.dialogs == []
    found = page.evaluate(
        """() => ({
            js_links: document.querySelectorAll('a[href^="javascript"]').length,
            imgs: document.querySelectorAll('img[src="x"]').length,
            handlers: document.querySelectorAll('[onerror],[onload]').length,
            scripts: [...document.scripts].filter(s => s.textContent.includes('__xss')).length,
        })"""
    )
    assert found == {"js_links": 0, "imgs": 0, "handlers": 0, "scripts": 0}


def test_answer_with_citation_sources_and_followup(page, app: AppServer, tmp_path: Path):
    text = ask(page, ATB)
    assert "糖尿病" in text
    assert ATB_TITLE in text
    answer = page.locator("#chat [data-testid=bot]").last
    assert answer.locator("blockquote").count() >= 1
    expected = app.assistant.answer(ATB)  # what the page must show, highlights included
    assert expected.short_answer
    assert f"答案 Answer: {expected.short_answer}" in answer.inner_text()  # shown first
    if any(s.highlight for s in expected.snippets):
        assert answer.locator("mark.rag-hl").count() >= 1  # answer words highlighted
    # sources panel: the first citation in its paragraph, highlighted, with metadata
    page.wait_for_function("() => document.querySelector('#context mark') !== null")
    context_text = page.inner_text("#context")
    assert "2022-06-07" in context_text and ATB_TITLE in context_text
    assert page.locator("#citations label").first.inner_text().startswith("[1]")
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)
    if os.environ.get("RAG_DOCS_SCREENSHOT"):
        (REPO / "docs").mkdir(exist_ok=True)
        page.evaluate("document.querySelector('#chat [role=log]').scrollTop = 0")
        page.wait_for_timeout(300)
        page.screenshot(path=str(REPO / "docs" / "chat.png"))
    # the whole cleaned article
    page.click("#open-doc")
    page.wait_for_function(
        "() => document.querySelector('#document')?.innerText.includes('全球糖尿病地图')")
    assert page.locator("#document mark").count() >= 1
    # a follow-up question carries the subject of the previous one
    follow = ask(page, "它的三大亮点是什么？")
    assert "Searched: 安唐保" in follow  # the rewritten query is shown
    assert ATB_TITLE in follow
    page.screenshot(path=str(tmp_path / "followup.png"), full_page=True)
    # selecting the follow-up's last citation, then the first answer, switches the sources panel
    followup = app.assistant.answer("它的三大亮点是什么？", history=[ATB])
    last = len(followup.snippets) - 1
    page.locator("#citations label").nth(last).click()
    page.wait_for_function(
        "t => document.querySelector('#context').innerText.includes(t)",
        arg=followup.snippets[last].text[:12],
    )
    page.locator("#chat [data-testid=bot]").first.click()
    page.wait_for_function(
        "t => document.querySelector('#context').innerText.includes(t)",
        arg=expected.snippets[0].text[:12],
    )


def test_refusal_and_invalid_questions(page, tmp_path: Path):
    text = ask(page, "今天北京天气怎么样？")
    assert "语料中没有找到答案" in text
    assert "不是答案" in text  # closest articles clearly marked
    text = ask(page, "   ")
    assert "请输入" in text
    text = ask(page, "问" * 10_001)
    assert "Traceback" not in text and "2000" in text
    user = page.locator("#chat [data-testid=user]").last.inner_text()
    assert len(user) < 500  # the 10,000-character question is shown shortened
    page.screenshot(path=str(tmp_path / "refusal.png"), full_page=True)


def test_feedback_like_is_logged(page, app: AppServer):
    ask(page, "京东健康和哪家机构成立了互联网医疗中心？")
    before = len(_feedback(app))
    # the button's label follows the browser locale ("Like", zh-CN "赞")
    page.locator("#chat button[aria-label='Like'], #chat button[aria-label='赞']").last.click()
    deadline = time.time() + 15
    while time.time() < deadline and len(_feedback(app)) == before:
        time.sleep(0.2)
    entry = _feedback(app)[-1]
    assert entry["vote"] == "up" and entry["question"].startswith("京东健康")
    assert entry["snippets"] and entry["time"]


def test_options_k_and_source_filter(page, app: AppServer):
    page.click("#options >> text=高级选项 Options")
    page.fill("#k input[type=number]", "1")
    page.press("#k input[type=number]", "Enter")
    ask(page, ATB)
    assert page.locator("#chat [data-testid=bot]").last.locator("blockquote").count() == 1
    other = next(s for s in app.assistant.sources() if s != "新华网")  # not the 安唐保 article's
    page.click("#source input")
    page.click(f"ul[role=listbox] >> text={other}")
    text = ask(page, ATB)
    assert ATB_TITLE not in text.split("不是答案")[0]  # only articles from the chosen source
    page.fill("#date-from input, #date-from textarea", "2022/01/01")
    text = ask(page, ATB)
    assert "YYYY-MM-DD" in text


def _feedback(app: AppServer) -> list[dict]:
    if not app.feedback_path.exists():
        return []
    return [json.loads(x) for x in app.feedback_path.read_text("utf-8").splitlines() if x]


def _upload(page, paths: list[Path]) -> str:
    if not page.locator("#add").is_visible():
        page.click("#add-box >> text=添加文章 Add articles")
    page.set_input_files("#upload input[type=file]", [str(p) for p in paths])
    page.wait_for_timeout(500)
    page.click("#add")
    page.wait_for_function(  # the final report, not Gradio's "processing" tracker
        "() => /[✅❌ℹ]/.test(document.querySelector('#upload-status').innerText)")
    return page.inner_text("#upload-status")


def test_upload_article_then_find_it(page, app: AppServer, tmp_path: Path):
    n_before = app.assistant.n_documents
    article = tmp_path / "mars_honey.md"
    article.write_text(
        "---\ntitle: 火星蜂蜜农场在青海开业\ndate: 2024-03-01\nsource: 测试来源\n---\n\n"
        "火星蜂蜜农场于2024年3月1日在青海开业。农场主要生产高原紫花苜蓿蜂蜜，"
        "每年产量约为八百吨。\n",
        encoding="utf-8",
    )
    bad = tmp_path / "virus.exe"
    bad.write_bytes(b"MZ\x90\x00")
    status = _upload(page, [article, bad])
    assert "已添加" in status and "火星蜂蜜农场" in status
    assert "virus.exe" in status and "不支持" in status
    assert app.assistant.n_documents == n_before + 1
    assert f"{n_before + 1}" in page.inner_text("#doc-count")
    text = ask(page, "火星蜂蜜农场主要生产什么？")
    assert "苜蓿" in text and "火星蜂蜜农场在青海开业" in text
    page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)


def test_corpus_label_follows_a_corpus_changed_elsewhere(page, app: AppServer,
                                                         tmp_path: Path):
    """The page was opened before the corpus grew (as when the chat follows a build another
    process swapped in): the next answer brings the label and the sources up to date."""
    before = app.assistant.n_documents
    page.wait_for_function(  # the page's own load has shown the corpus as it is now
        f"() => document.querySelector('#doc-count').innerText.includes('**{before}**'"
        f".replaceAll('*', ''))")
    page.wait_for_timeout(500)
    article = tmp_path / "glacier_tea.md"
    article.write_text(
        "---\ntitle: 冰川茶园在西藏开园\ndate: 2024-05-02\nsource: 冰川来源\n---\n\n"
        "冰川茶园于2024年5月2日在西藏林芝开园，主要种植高山红茶。\n", encoding="utf-8")
    app.assistant.add_files([article])
    n = app.assistant.n_documents
    assert n == before + 1 and f"{n}" not in page.inner_text("#doc-count")
    text = ask(page, "冰川茶园主要种植什么？")
    assert "高山红茶" in text
    page.wait_for_function(f"() => document.querySelector('#doc-count').innerText.includes('{n}')")
    page.click("#options >> text=高级选项 Options")
    page.click("#source input")
    page.wait_for_timeout(300)
    assert "冰川来源" in page.inner_text("body")


def test_xss_payloads_render_inert(page, app: AppServer, tmp_path: Path):
    raw = "\n".join(PAYLOADS)
    literal = tmp_path / "xss_literal.html"  # payloads survive cleaning as literal text
    literal.write_text(
        "<html><head><title>紫罗兰脚本测试 " + html.escape(PAYLOADS[0]) + "</title></head><body>"
        + "".join(f"<p>紫罗兰脚本测试段落：{html.escape(p)}</p>" for p in PAYLOADS)
        + "</body></html>",
        encoding="utf-8",
    )
    tags = tmp_path / "xss_tags.md"  # real tags and a markdown link in the source file
    tags.write_text(f"# 紫罗兰标签测试\n\n紫罗兰标签测试内容 {raw}\n", encoding="utf-8")
    status = _upload(page, [literal, tags])
    assert "已添加" in status
    assert_no_xss(page)
    text = ask(page, "紫罗兰脚本测试段落是什么？ " + raw)
    assert "<script>" in page.locator("#chat [data-testid=user]").last.inner_text()
    assert "紫罗兰" in text
    page.wait_for_function("() => document.querySelector('#context mark') !== null")
    page.click("#open-doc")
    page.wait_for_function("() => document.querySelector('#document')?.innerText.length > 20")
    ask(page, "紫罗兰标签测试内容 " + raw)
    page.click("#open-doc")
    page.wait_for_timeout(1000)
    page.screenshot(path=str(tmp_path / "xss.png"), full_page=True)
    assert_no_xss(page)
    shown = page.inner_text("body")
    assert "window.__xss=1" in shown  # rendered as text, not executed
