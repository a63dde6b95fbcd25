"""HTML pages, plain-text posts that merely contain ``<``/``>``, odd encodings and odd
front-matter values: what becomes the title, the text and the metadata."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rag.clean import html_to_text, looks_like_markup
from rag.corpus import parse_post, read_corpus, read_file
from rag.errors import CorpusError

pytestmark = pytest.mark.unit

PAGE = "<html><body><div>长江公司的总部在武汉。</div></body></html>"


def _post(tmp_path: Path, name: str, raw: str) -> Path:
    path = tmp_path / name
    path.write_text(raw, encoding="utf-8")
    return path


@pytest.mark.parametrize("prefix", [
    "<!DOCTYPE html>",
    '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN">',
    "<!-- saved from url=(0014)about:internet -->",
    "<![if !IE]>",
])
def test_doctype_processing_instructions_and_declarations_are_not_text(tmp_path, prefix):
    doc = read_file(_post(tmp_path, "page.html", prefix + PAGE))[0]
    assert doc.text == "长江公司的总部在武汉。"
    assert doc.title == "长江公司的总部在武汉。"


def test_doctype_page_with_title_keeps_its_title():
    raw = "<!DOCTYPE html><html><head><title>T</title></head><body><p>长江公司。</p></body></html>"
    doc = parse_post(raw, "x", html=True)
    assert (doc.title, doc.text) == ("T", "长江公司。")


def test_cdata_is_not_text():
    assert html_to_text("<p>正文<![CDATA[ var x = 1; ]]>。</p>") == "正文。"


@pytest.mark.parametrize("body, expected", [
    ("<pre>黄河公司的总部在郑州。</pre><b>黄河公司</b>成立于1990年。",
     "黄河公司的总部在郑州。\n黄河公司成立于1990年。"),
    ("<center>标题</center><script>alert(1)</script><noscript>请启用脚本</noscript>"
     "<template><p>模板</p></template>正文。", "标题\n正文。"),
])
def test_html_files_are_always_cleaned(tmp_path, body, expected):
    path = _post(tmp_path, "page.htm", f"<html><body>{body}</body></html>")
    assert read_file(path)[0].text == expected


def test_html_file_with_only_script_and_style_is_skipped_with_one_warning(tmp_path):
    _post(tmp_path, "only_script.html",
          "<html><script>var x=1;</script><style>p{}</style></html>")
    _post(tmp_path, "good.txt", "正文。")
    report = read_corpus(tmp_path)
    assert [d.doc_id for d in report.documents] == ["good"]
    assert len(report.problems) == 1 and "only_script.html" in report.problems[0]
    assert "no text" in report.problems[0]


@pytest.mark.parametrize("name, raw", [
    ("lt.txt", "数学题：当 x<a 且 y>b 时，结果为真。"),
    ("lt.md", "如果 a<b 并且 <a 与 span> 都出现。"),
    ("cmp.txt", "if a<b and c>d then a<br and c>d"),
    ("fm.md", "---\ntitle: 比较\n---\n如果 a<b 并且 <a 与 span> 都出现。"),
])
def test_text_with_angle_brackets_is_not_parsed_as_html(tmp_path, name, raw):
    doc = read_file(_post(tmp_path, name, raw))[0]
    assert doc.text == raw.rsplit("---\n", 1)[-1]


@pytest.mark.parametrize("body", [
    "<p>第一段。</p><p>第二段。</p>",
    '<div>\n<p style="text-indent: 2em">第一段。</p>\n</div>',
    "第一行<br>第二行<br />",
    "<!DOCTYPE html><title>t</title>",
])
def test_posts_with_real_markup_are_cleaned(body):
    assert looks_like_markup(body)
    assert "<" not in parse_post("---\ntitle: t\n---\n" + body, "x").text


@pytest.mark.parametrize("body", [
    "数学题：当 x<a 且 y>b 时", "如果 a<b 并且 <a 与 span> 都出现。", "a<b>c", "x < y > z",
    "<p 段落", "", "1 <2> 3",
])
def test_text_that_is_not_markup(body):
    assert not looks_like_markup(body)


def test_bundled_format_txt_post_with_html_body_is_still_cleaned(tmp_path):
    raw = ("---\nlayout: post\ntitle: \"T\"\n---\n<p style=\"display:none;\"><br /></p>"
           "<p>正文<strong>加粗</strong>。<br /></p>")
    assert read_file(_post(tmp_path, "a.txt", raw))[0].text == "正文加粗。"


@pytest.mark.parametrize("encoding, bom", [
    ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-16-le", b""),
    ("utf-16-be", b""),
])
def test_utf16_files_are_decoded(tmp_path, encoding, bom):
    text = "---\ntitle: 记事本\n---\n黄河公司的总部在郑州。\r\nWindows Notepad saves UTF-16.\r\n"
    (tmp_path / "u.txt").write_bytes(bom + text.encode(encoding))
    doc = read_file(tmp_path / "u.txt")[0]
    assert doc.title == "记事本"
    assert doc.text == "黄河公司的总部在郑州。\nWindows Notepad saves UTF-16."


def test_utf16_jsonl_is_decoded(tmp_path):
    line = '{"id": "a", "text": "黄河公司的总部在郑州。"}\n'
    (tmp_path / "a.jsonl").write_bytes(line.encode("utf-16"))
    assert read_file(tmp_path / "a.jsonl")[0].text == "黄河公司的总部在郑州。"


def test_binary_with_nul_bytes_is_still_refused(tmp_path):
    (tmp_path / "b.txt").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CorpusError, match="not a text file"):
        read_file(tmp_path / "b.txt")


@pytest.mark.parametrize("front, title", [
    ("title: {a: 1}", "正文第一行。"),
    ("title: [甲, 乙]", "甲, 乙"),
    ("title: ---", "正文第一行。"),
    ("title: 2022", "2022"),
])
def test_titles_are_never_python_reprs_or_rules(front, title, caplog):
    with caplog.at_level(logging.WARNING):
        doc = parse_post(f"---\n{front}\n---\n正文第一行。\n第二行。", "x")
    assert doc.title == title


@pytest.mark.parametrize("raw", [
    "---\n- a\n- b\n---\n正文。",  # front matter that is not a mapping
    "---\ntitle: 未闭合\n正文。",  # unclosed front matter
    "---\n\n---\n正文。",
])
def test_a_rule_is_never_the_title(raw):
    assert parse_post(raw, "x").title not in ("---", "")
    assert parse_post(raw, "x").title.strip("-") != ""


def test_list_and_mapping_metadata_are_not_reprs(caplog):
    raw = "---\nsource: ['新华网', '人民网']\nauthor: {name: 张三}\ntags: {a: 1}\n---\n正文。"
    with caplog.at_level(logging.WARNING):
        doc = parse_post(raw, "x", where="p.md")
    assert doc.metadata["source"] == "新华网, 人民网"
    assert "author" not in doc.metadata and "tags" not in doc.metadata
    assert all("{" not in str(v) and "[" not in str(v) for v in doc.metadata.values())
    assert "p.md" in caplog.text and "author" in caplog.text


def test_jsonl_title_and_source_lists_are_joined(tmp_path):
    line = '{"id": "a", "title": ["甲", "乙"], "source": ["新华网"], "text": "正文。"}\n'
    (tmp_path / "a.jsonl").write_text(line, encoding="utf-8")
    doc = read_file(tmp_path / "a.jsonl")[0]
    assert doc.title == "甲, 乙" and doc.metadata["source"] == "新华网"


def test_string_tags_are_still_split_and_lists_kept():
    doc = parse_post("---\ntags: 新闻 健康\ncategories: [a, b]\n---\n正文。", "x")
    assert doc.metadata["tags"] == ["新闻", "健康"]
    assert doc.metadata["categories"] == ["a", "b"]


def test_broken_utf16_with_bom_says_save_as_utf8(tmp_path):
    (tmp_path / "u.txt").write_bytes(b"\xff\xfe" + "正文".encode("utf-16-le") + b"\x00\xd8")
    with pytest.raises(CorpusError, match="UTF-16.*save it as UTF-8"):
        read_file(tmp_path / "u.txt")


def test_html_flag_false_keeps_markup_as_text():
    assert parse_post("<p>字面的标签</p>", "x", html=False).text == "<p>字面的标签</p>"


def test_utf16_with_bom_in_any_script_is_decoded(tmp_path):
    (tmp_path / "fr.txt").write_bytes("Café crème à la carte.".encode("utf-16"))
    assert read_file(tmp_path / "fr.txt")[0].text == "Café crème à la carte."


def test_utf16_without_bom_or_ascii_is_decoded_when_nothing_else_reads_it(tmp_path):
    text = "月亮公司的总经理是王五，月亮公司位于杭州。"
    (tmp_path / "le.txt").write_bytes(text.encode("utf-16-le"))
    (tmp_path / "be.txt").write_bytes(text.encode("utf-16-be"))
    assert read_file(tmp_path / "le.txt")[0].text == text
    assert read_file(tmp_path / "be.txt")[0].text == text



def test_a_dangling_link_in_the_corpus_is_reported(tmp_path):
    from rag.corpus import corpus_files

    (tmp_path / "good.txt").write_text("正文。", encoding="utf-8")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "missing.txt")
    problems: list[str] = []
    assert corpus_files(tmp_path, problems) == [tmp_path / "good.txt"]
    assert len(problems) == 1 and "gone.txt" in problems[0] and "does not exist" in problems[0]


def test_a_utf16_upload_is_read_like_a_utf16_corpus_file(tmp_path):
    from rag.uploads import validate_upload

    path = tmp_path / "notes.txt"
    path.write_bytes("# 标题\n\n记事本保存的文章。".encode("utf-16"))
    assert validate_upload(path) is None  # accepted (it said "not a text file" before)
    path.write_bytes(b"\xff\xfe" + bytes(range(256)) * 4)  # a BOM over binary: still refused
    assert validate_upload(path) is not None


@pytest.mark.parametrize("body", [
    "<p>一段<p>二段", "<ul><li>一<li>二", '第一行<br clear="all">第二行', '正文<br class="x"/>正文',
    '<img data-original="a.png">正文'])
def test_html_that_leaves_tags_unclosed_is_still_markup(body):
    """Scraped news often omits end tags or uses attributes on <br>/<img>."""
    from rag.clean import looks_like_markup

    assert looks_like_markup(body)
