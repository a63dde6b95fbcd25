"""Fourteenth robustness probe: English questions over Chinese news, as a user asks them
(place names, questions typed in lower case, pinyin with tones, names opening with a function
word's letters, dates with month names, units typed onto numbers, polite openings, no question
mark).

Each test failed before its fix (README "Reliability", fourteenth probe)."""

from __future__ import annotations

import pytest

from rag.crosslingual import Dictionary, QueryTranslator, _gloss_phrases, plain_question

CEDICT_LINES = """\
晉江 晋江 [Jin4 jiang1] /Jinjiang county level city in Quanzhou 泉州[Quan2 zhou1], Fujian/
復旦大學 复旦大学 [Fu4 dan4 Da4 xue2] /Fudan University, Shanghai/
福建 福建 [Fu2 jian4] /Fujian province (Fukien) in east China, abbr. 福 or 閩|闽/
上海 上海 [Shang4 hai3] /Shanghai municipality, central east China, abbr. to 滬|沪[Hu4]/
轉移 转移 [zhuan3 yi2] /to shift/to relocate/to evacuate/
大學 大学 [da4 xue2] /university/college/
排名 排名 [pai2 ming2] /ranking/to rank/
首席 首席 [shou3 xi2] /chief/
健康 健康 [jian4 kang1] /health/healthy/
表示 表示 [biao3 shi4] /to express/to show/to say/
銷售 销售 [xiao1 shou4] /to sell/to market/sales/
版本 版本 [ban3 ben3] /version/edition/
"""
VOCAB = {"晋江": 3, "复旦大学": 2, "福建": 4, "上海": 5, "转移": 3, "大学": 8, "排名": 6,
         "首席": 2, "健康": 30, "京东": 20, "阶段": 40, "刘庆峰": 3, "雷军": 4, "安唐保": 5,
         "比亚迪": 6, "表示": 9, "ceo": 5, "销售": 7, "同比": 12, "版本": 2, "16gb": 1,
         "2023": 9, "3": 30, "月": 40}
PROPER = {"晋江", "复旦大学", "福建", "上海", "京东", "比亚迪", "同比"}


@pytest.fixture(scope="module")
def translator(tmp_path_factory) -> QueryTranslator:
    path = tmp_path_factory.mktemp("cedict") / "cedict.txt"
    path.write_text(CEDICT_LINES, encoding="utf-8")
    dictionary = Dictionary.from_cedict(path)
    return QueryTranslator(VOCAB, dictionary=lambda: dictionary,
                           proper_noun=PROPER.__contains__)


# ------------------------------------------- place names glossed as where a name lies
@pytest.mark.unit
def test_a_place_named_after_a_names_gloss_is_no_key_of_the_name():
    """CC-CEDICT glosses a place as "Fujian province (Fukien) in east China" (no key
    "fujian") and 晋江 as "Jinjiang county level city in Quanzhou, Fujian", so "Fujian" was
    晋江 and "Shanghai" 复旦大学 ("Fudan University, Shanghai")."""
    assert "fujian" not in [k for k, *_ in _gloss_phrases(
        "Jinjiang county level city in Quanzhou 泉州[Quan2 zhou1], Fujian")]
    assert _gloss_phrases("Fudan University, Shanghai") == [("fudan university", False, False)]
    assert _gloss_phrases("to shift, to relocate") == [("shift", False, True),
                                                       ("relocate", False, True)]


@pytest.mark.unit
def test_a_province_and_a_city_are_found_by_their_pinyin(translator):
    """"How many people were evacuated in Fujian?" was searched 「多少 people 转移晋江？」 (a
    county of Fujian), "the 2024 Shanghai Ranking" as 复旦大学."""
    t = translator.translate("How many people were evacuated in Fujian?")
    assert dict(t.terms)["Fujian"] == "福建" and "晋江" not in t.text
    t = translator.translate("Which university ranked first in the Shanghai Ranking?")
    assert dict(t.terms)["Shanghai"] == "上海" and "复旦大学" not in t.text


