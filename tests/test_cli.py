"""The command line, run in-process against the session's index."""

from __future__ import annotations

import json

import pytest

from rag.cli import main

pytestmark = pytest.mark.integration


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_ask_prints_a_cited_snippet(assistant, capsys):
    code, out, _ = run(capsys, "ask", "安唐保是为哪类患者设计的？", "--index",
                       str(assistant.index_dir))
    assert code == 0
    assert "[1]" in out and "糖尿病" in out
    assert "慧医天下牵手阿里健康" in out and "000_b3be6aaf6ae97e79" in out


def test_ask_refuses_out_of_corpus_questions(assistant, capsys):
    code, out, _ = run(capsys, "ask", "今天北京天气怎么样？", "--index", str(assistant.index_dir))
    assert code == 0 and "语料中没有找到答案" in out and "[1]" not in out


def test_ask_json_has_offsets_that_slice_the_document(assistant, capsys):
    code, out, _ = run(capsys, "ask", "慧医天下的CEO是谁？", "--json", "--index",
                       str(assistant.index_dir))
    data = json.loads(out)
    assert code == 0 and data["answered"]
    for snip in data["snippets"]:
        text = assistant.document(snip["doc_id"]).text
        assert text[snip["start"]:snip["end"]] == snip["text"]


def test_search_json_and_filters(assistant, capsys):
    code, out, _ = run(capsys, "search", "互联网医院", "-k", "3", "--json", "--source", "新华网",
                       "--index", str(assistant.index_dir))
    hits = json.loads(out)
    assert code == 0 and hits and {h["doc_id"] for h in hits} == {"000_b3be6aaf6ae97e79"}


def test_search_with_a_source_no_article_has_says_so(assistant, capsys):
    """A mistyped source printed only "No results." (``ask`` named the filter)."""
    code, out, _ = run(capsys, "search", "互联网医院", "--source", "新华社网",
                       "--index", str(assistant.index_dir))
    assert code == 0 and "No document matches the filters" in out and "新华社网" in out
    assert "新华网" in out  # the sources the index has


def test_search_json_with_a_source_no_article_has_names_it_on_stderr(assistant, capsys):
    """``--json`` printed ``[]`` alone: a script could not tell a typo from no results."""
    code, out, err = run(capsys, "search", "互联网医院", "--source", "新华社网", "--json",
                         "--index", str(assistant.index_dir))
    assert code == 0 and json.loads(out) == []  # stdout stays valid JSON
    assert "No document matches the filters" in err and "新华社网" in err


@pytest.mark.parametrize("question", ["", "   ", "长" * 10_001])
def test_bad_questions_exit_non_zero_with_a_message(assistant, capsys, question):
    code, out, err = run(capsys, "ask", question, "--index", str(assistant.index_dir))
    assert code == 2 and out == "" and err.startswith("error:")


def test_missing_index_and_corpus_are_clear_errors(capsys, tmp_path):
    code, _, err = run(capsys, "doc", "x", "--index", str(tmp_path / "idx"), "--corpus",
                       str(tmp_path / "nope"))
    assert code == 2 and "does not exist" in err


def test_doc_prints_the_clean_article(assistant, capsys):
    code, out, _ = run(capsys, "doc", "003_088a84496fb6fbd1", "--index", str(assistant.index_dir))
    assert code == 0 and "京东健康和济爱医疗达成战略合作" in out and "<p" not in out
    code, _, err = run(capsys, "doc", "nope", "--index", str(assistant.index_dir))
    assert code == 2 and "nope" in err
