"""Tenth robustness probe: real-world article files (news pages, WeChat exports, Markdown
posts, hard-wrapped text) and what becomes their text, sentences, title and metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.chunking import chunk_document
from rag.clean import html_to_text
from rag.config import ChunkingConfig, Config
from rag.corpus import read_file
from rag.sentences import split_sentences

pytestmark = pytest.mark.unit


def _read(tmp_path: Path, name: str, raw: str):
    path = tmp_path / name
    path.write_text(raw, encoding="utf-8")
    return read_file(path, tmp_path)[0]


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


NEWS_PAGE = """<!DOCTYPE html>
<html><head><title>国家统计局：5月份CPI同比上涨2.1% - 新华网</title>
<meta property="article:published_time" content="2022-06-10T09:32:15+08:00"></head>
<body>
<div class="header"><div class="nav"><ul><li><a href="/">首页</a></li>
<li><a href="/fortune">财经</a></li></ul></div></div>
<div class="breadcrumb"><a href="/">新华网</a> &gt; <a href="/f">财经</a> &gt; 正文</div>
<div class="main">
<h1>国家统计局：5月份CPI同比上涨2.1%</h1>
<div class="info">2022-06-10 09:32:15　来源：新华网</div>
<div class="share-box">分享到：<a href="#">微信</a> <a href="#">微博</a></div>
<div id="detail">
<p>　　国家统计局10日发布数据显示，5月份CPI同比上涨2.1%。</p>
<table>
<tr><th>项目</th><th>同比</th><th>环比</th></tr>
<tr><td>衣着</td><td><p>0.6%</p></td><td>0.1%</td></tr>
</table>
<p>　　猪肉价格同比下降21.1%。</p>
</div>
<h3>相关阅读</h3>
<ul><li><a href="/a">4月份CPI同比上涨2.1%</a></li>
<li><a href="/b">国家统计局：一季度GDP增长4.8%</a></li></ul>
</div>
<nav>上一篇 下一篇</nav>
<div id="comments"><p>网友：GDP增长5%就好了。</p></div>
<footer><p>免责声明：本站转载内容仅供参考。</p></footer>
</body></html>
"""


def test_navigation_share_related_links_comments_and_footer_are_not_the_article(tmp_path):
    """A saved news page's menu, breadcrumb, share bar, related-reading links, comments and
    footer were kept as lines of the article: 「一季度GDP增长多少？」 was answered 4.8% from a
    related-reading headline, cited to the CPI article."""
    text = _read(tmp_path, "xinhua.html", NEWS_PAGE).text
    for furniture in ("首页", "正文", "分享到", "一季度GDP增长4.8%", "4月份CPI", "相关阅读",
                      "上一篇", "网友", "免责声明"):
        assert furniture not in text
    assert "国家统计局10日发布数据显示，5月份CPI同比上涨2.1%。" in text
    assert "猪肉价格同比下降21.1%。" in text


def test_furniture_named_in_pinyin_is_not_the_article():
    """Chinese sites name their blocks in pinyin (导航 daohang, 面包屑 mianbaoxie, 分享 fenxiang,
    相关 xiangguan, 评论 pinglun, 版权 banquan), often run together: those blocks were kept as
    article text; a pinyin content name (正文 zhengwen) still keeps its block."""
    html = ('<div class="daohang"><a href="/">首页</a> 财经</div>'
            '<div id="mianbaoxie">当前位置：首页 &gt; 正文</div>'
            '<div class="zhengwen"><p>国家统计局发布数据，CPI同比上涨2.1%。</p>'
            '<div class="fenxiang_bar">分享到微博</div></div>'
            '<div class="xiangguanwenzhang"><p>一季度GDP增长4.8%</p></div>'
            '<div id="pinglunqu"><p>网友：好。</p></div>'
            '<div class="banquan">版权所有 转载请注明</div>'
            '<div class="zhengwen-fenxiang"><p>本文由记者王五采写。</p></div>')
    assert html_to_text(html) == "国家统计局发布数据，CPI同比上涨2.1%。\n本文由记者王五采写。"


def test_a_list_with_text_of_its_own_is_kept():
    """Only a list of nothing but links is a menu; items with text of their own stay."""
    html = ('<ul><li>出口增长<a href="/x">12%</a>；</li><li>进口增长3%。</li></ul>'
            '<div class="content-share-note"><p>正文段落。</p></div>')
    assert html_to_text(html) == "出口增长12%；\n进口增长3%。\n正文段落。"


def test_a_table_row_is_one_line_of_its_cells(tmp_path):
    """Each table cell was a line of its own (``衣着`` / ``0.6%`` / ``0.1%``): a figure was
    a sentence without its label."""
    lines = _read(tmp_path, "xinhua.html", NEWS_PAGE).text.split("\n")
    assert "项目 | 同比 | 环比" in lines and "衣着 | 0.6% | 0.1%" in lines


def test_a_layout_table_keeps_its_paragraphs():
    """A table that lays out the page (an article in a cell) is not squeezed into a line."""
    long = "这是一段很长的正文。" * 30
    html = f"<table><tr><td>导航</td><td><p>{long}</p><p>第二段。</p></td></tr></table>"
    assert html_to_text(html).split("\n") == ["导航", long, "第二段。"]


WECHAT = """<html><head><title>一文读懂个人养老金制度</title></head><body>
<h1 class="rich_media_title" id="activity-name">一文读懂个人养老金制度</h1>
<div class="rich_media_content" id="js_content" style="visibility: hidden;">
<section><p><span>个人养老金制度正式启动实施。参加人每年缴纳个人养老金的上限为</span><strong><span
style="color: red;">12000</span></strong>元。</p>
<p>缴费可以按月、分次或者按年度缴纳，缴费额度按自然年度累计。</p></section>
</div>
<span style="display:none">隐藏的统计代码文字</span>
<div id="js_cmt_area" class="discuss_container"><p>网友评论：上限太低了，建议提高到5万元。</p></div>
</body></html>"""


def test_a_line_break_in_the_source_between_chinese_characters_is_no_space():
    """``<span>个人养老金</span>\\n<span>制度</span>`` read 「个人养老金 制度」: a source line
    break inside a paragraph is a space only beside a non-CJK character (CSS's rule)."""
    html = ("<p><span>个人养老金</span>\n<span>制度</span>上限为\n<b>12000</b>元。\n"
            "English\nwords 和\n  中文</p>")
    assert html_to_text(html) == "个人养老金制度上限为 12000元。 English words 和中文"


def test_a_saved_wechat_article_keeps_its_body(tmp_path):
    """A saved WeChat article's body (``#js_content``, ``visibility: hidden`` until its
    script shows it) was dropped whole: the page kept its title and its readers' comments,
    and 「个人养老金每年缴纳上限是多少？」 was refused."""
    text = _read(tmp_path, "wechat.html", WECHAT).text
    assert "参加人每年缴纳个人养老金的上限为12000元。" in text
    assert "缴费额度按自然年度累计" in text
    assert "隐藏的统计代码文字" not in text and "网友评论" not in text


HEXO = """---
title: 2023年新能源汽车市场回顾
date: 2024-01-05 10:00:00
---

# 2023年新能源汽车市场回顾

> 本文数据来自中国汽车工业协会。

2023年，我国新能源汽车产销分别完成**958.7万辆**和__949.5万辆__，市场占有率达到*31.6%*。

<!-- more -->

| 企业 | 销量（万辆） |
| :--- | ---: |
| 比亚迪 | 302.4 |

- 出口大幅增长，全年出口`120.3`万辆
1. 插电混动车型增速快于纯电动车型。

![比亚迪工厂](https://example.com/byd.jpg "工厂")

更多内容见[中汽协官网](http://www.caam.org.cn/)。

```python
print("hello")
```

---
[1]: http://www.caam.org.cn/
"""


def test_markdown_syntax_is_not_article_text(tmp_path):
    """A Markdown post kept its syntax: 「2023年新能源汽车产量是多少？」 was answered
    ``**958.7万辆``, and ``<!-- more -->``, ``| --- |``, ``!比亚迪工厂`` and code fences were
    sentences."""
    doc = _read(tmp_path, "hexo.md", HEXO)
    assert doc.title == "2023年新能源汽车市场回顾"
    assert doc.text.split("\n") == [
        "2023年新能源汽车市场回顾",
        "本文数据来自中国汽车工业协会。",
        "2023年，我国新能源汽车产销分别完成958.7万辆和949.5万辆，市场占有率达到31.6%。",
        "企业 | 销量（万辆）",
        "比亚迪 | 302.4",
        "出口大幅增长，全年出口120.3万辆",
        "1. 插电混动车型增速快于纯电动车型。",
        "更多内容见中汽协官网。",
        'print("hello")',
    ]


def test_markdown_rules_keep_text_that_only_looks_like_them(tmp_path):
    """Arithmetic, hashtags, snake_case and ``-5%`` are text, not emphasis or marks."""
    raw = "#新能源# 话题\n3*4*5=60，__init__ 与 file_name_x 不变。\n-5%的增长。\n"
    assert _read(tmp_path, "a.md", raw).text.split("\n") == [
        "#新能源# 话题", "3*4*5=60，init 与 file_name_x 不变。", "-5%的增长。"]


WRAPPED = ("新华社北京6月7日电 国家统计局今天发布的数据显示，2022年一季度，"
           "全国规模以上工业企业实现利润总额\n"
           "1.9万亿元，同比增长8.5%。其中，采矿业实现利润总额4000亿元，同比增长1.5倍；"
           "制造业实现利润\n"
           "总额1.4万亿元，同比增长2.2%。\n\n"
           "Dr. Smith from the U.S. Department of Energy said the\n"
           'results were "encouraging". He added that output rose 3.5% in Q1.\n')


def test_hard_wrapped_lines_are_joined(tmp_path):
    """A hard-wrapped text file cut sentences at its line ends: 「制造业实现利润总额多少？」
    was answered 4000亿元 (采矿业's), its sentence being 「…同比增长1.5倍；制造业实现利润」."""
    sentences = _sentences(_read(tmp_path, "wrapped.txt", WRAPPED).text)
    assert "制造业实现利润总额1.4万亿元，同比增长2.2%。" in sentences
    assert sentences[0].endswith("实现利润总额1.9万亿元，同比增长8.5%。")
    assert ('Dr. Smith from the U.S. Department of Energy said the results were '
            '"encouraging".') in sentences


def test_short_lines_and_new_paragraphs_are_not_joined(tmp_path):
    """Lists, short lines and paragraphs opened by an indent or a number stay apart."""
    long = "2022年营收3.5亿元，同比增长12%，其中海外收入占比达到百分之三十以上，比上年提高五个点"
    raw = (f"食品烟酒 2.3%\n衣着 0.6%\n\n标题：公司发布年报\n{long}\n"
           f"　　第二段开始了，这里是另外一段比较长的文字内容，一直写到这一行结束为止好的\n"
           f"1. 列表第一项\n{long}\n2. 列表第二项\n")
    assert _read(tmp_path, "a.txt", raw).text.split("\n") == [
        "食品烟酒 2.3%", "衣着 0.6%", "标题：公司发布年报", long,
        "第二段开始了，这里是另外一段比较长的文字内容，一直写到这一行结束为止好的",
        "1. 列表第一项", long, "2. 列表第二项"]


def test_a_paragraph_a_line_is_not_joined(tmp_path):
    """A file of one paragraph a line (most end a sentence) keeps its lines, even one
    that ends without a full stop."""
    raw = ("国家统计局发布数据显示，全年国内生产总值比上年增长百分之五点二，"
           "经济回升向好势头明显。\n"
           "其中，第一产业增加值八万九千七百五十五亿元，比上年增长百分之四点一，全年粮食丰收\n"
           "第二产业增加值四十八万两千五百八十九亿元，比上年增长百分之四点七，工业生产加快。\n"
           "第三产业增加值六十八万八千二百三十八亿元，比上年增长百分之五点八，服务业较快恢复。\n")
    assert _read(tmp_path, "a.txt", raw).text == raw.strip()


@pytest.mark.parametrize(("text", "expected"), [
    ("Dr. Smith of the U.S. Department said so. Mr. Li agreed.",
     ["Dr. Smith of the U.S. Department said so.", "Mr. Li agreed."]),
    ("J. K. Rowling wrote it. See Fig. 3 for details.",
     ["J. K. Rowling wrote it.", "See Fig. 3 for details."]),
    ("Output rose 3.5% in Q1. Sales hit 20 in 2021. Then fell.",
     ["Output rose 3.5% in Q1.", "Sales hit 20 in 2021.", "Then fell."]),
    ("1. 出口大幅增长。2. 增速快。", ["1. 出口大幅增长。", "2. 增速快。"]),
])
def test_english_abbreviations_do_not_end_sentences(text, expected):
    """``Dr.``/``U.S.`` ended sentences (a snippet 「Dr.」, another 「Smith from the U.S.」),
    and a sentence ending in a number (``in 2021. Then``) did not end."""
    assert _sentences(text) == expected


def test_sentence_chunks_still_hold_whole_english_sentences():
    from rag.types import Document

    text = "Dr. Smith said it. " * 30
    doc = Document(doc_id="d", title="t", text=text.strip(), metadata={})
    for chunk in chunk_document(doc, ChunkingConfig()):
        assert chunk.text.startswith("Dr. Smith") and chunk.text.endswith("said it.")


@pytest.mark.parametrize(("page", "title"), [
    ("<title>国家统计局：5月份CPI同比上涨2.1% - 新华网</title>"
     "<h1><a href='/'>新华网</a></h1><p>正文。</p>", "国家统计局：5月份CPI同比上涨2.1%"),
    ("<title>央行降准0.25个百分点_新浪财经_新浪网</title><p>正文。</p>", "央行降准0.25个百分点"),
    ("<title>Fed raises rates again | Reuters</title><p>Text.</p>", "Fed raises rates again"),
    ("<title>人物专访｜张三：我们的路</title><p>正文。</p>", "人物专访｜张三：我们的路"),
    ("<title>COVID-19 - 新华网</title><p>正文。</p>", "COVID-19"),
])
def test_a_page_title_is_the_headline_without_the_site_name(tmp_path, page, title):
    """Citations read 《… - 新华网》: the page ``<title>`` with the site's name."""
    assert _read(tmp_path, "p.html", page).title == title


def test_a_page_date_and_source_come_from_its_meta_tags_and_dateline(tmp_path):
    """A news page without front matter had no date (no date filter matched it) and no
    source, though its ``<meta>`` and its dateline ``… 来源：新华网`` name them."""
    meta = _read(tmp_path, "xinhua.html", NEWS_PAGE).metadata
    assert meta["date"] == "2022-06-10T09:32:15+08:00" and meta["source"] == "新华网"
    plain = _read(tmp_path, "b.html", "<p>发布时间：2022年6月7日 10:30　来源： 某市统计局 "
                  "作者：张三</p><p>正文一句。</p>").metadata
    assert plain["date"] == "2022-06-07T10:30:00" and plain["source"] == "某市统计局"
    body = _read(tmp_path, "c.html", "<p>正文一句。</p>" * 6
                 + "<p>2021-01-01 来源：别处</p>").metadata
    assert "date" not in body and "source" not in body  # only the first lines are a dateline


def test_cleaning_is_part_of_the_build_key():
    """Indexes built before these rules are rebuilt, not kept with the old texts."""
    from rag.config import CLEANING_VERSION

    assert Config().build_key()["cleaning"] == CLEANING_VERSION >= 2
