"""Answer confidence as a probability: the reliability table, ECE and Brier, in metrics, report and console.
No model needed."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from test_report import SVG_NS, cards, make_metrics, mixed_outcomes, parse

from citeqa.eval import plots
from citeqa.eval.compare import SavedRun, metric_rows
from citeqa.eval.reliability import RIGHT_F1, bin_index, reliability
from citeqa.eval.report import render_html, render_markdown
from citeqa.eval.scoring import Outcome
from citeqa.eval.summary import headline_lines


def raw(confidence: float, f1: float, *, answerable: bool = True, answer: str | None = "a") -> Outcome:
    """A raw (unthresholded) outcome: only confidence, F1, answerability and the answer matter here."""
    return Outcome(
        id="q", question="?", answerable=answerable, gold=("x",) if answerable else (), answer=answer,
        confidence=confidence, f1=f1, em=float(f1 == 1.0), contains=f1 > 0, hit_rank=1, located=True,
        citation_exact=True, right_source=True, latency_ms=1.0, source=None, cited_source="d.txt", quote="a",
        answer_in_quote=(0, 1),
    )  # fmt: skip


def group(confidence: float, n: int, right: int) -> list[Outcome]:
    """n answers at one confidence, the first `right` of them right."""
    return [raw(confidence, 1.0 if i < right else 0.0) for i in range(n)]


def overconfident() -> dict[str, Any]:
    return reliability(group(0.9, 5, 2) + group(0.3, 5, 0))


def test_a_calibrated_confidence_has_no_expected_error() -> None:
    outcomes = group(0.25, 4, 1) + group(0.75, 4, 3) + group(0.95, 20, 19)
    table = reliability(outcomes)
    assert table["ece"] == pytest.approx(0.0, abs=1e-9)
    assert table["n"] == 28 and table["left_out"] == 0
    counted = {i: b for i, b in enumerate(table["bins"]) if b["count"]}
    assert sorted(counted) == [2, 7, 9]
    assert counted[7] == {"lo": 0.7, "hi": 0.8, "count": 4, "confidence": 0.75, "accuracy": 0.75}


def test_an_overconfident_set_has_the_hand_computed_ece_and_brier() -> None:
    # 5 answers at 0.9 with 2 right (gap 0.5) and 5 at 0.3 with none right (gap 0.3):
    # ECE = 0.5 * 0.5 + 0.5 * 0.3 = 0.4; Brier = (2 * 0.1² + 3 * 0.9² + 5 * 0.3²) / 10 = 0.29.
    table = overconfident()
    assert table["ece"] == pytest.approx(0.4)
    assert table["brier"] == pytest.approx(0.29)
    assert table["accuracy"] == pytest.approx(0.2) and table["confidence"] == pytest.approx(0.6)
    assert table["bins"][9]["accuracy"] == 0.4 and table["bins"][3]["accuracy"] == 0.0


def test_right_means_f1_at_the_bar_and_a_gold_answer_to_exist() -> None:
    outcomes = [
        raw(0.9, RIGHT_F1),  # right: at the bar
        raw(0.9, RIGHT_F1 - 0.01),  # wrong: just under it
        raw(0.9, 1.0, answerable=False),  # wrong: any answer to an unanswerable question, whatever its F1 says
    ]
    assert reliability(outcomes)["bins"][9]["accuracy"] == pytest.approx(1 / 3, abs=1e-4)


def test_outcomes_without_an_answer_or_a_finite_confidence_are_left_out() -> None:
    outcomes = [raw(0.0, 0.0, answer=None), raw(float("nan"), 1.0), raw(0.6, 1.0)]
    table = reliability(outcomes)
    assert table["n"] == 1 and table["left_out"] == 2
    assert [b["count"] for b in table["bins"]] == [0, 0, 0, 0, 0, 0, 1, 0, 0, 0]


def test_bin_edges_belong_to_the_bin_above_and_one_to_the_last() -> None:
    assert [bin_index(c, 10) for c in (0.0, 0.1, 0.3, 0.7, 0.999, 1.0)] == [0, 1, 3, 7, 9, 9]
    assert [bin_index(c, 4) for c in (-0.5, 0.25, 1.5)] == [0, 1, 3]


def test_no_answers_give_empty_bins_and_no_scores() -> None:
    table = reliability([], bins=5)
    assert table["ece"] is None and table["brier"] is None and table["n"] == 0
    assert [(b["lo"], b["hi"], b["count"], b["accuracy"]) for b in table["bins"]][-1] == (0.8, 1.0, 0, None)
    with pytest.raises(ValueError, match="bins"):
        reliability([], bins=0)


def test_the_table_is_json_as_metrics_json_holds_it() -> None:
    table = overconfident()
    assert json.loads(json.dumps(table)) == table


def metrics_with_reliability() -> dict[str, Any]:
    return make_metrics(reliability=overconfident())


def test_the_report_draws_the_diagram_and_states_the_ece() -> None:
    html = render_html(metrics_with_reliability(), mixed_outcomes())
    page = parse(html)
    text = "".join(page.text)
    assert "Reliability (ECE 0.400)" in text
    assert "Confidence calibration: ECE 0.400, Brier 0.290 over 10 answers (right: token F1 ≥ 0.5)." in text
    assert cards(html)["ECE"] == "0.400" and cards(html)["Brier score"] == "0.290"
    assert "10 answers" in html
    md = render_markdown(metrics_with_reliability(), mixed_outcomes())
    assert "- Confidence calibration: ECE 0.400, Brier 0.290 over 10 answers (right: token F1 ≥ 0.5)." in md
    assert "| Confidence | ECE | 0.400 |" in md


def test_a_run_without_a_reliability_table_still_renders() -> None:
    old = make_metrics()
    assert "reliability" not in old
    html = render_html(old, mixed_outcomes())
    page = parse(html)
    assert "Reliability" not in "".join(page.text) and cards(html)["ECE"] == "–"
    assert "Confidence calibration" not in render_markdown(old, mixed_outcomes())
    assert page.tags.count("svg") == render_html(metrics_with_reliability(), mixed_outcomes()).count("<svg") - 1


def test_a_malformed_reliability_table_is_drawn_from_what_is_whole() -> None:
    table: dict[str, Any] = {"ece": "high", "bins": [None, {"lo": 0.5, "hi": 0.6, "count": 3}, {"lo": 0.9}]}
    html = render_html(make_metrics(reliability=table), [])
    assert "no data" in "".join(parse(html).text)  # the one whole bin has no accuracy to draw
    assert "Confidence calibration" not in html
    render_html(make_metrics(reliability=[1, 2]), [])


def test_the_diagram_is_standalone_xml_with_a_bar_per_counted_bin() -> None:
    bins = [plots.ReliabilityBin(**b) for b in overconfident()["bins"]]
    svg = plots.reliability_diagram(bins, 'Reliability <&> "x"')
    root = ET.fromstring(svg)
    assert root.tag == f"{{{SVG_NS}}}svg"
    tips = [t.text or "" for t in root.iter(f"{{{SVG_NS}}}title")][1:]
    assert tips == [
        "0.3–0.4: 5 answers, 0% right, mean confidence 0.30",
        "0.9–1: 5 answers, 40% right, mean confidence 0.90",
    ]
    key_xs = {e.get("x") or e.get("x1") for e in root if e.tag in (f"{{{SVG_NS}}}rect", f"{{{SVG_NS}}}line")}
    for name in ("share right", "mean confidence", "perfect calibration"):
        label = next(e for e in root if e.text == name)
        assert f"{float(label.get('x', 0)) - 14:.1f}" in key_xs  # each legend key stands just before its name
    assert "no data" in plots.reliability_diagram([], "empty")


def test_the_console_summary_has_a_calibration_line_when_the_run_has_one() -> None:
    lines = headline_lines(metrics_with_reliability())
    assert "calibration ece 0.400  brier 0.290  (10 answers)" in lines
    assert lines[-1].startswith("speed")
    assert not any(line.startswith("calibration") for line in headline_lines(make_metrics()))


def test_compare_diffs_the_calibration_numbers() -> None:
    before = SavedRun(Path("a"), make_metrics(), {})
    after = SavedRun(Path("b"), metrics_with_reliability(), {})
    rows = {name: (x, y) for name, x, y in metric_rows(before, after)}
    assert rows["reliability.ece"] == (None, 0.4)
    assert "reliability.bins" not in rows
