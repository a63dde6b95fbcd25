"""Short-answer EM/F1 as the official CMRC 2018 script computes them."""

from __future__ import annotations

import pytest

from rag.reader.span_metrics import exact_match, f1, segment

pytestmark = pytest.mark.unit


def test_mixed_segmentation():
    assert segment("COVID-19疫情，2020年") == ["covid", "19", "疫", "情", "2020", "年"]


@pytest.mark.parametrize(
    ("pred", "golds", "em", "f1_"),
    [
        ("北京大学", ["北京大学"], 1.0, 1.0),
        ("《红楼梦》", ["红楼梦"], 1.0, 1.0),
        ("在北京大学", ["北京大学"], 0.0, 2 * 0.8 * 1.0 / 1.8),
        ("北京", ["北京大学", "北京"], 1.0, 1.0),
        ("上海", ["北京大学"], 0.0, 0.0),
        ("", ["北京"], 0.0, 0.0),
        # longest common *substring*, not subsequence: 北京 | 大学 split by 的
        ("北京的大学", ["北京大学"], 0.0, 2 * (2 / 5) * (2 / 4) / ((2 / 5) + (2 / 4))),
    ],
)
def test_em_and_f1(pred, golds, em, f1_):
    assert exact_match(pred, golds) == em
    assert f1(pred, golds) == pytest.approx(f1_)