# ------------------------------------------------------- questions typed in lower case
@pytest.mark.unit
@pytest.mark.parametrize("question, word", [
    ("who is the ceo of jd health", "京东"),
    ("how many cars did byd sell", "比亚迪"),
    ("who is liu qing feng?", "刘庆峰"),
    ("what did lei jun say", "雷军"),
])
def test_names_and_acronyms_in_a_lower_case_question(translator, question, word):
    """A user who types in lower case lost every name: "who is the ceo of jd health" was
    searched 「谁 ceo jd 健康？」 and answered with Alibaba Health's CEO, "who is liu qing feng?"
    was not translated at all and refused (the pinyin and acronym rules read capitalised
    words only)."""
    t = translator.translate(question)
    assert t is not None and word in t.text


@pytest.mark.unit
def test_english_words_in_lower_case_are_no_acronyms(translator):
    """Only a word no dictionary knows is read as an acronym: "sell" stays a verb."""
    t = translator.translate("how many cars did byd sell")
    assert dict(t.terms)["sell"] == "销售"


# --------------------------------------------------------------- pinyin with its tones
@pytest.mark.unit
def test_pinyin_typed_with_tone_marks(translator):
    """"Who is Liú Qìngfēng?" was split at every accented letter ("Li", "Q", "ngf"…),
    nothing was found, and the question was refused."""
    t = translator.translate("Who is Liú Qìngfēng?")
    assert t is not None and dict(t.terms)["Liu Qingfeng"] == "刘庆峰"


# ------------------------------------------------ a name opening with a function word
@pytest.mark.unit
@pytest.mark.parametrize("question", ["What is An Tang Bao?", "what is an tang bao"])
def test_a_name_whose_first_syllable_is_a_function_word(translator, question):
    """"What is An Tang Bao?" (安唐保) dropped "An" as the article "an", found nothing in
    "Tang Bao" and was refused."""
    t = translator.translate(question)
    assert t is not None and "安唐保" in t.text


# ------------------------------------------------------------------ dates in words
@pytest.mark.unit
@pytest.mark.parametrize("question, date", [
    ("How many cars did BYD sell in March 2023?", "2023年3月"),
    ("how many cars did byd sell in march", "3月"),
    ("What happened on March 18, 2023?", "2023年3月18日"),
    ("What happened on 18th March?", "3月18日"),
])
def test_a_month_name_becomes_the_corpus_date(translator, question, date):
    """Month names were left in English ("in March 2023" searched as 「… March 2023？」; the
    articles write 2023年3月), so BM25 never met the date."""
    t = translator.translate(question)
    assert date in t.words


@pytest.mark.unit
@pytest.mark.parametrize("question", ["May I ask who the CEO of JD is?",
                                      "Did the troops march to Shanghai?"])
def test_may_and_march_as_words_are_no_dates(translator, question):
    assert not any("月" in w for w in translator.translate(question).words)


# ------------------------------------------------------------ units typed on numbers
@pytest.mark.unit
def test_a_unit_typed_on_a_number_is_no_acronym(translator):
    """"How much is the 16GB+1TB version" was searched 「多少 16 GB 1 同比版本？」: "TB" was
    read as an acronym, the pinyin initials of 同比 (year on year)."""
    t = translator.translate("How much is the 16GB+1TB version")
    assert "同比" not in t.text and "16GB" in t.words


# --------------------------------------------------- polite openings, no question mark
@pytest.mark.unit
@pytest.mark.parametrize("question, plain", [
    ("Could you tell me the price of the Xiaomi 13 Ultra?",
     "What is the price of the Xiaomi 13 Ultra?"),
    ("I'd like to know BYD's sales target for 2023.", "What is BYD's sales target for 2023?"),
    ("Can you tell me what BYD's sales target for 2023 is?",
     "What is BYD's sales target for 2023?"),
    ("Could you please tell me who the president of China Merchants Bank is?",
     "Who is the president of China Merchants Bank?"),
    ("Do you know how many people were evacuated in Fujian?",
     "How many people were evacuated in Fujian?"),
    ("Please tell me, who founded BYD?", "Who founded BYD?"),
    ("What is BYD's sales target for 2023", "What is BYD's sales target for 2023?"),
])
def test_a_polite_opening_is_not_read_as_the_question(question, plain):
    """"I'd like to know BYD's sales target for 2023." was answered 552076辆 (the quarter's
    sales) and "Can you tell me how many people were evacuated in Fujian?" 800多个 (the
    parks closed), while the bare questions were answered 300万辆 and 26.3万人; "Could you
    tell me…" put "tell" into the searched words. A question typed without "?" was read
    differently too ("What is BYD's sales target for 2023" → 一季度)."""
    assert plain_question(question) == plain


