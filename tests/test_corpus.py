"""Cleaning, front matter and corpus loading on the real seed formats and on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.clean import html_to_text
from rag.corpus import load_corpus, read_corpus, read_file
from rag.errors import CorpusError
from rag.frontmatter import normalize_date, split_front_matter

pytestmark = pytest.mark.unit

BUNDLED = Path(__file__).resolve().parent.parent / "data" / "articles"


@pytest.fixture(scope="module")
def docs():
    return {d.doc_id: d for d in load_corpus(BUNDLED)}


def test_all_five_seed_articles_load_with_titles_and_dates(docs):
    assert sorted(docs) == ["000_b3be6aaf6ae97e79", "001_7a80679c6e2a11f6",
                            "002_cefbccecdd2d9a56", "003_088a84496fb6fbd1",
                            "004_e2c8009914a3913c"]
    assert docs["000_b3be6aaf6ae97e79"].title.startswith("慧医天下牵手阿里健康")
    assert docs["003_088a84496fb6fbd1"].title.startswith("京东健康济爱互联网医疗中心成立")


def test_jekyll_front_matter(docs):
    meta = docs["000_b3be6aaf6ae97e79"].metadata
    assert meta["date"] == "2022-06-07T10:50:57+08:00"
    assert meta["categories"] == ["xinhuawang"]
    assert meta["tags"] == ["新华网新闻"]
    assert meta["source"] == "新华网"  # from the （文章来源：新华网） line


def test_hexo_front_matter_with_leading_blank_line(docs):
    meta = docs["003_088a84496fb6fbd1"].metadata
    assert meta["date"] == "2021-06-11T06:52:00+00:00"  # RFC 822 → ISO 8601
    assert meta["categories"] == ["新媒体", "高科技行业门户", "新闻"]
    assert meta["author"] == "高科技行业门户"
    assert not docs["003_088a84496fb6fbd1"].text.startswith("title:")


def test_no_widget_navigation_or_markup_left(docs):
    for doc in docs.values():
        for junk in ("K图", "EM_StockImg", "返回首页", "返回新华网", "http", "<p", "</", "{",
                     "display:none", "image.png"):
            assert junk not in doc.text, (doc.doc_id, junk)


def test_inline_links_do_not_break_sentences(docs):
    text = docs["003_088a84496fb6fbd1"].text
    assert "京东健康和济爱医疗达成战略合作" in text
    assert "“互联网＋医疗”的服务融合" in docs["004_e2c8009914a3913c"].text


def test_original_characters_are_kept(docs):
    text = docs["004_e2c8009914a3913c"].text
    assert "3．73亿" in text  # fullwidth full stop not NFKC-normalised
    assert "\n" in text and "\n\n" not in text and "  " not in text


def test_image_captions_kept_only_when_they_read_as_text():
    html = ('<figure><img src="a.png" alt="x"><figcaption>1623394592267.png</figcaption>'
            '</figure><figure><img src="b.png"><figcaption>论坛现场</figcaption></figure>'
            '<p>正文。</p>')
    assert html_to_text(html) == "论坛现场\n正文。"


def test_hidden_elements_scripts_and_styles_dropped():
    html = ('<p style="display: none">隐藏</p><script>alert(1)</script><style>p{}</style>'
            '<p>可见<span hidden>不</span>文字</p>')
    assert html_to_text(html) == "可见文字"


def test_broken_html_still_gives_text():
    assert html_to_text("<p>未闭合的<b>段落<div>第二段</p></span>") == "未闭合的段落\n第二段"


def test_split_front_matter_absent_and_broken():
    assert split_front_matter("正文") == ({}, "正文")
    front, body = split_front_matter("---\ntitle: [unclosed\n---\n正文")
    assert front == {} and body == "正文"


@pytest.mark.parametrize("value, expected", [
    ("2022-06-07 10:50:57 +0800", "2022-06-07T10:50:57+08:00"),
    ("Fri, 11 Jun 2021 06:52:00 GMT", "2021-06-11T06:52:00+00:00"),
    ("2021/7/20", "2021-07-20T00:00:00"),
    ("not a date", None),
])
def test_normalize_date(value, expected):
    assert normalize_date(value) == expected


def test_jsonl_records_keep_extra_keys_as_metadata(tmp_path):
    path = tmp_path / "news.jsonl"
    rows = [{"id": "a1", "title": "甲", "text": "第一篇。", "url": "http://x",
             "date": "2021-01-02"},
            {"id": "a2", "html": "<p>第二<a href='#'>篇</a>。</p>"},
            "not an object", {"id": "a3", "text": "   "}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{bad json\n",
                    encoding="utf-8")
    docs = read_file(path)
    assert [d.doc_id for d in docs] == ["a1", "a2"]
    assert docs[0].metadata["url"] == "http://x"
    assert docs[0].metadata["date"].startswith("2021-01-02")
    assert docs[1].text == "第二篇。" and docs[1].title == "第二篇。"


def test_gbk_file_is_decoded_and_garbage_is_a_clear_error(tmp_path):
    (tmp_path / "gbk.txt").write_bytes("互联网医院发展很快。".encode("gbk"))
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\xfa\x80\x81\xfe" * 10)
    report = read_corpus(tmp_path)
    assert [d.text for d in report.documents] == ["互联网医院发展很快。"]
    assert any("bad.txt" in p and "UTF-8" in p for p in report.problems)


def test_empty_and_textless_files_are_reported_not_crashing(tmp_path):
    (tmp_path / "empty.md").write_text("", encoding="utf-8")
    (tmp_path / "noimg.html").write_text("<div><img src='a.png'></div>", encoding="utf-8")
    (tmp_path / "ok.md").write_text("---\ntitle: 好\n---\n有内容。", encoding="utf-8")
    report = read_corpus(tmp_path)
    assert [d.doc_id for d in report.documents] == ["ok"]
    assert len(report.problems) == 2 and all("no text" in p for p in report.problems)
    with pytest.raises(CorpusError, match="no readable documents"):
        load_corpus(tmp_path / "empty.md")


def test_missing_corpus_path_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")


def test_titles_fall_back_to_html_title_or_markdown_heading(tmp_path):
    (tmp_path / "a.html").write_text(
        "<html><head><title>页面标题</title></head><body><p>正文一。</p></body></html>",
        encoding="utf-8")
    (tmp_path / "b.md").write_text("# 标题二\n\n正文二。", encoding="utf-8")
    (tmp_path / "c.txt").write_text("第一行就是标题\n正文三。", encoding="utf-8")
    titles = {d.doc_id: d.title for d in load_corpus(tmp_path)}
    assert titles == {"a": "页面标题", "b": "标题二", "c": "第一行就是标题"}


def test_jsonl_is_streamed_line_by_line_and_legacy_encodings_still_read(tmp_path, monkeypatch):
    rows = [{"id": f"n{i}", "title": "标题", "text": f"第{i}篇新闻的正文。"} for i in range(50)]
    rows[3]["text"] = "段落\u2028分隔符仍在同一条记录里。"  # U+2028 is not a JSONL line break
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"
    utf8 = tmp_path / "news.jsonl"
    utf8.write_text(text, encoding="utf-8")
    legacy = tmp_path / "legacy.jsonl"
    legacy.write_bytes(text.replace("\u2028", " ").encode("gb18030"))
    import rag.corpus as corpus

    decoded: list[str] = []
    real = corpus.decode_text
    monkeypatch.setattr(corpus, "decode_text",
                        lambda data, name: decoded.append(name) or real(data, name))
    docs = read_file(utf8)
    assert [d.doc_id for d in docs] == [r["id"] for r in rows]
    assert docs[3].text.startswith("段落") and "分隔符" in docs[3].text
    assert decoded == []  # UTF-8: never decoded as one whole string
    assert [d.doc_id for d in read_file(legacy)] == [r["id"] for r in rows]
    assert decoded == [str(legacy)]  # not UTF-8: whole-file decoding with detection
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\x00\x01" * 100)
    with pytest.raises(CorpusError, match="not a text file"):
        read_file(binary)


def test_a_few_bad_bytes_in_utf8_cost_those_bytes_not_the_article(tmp_path, caplog):
    body = "互联网医院的发展很快，线上问诊成为常态。" * 20
    (tmp_path / "stray.txt").write_bytes(body.encode()[:90] + b"\xff" + body.encode()[90:])
    (tmp_path / "cut.txt").write_bytes(body.encode()[:-1])  # cut inside the last character
    (tmp_path / "gbk.txt").write_bytes(body.encode("gbk"))  # another encoding: not mended
    docs = {d.doc_id: d.text for d in read_corpus(tmp_path).documents}
    assert docs["stray"].count("\ufffd") == 1 and docs["stray"].replace("\ufffd", "") == body
    assert docs["cut"].startswith(body[:-1]) and docs["cut"].endswith("\ufffd")
    assert docs["gbk"] == body
    assert "not UTF-8 replaced" in caplog.text


def test_mostly_ascii_legacy_files_are_not_mended_as_utf8(tmp_path):
    """A Big5 English story with a few Chinese names, a GBK title over an ASCII body: their
    few CJK bytes are bad UTF-8, and must be decoded as Big5/GBK, never replaced."""
    from rag.encoding import decode_bytes

    big5 = ("This is an English news story. " * 100 + "台積電 張忠謀").encode("big5")
    assert decode_bytes(big5, "b.txt").endswith("台積電 張忠謀")
    gbk = ("---\ntitle: 京东健康发布年报\n---\n" + "Plain ASCII body. " * 80).encode("gbk")
    assert "\ufffd" not in decode_bytes(gbk, "g.txt")  # detected (8 characters are too few
    # to tell GBK from EUC-KR for sure: README, "Not guaranteed"), never mended as UTF-8
    with pytest.raises(CorpusError):  # cp1252 was refused before the mending, and still is
        decode_bytes(("Caf\u00e9 " + "plain words " * 50).encode("cp1252"), "c.txt")


@pytest.mark.parametrize("layout", ["pretty", "one line"])
def test_a_json_array_saved_as_jsonl_is_one_clear_problem(tmp_path, caplog, layout):
    rows = [{"id": f"r{i}", "text": f"第{i}篇。"} for i in range(30)]
    array = json.dumps(rows, ensure_ascii=False, indent=2 if layout == "pretty" else None)
    (tmp_path / "array.jsonl").write_text(array, encoding="utf-8")
    (tmp_path / "good.md").write_text("好文章。", encoding="utf-8")
    with caplog.at_level("WARNING"):
        report = read_corpus(tmp_path)
    assert [d.doc_id for d in report.documents] == ["good"]
    assert len(report.problems) == 1 and "JSON array, not JSON Lines" in report.problems[0]
    assert not [r for r in caplog.records if "array.jsonl:" in r.getMessage()]


def test_a_jsonl_file_of_bad_lines_warns_a_few_times_then_counts(tmp_path, caplog):
    from rag.corpus import MAX_LINE_WARNINGS

    lines = [json.dumps({"question": f"问题{i}？"}, ensure_ascii=False) for i in range(200)]
    lines.append(json.dumps({"id": "ok", "text": "唯一的好记录。"}, ensure_ascii=False))
    (tmp_path / "qa.jsonl").write_text("\n".join(lines), encoding="utf-8")
    with caplog.at_level("WARNING"):
        docs = read_file(tmp_path / "qa.jsonl")
    assert [d.doc_id for d in docs] == ["ok"]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == MAX_LINE_WARNINGS + 1 and "200 in all" in messages[-1]


def test_an_index_folder_is_never_read_as_articles(tmp_path):
    index = tmp_path / "news" / "old-index"  # an index kept among the articles
    (index / "builds" / "b1").mkdir(parents=True)
    (index / "CURRENT").write_text("b1", encoding="utf-8")
    (index / "builds" / "b1" / "documents.jsonl").write_text(
        json.dumps({"doc_id": "a", "id": "a", "text": "索引里的副本。"}, ensure_ascii=False),
        encoding="utf-8")
    (tmp_path / "news" / "a.md").write_text("文章本身。", encoding="utf-8")
    report = read_corpus(tmp_path / "news")
    assert [(d.doc_id, d.text) for d in report.documents] == [("a", "文章本身。")]
    assert any("an index folder" in p for p in report.problems)
    with pytest.raises(CorpusError, match="an index folder"):
        load_corpus(index)  # --corpus given the index itself
    for inside in (index / "builds", index / "builds" / "b1"):  # or a folder inside it
        with pytest.raises(CorpusError, match="an index folder"):
            load_corpus(inside)


def _records(n: int, prefix: str = "z") -> bytes:
    return "\n".join(json.dumps({"id": f"{prefix}{i}", "text": f"第{i}篇压缩的新闻。"},
                                ensure_ascii=False) for i in range(n)).encode("utf-8")


def test_gzip_compressed_jsonl_is_read_like_jsonl(tmp_path):
    """An archive dump as ``.jsonl.gz`` is found in a folder and streamed; a gzip file named
    ``.jsonl`` is read too (the content decides), and a GB18030 one is decoded."""
    import gzip

    (tmp_path / "dump.jsonl.gz").write_bytes(gzip.compress(_records(3)))
    (tmp_path / "named-plain.jsonl").write_bytes(gzip.compress(_records(2, "p")))
    legacy = json.dumps({"id": "g", "text": "国标编码的新闻。"}, ensure_ascii=False)
    (tmp_path / "legacy.JSONL.GZ").write_bytes(gzip.compress(legacy.encode("gb18030")))
    report = read_corpus(tmp_path)
    assert report.problems == []
    assert sorted(d.doc_id for d in report.documents) == ["g", "p0", "p1", "z0", "z1", "z2"]
    assert {d.doc_id: d.text for d in report.documents}["g"] == "国标编码的新闻。"


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_a_damaged_gzip_jsonl_is_one_clear_problem_and_nothing_half_read(tmp_path, damage):
    import gzip

    data = gzip.compress(_records(2000))
    data = data[: len(data) // 2] if damage == "truncated" else (
        data[:-8] + bytes(8))  # a wrong CRC and length
    (tmp_path / "dump.jsonl.gz").write_bytes(data)
    (tmp_path / "ok.md").write_text("好文章。", encoding="utf-8")
    report = read_corpus(tmp_path)
    assert [d.doc_id for d in report.documents] == ["ok"]
    assert len(report.problems) == 1 and "damaged gzip file" in report.problems[0]


def test_gzip_jsonl_uploads_are_checked_and_keep_their_suffix(tmp_path):
    import gzip

    from rag.uploads import plan_uploads, validate_upload

    good = tmp_path / "in" / "dump.jsonl.gz"
    good.parent.mkdir()
    good.write_bytes(gzip.compress(_records(2)))
    bad = tmp_path / "in" / "notes.jsonl.gz"
    bad.write_bytes(gzip.compress(b'{"id": "x"}\n'))
    assert validate_upload(good) is None
    assert "no text or html" in validate_upload(bad)
    plans, report = plan_uploads([good, bad], tmp_path / "added", set(), {})
    assert [p.target.name for p in plans] == ["dump.jsonl.gz"]
    assert plans[0].doc_ids == ["z0", "z1"] and len(report.errors) == 1