@pytest.mark.unit
@pytest.mark.parametrize("question", ["Who is the CEO of JD Health?", "Tell me about BYD?",
                                      "Do you know if BYD sold more cars?",
                                      "What about Ping An Health? 🙂"])
def test_other_questions_are_read_as_asked(question):
    assert plain_question(question) == question


@pytest.mark.unit
def test_the_reader_and_the_search_read_the_question_without_its_opening(translator):
    """The reader and the dense search read ``Translation.source``: it held "I'd like to
    know …" and the searched words "I'd like know 比亚迪…"."""
    t = translator.translate("I'd like to know BYD's sales target for 2023.")
    assert t.source == "What is BYD's sales target for 2023?"
    assert not {"I'd", "like", "know"} & set(t.words)


# -------------------------------------------- a short answer with the speaker's verb
@pytest.mark.unit
@pytest.mark.parametrize("text, span, answer", [
    ("软科首席分析师罗志敏介绍，本次排名包括10个维度。", "罗志敏介绍", "罗志敏"),
    ("深圳市地铁集团有限公司董事长辛杰介绍：截至目前", "辛杰介绍", "辛杰"),
    ("中央气象台首席预报员董林表示，“杜苏芮”是最强台风。", "董林表示", "董林"),
])
def test_a_short_answer_drops_the_reporting_verb_after_the_speaker(text, span, answer):
    """"Who is the chief analyst of ShanghaiRanking?" (and 「软科首席分析师是谁？」) was answered
    「罗志敏介绍」, "Who is the chairman of Shenzhen Metro Group?" 「辛杰介绍」: the verb that
    opens the speaker's words came with the name."""
    from rag.reader.decode import trim_answer

    a, b = trim_answer(text, text.index(span), text.index(span) + len(span))
    assert text[a:b] == answer


@pytest.mark.unit
def test_a_reporting_verb_inside_a_sentence_is_kept():
    from rag.reader.decode import trim_answer

    text = "他表示同意。介绍，"
    assert trim_answer(text, 0, 3) == (0, 3)  # no comma after it: not a speaker's verb
    assert trim_answer(text, 6, 8) == (6, 8)  # nothing would be left


# ------------------------------------------------ a follow-up about a numbered name
@pytest.mark.unit
@pytest.mark.parametrize("first, followup, expected", [
    ("When did Line 16 phase 2 open?", "How long is it?", "How long is Line 16 phase 2?"),
    ("When will the Xiaomi 13 Ultra go on sale?", "How much does it cost?",
     "How much does Xiaomi 13 Ultra cost?"),
    ("What is the price of the iPhone 15?", "When was it released?",
     "When was iPhone 15 released?"),
    ("16号线二期什么时候开通？", "它有多长？", "16号线二期有多长？"),
])
def test_a_followup_keeps_the_number_of_a_name(first, followup, expected):
    """"How long is it?" after "When did Line 16 phase 2 open?" was searched "How long is
    Line?" (not translated at all), "How much does it cost?" after a question about the
    Xiaomi 13 Ultra asked about "Xiaomi", and 「它有多长？」 after 「16号线二期…」 about
    「号线二期」: a number ended the subject."""
    from rag.analyzer import Analyzer
    from rag.followup import contextualize

    assert contextualize(followup, [first], Analyzer()) == expected


# --------------------------------------------------------------- units and amounts
@pytest.mark.unit
def test_units_and_amounts_become_the_corpus_words():
    """"How many billion yuan did China Merchants Bank earn?" was searched 「多少 billion
    yuan …」: CC-CEDICT has no "yuan" (its gloss is "currency unit (esp. Chinese yuan)") and
    its "billion" is 兆 or 秭, its "dollar" 刀; the amounts the articles write (1380亿元) were
    never searched."""
    vocab = dict(VOCAB, 亿元=9, 元=20, 毫米=2, 美元=3)
    t = QueryTranslator(vocab, dictionary=lambda: Dictionary({}))
    assert "亿元" in t.translate("How many billion yuan did BYD earn?").words
    assert "元" in t.translate("Is the price above 3000 yuan?").words
    assert "毫米" in t.translate("How many mm of rain fell?").words
    assert "美元" in t.translate("How many dollars did it cost?").words
