"""report.html read as an operator reads it (issue 22): plots wide enough with legible legends,
the area under each curve and the threshold on it, reliability bins with their counts, the
verdict worded as the statistics allow, precision and recall, and the promoted version beside
each figure. The page is parsed, the embedded PNGs decoded; the figures are read off matplotlib.
"""

from __future__ import annotations

import base64
import io
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import average_precision_score, roc_auc_score

from gregory.ml import gate
from gregory.ml.core import layout
from gregory.ml.evaluation import bootstrap, report
from gregory.ml.evaluation.metrics import classification_metrics

THRESHOLD = 0.8
RNG = np.random.default_rng(22)
# 53 test articles, as in the report.
Y = np.array([0, 1] * 26 + [0])
SCORES = np.clip(0.45 * Y + RNG.random(len(Y)) * 0.55, 0, 1)
# A comparison whose paired interval holds zero, the point estimate below it (as in the issue).
CMP_LABELS = np.array([0, 1] * 26)
_base = CMP_LABELS * 0.3 + np.linspace(0, 0.6, 52)
_noise = np.random.default_rng(0)
CMP_NEW = _base + _noise.normal(0, 0.25, 52)
CMP_CURRENT = _base + _noise.normal(0, 0.15, 52)


class Page(HTMLParser):
    """The parts of report.html the tests read: images, the table, the style, ids' text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.images: dict[str, bytes] = {}
        self.header: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self.by_id: dict[str, str] = {}
        self.style = ""
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._key: str | None = None
        self._id: str | None = None
        self._in_style = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "img" and attributes.get("src", "").startswith("data:image/png;base64,"):
            self.images[attributes["data-plot"]] = base64.b64decode(
                attributes["src"].split(",", 1)[1]
            )
        elif tag == "tr":
            self._row, self._key = [], attributes.get("data-key")
        elif tag in ("th", "td") and self._row is not None:
            self._cell = []
        elif tag == "style":
            self._in_style = True
        if "id" in attributes:
            self._id = attributes["id"]
            self.by_id[self._id] = ""

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._key is None:
                self.header = self._row
            else:
                self.rows[self._key] = self._row
            self._row = None
        elif tag == "style":
            self._in_style = False
        elif tag == "p":
            self._id = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_style:
            self.style += data
        if self._id is not None:
            self.by_id[self._id] += data


def _comparison(version="v1"):
    return gate.Comparison(version, CMP_LABELS, CMP_NEW, CMP_CURRENT)


def _metrics(**extra):
    metrics = {
        "algorithm": "lgbm_tfidf",
        "team": "demo",
        "subject": "ms",
        "version": "v2",
        "prob_threshold": THRESHOLD,
        "n_test": len(Y),
        "n_test_positive": int(Y.sum()),
        "score_scale": "raw",
        **classification_metrics(Y, SCORES, THRESHOLD, "test_"),
        **bootstrap.bootstrap_intervals(Y, SCORES, THRESHOLD),
    }
    decision = gate.decide(metrics["test_roc_auc"], 3, _comparison())
    metrics.update(decision.as_metrics(), gate_current_version="v1")
    metrics.update(extra)
    return metrics


def _write(tmp_path, metrics, comparison=None, raw=SCORES, previous: dict | None = None):
    algo_dir = tmp_path / "lgbm_tfidf"
    staging = algo_dir / ".staging-v2"
    staging.mkdir(parents=True)
    if previous is not None:
        (algo_dir / "v1").mkdir()
        (algo_dir / "v1" / layout.METRICS_FILE).write_text(json.dumps(previous))
    path = report.write_report(
        staging,
        metrics,
        {"train_loss": [0.7, 0.5, 0.4], "val_loss": [0.72, 0.6, 0.55]},
        labels={"test": Y},
        raw={"test": raw},
        calibrated={"test": SCORES},
        comparison=comparison,
    )
    return Page(path.read_text(encoding="utf-8"))


def test_every_embedded_plot_is_at_least_640_pixels_wide(tmp_path):
    page = _write(tmp_path, _metrics(), _comparison())
    assert set(page.images) == set(report.PLOTS)
    for name, png in page.images.items():
        width, height = Image.open(io.BytesIO(png)).size
        assert width >= 640 and height >= 480, (name, width, height)


@pytest.mark.parametrize(("kind", "area"), [("roc", "AUC"), ("pr", "AP")])
def test_curve_legends_name_the_area_in_readable_type(kind, area):
    with report.plt.rc_context(report.STYLE):
        fig = report.draw_curves(Y, SCORES, _comparison(), kind, THRESHOLD)
    legend = fig.axes[0].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    score = roc_auc_score if kind == "roc" else average_precision_score
    expected = [
        f"this version, test split ({area} {score(Y, SCORES):.3f})",
        f"this version, comparable articles (52) ({area} {score(CMP_LABELS, CMP_NEW):.3f})",
        f"promoted v1, comparable articles (52) ({area} {score(CMP_LABELS, CMP_CURRENT):.3f})",
        f"score ≥ {THRESHOLD}",
    ]
    assert texts == expected
    assert min(t.get_fontsize() for t in legend.get_texts()) >= 10
    report.plt.close(fig)


def test_the_threshold_is_a_dot_on_each_curve_where_its_articles_sit():
    fig = report.draw_curves(Y, SCORES, None, "roc", THRESHOLD)
    (dot,) = [line for line in fig.axes[0].get_lines() if line.get_gid() == "threshold"]
    flagged = SCORES >= THRESHOLD
    fpr = (flagged & (Y == 0)).sum() / (Y == 0).sum()
    tpr = (flagged & (Y == 1)).sum() / (Y == 1).sum()
    assert (dot.get_xdata()[0], dot.get_ydata()[0]) == pytest.approx((fpr, tpr))
    assert 0 < tpr < 1  # the data puts it on the curve's inside, not at a corner
    report.plt.close(fig)
    fig = report.draw_curves(Y, SCORES, None, "pr", THRESHOLD)
    (dot,) = [line for line in fig.axes[0].get_lines() if line.get_gid() == "threshold"]
    precision = (flagged & (Y == 1)).sum() / flagged.sum()
    assert (dot.get_xdata()[0], dot.get_ydata()[0]) == pytest.approx((tpr, precision))
    report.plt.close(fig)


def test_reliability_bins_hold_about_ten_articles_each_and_say_how_many():
    calibrated = np.clip(SCORES * 0.9 + 0.05, 0, 1)
    fig = report.draw_reliability(Y, SCORES, calibrated)
    ax = fig.axes[0]
    counts = [int(t.get_text().removeprefix("n=")) for t in ax.texts if t.get_text()[:2] == "n="]
    # Two lines (before and after calibration), 5 equal-count bins each over 53 articles.
    assert len(counts) == 10 and sum(counts) == 2 * len(Y)
    assert min(counts) >= 10
    assert "53 articles in 5 equal-count bins" in ax.get_title()
    report.plt.close(fig)
    # Raw scores served: one line, not two drawn on top of each other.
    fig = report.draw_reliability(Y, SCORES, SCORES)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["served scores (raw, not calibrated)"]
    report.plt.close(fig)


def test_the_table_has_precision_recall_and_the_promoted_version_beside_each_figure(tmp_path):
    previous = {"test_roc_auc": 0.912, "test_precision": 0.75, "test_recall": 0.5}
    metrics = _metrics()
    page = _write(tmp_path, metrics, _comparison(), previous=previous)
    assert page.header[:3] == ["metric (test split)", "this version", "95% CI"]
    assert page.header[3].startswith("promoted version v1")
    assert page.rows["test_precision"][1] == f"{metrics['test_precision']:.3f}"
    assert page.rows["test_recall"][1] == f"{metrics['test_recall']:.3f}"
    assert page.rows["test_precision"][3] == "0.750"
    assert page.rows["test_recall"][3] == "0.500"
    assert page.rows["test_roc_auc"][3] == "0.912"
    low, high = metrics["test_roc_auc_ci_low"], metrics["test_roc_auc_ci_high"]
    assert page.rows["test_roc_auc"][2] == f"{low:.3f} to {high:.3f}"
    # Missing in the older version's metrics.json: a dash, not a blank or an error.
    assert page.rows["test_f1"][3] == "—"


def test_no_previous_column_without_a_promoted_version(tmp_path):
    metrics = _metrics()
    del metrics["gate_current_version"]
    page = _write(tmp_path, metrics)
    assert len(page.header) == 3 and all(len(row) == 3 for row in page.rows.values())


def test_an_interval_holding_zero_reads_not_shown_to_be_worse():
    decision = gate.decide(0.9, 3, _comparison())
    point, low, high = bootstrap.paired_auc_difference(CMP_LABELS, CMP_NEW, CMP_CURRENT)
    assert point < 0 and low < 0 < high
    sign = lambda x: f"{x:+.3f}".replace("-", "\u2212")  # noqa: E731
    expected = (
        f"not shown to be worse than version v1 (roc_auc difference {sign(point)}, "
        f"95% CI {sign(low)} to {sign(high)}, on 52 articles)"
    )
    assert decision.decision == gate.DEPLOY
    assert decision.reasons[1] == expected == decision.figures["gate_comparison"]
    assert "not worse than" not in " ".join(decision.reasons)
    # An interval wholly above zero is a difference: better, beyond the noise.
    separating = CMP_LABELS * 0.6 + np.linspace(0, 0.3, len(CMP_LABELS))
    noise = np.random.default_rng(1).random(len(CMP_LABELS))
    better = gate.decide(0.9, 3, gate.Comparison("v1", CMP_LABELS, separating, noise))
    assert better.figures["gate_comparison"].startswith("better than version v1 (")


def test_the_headline_says_what_the_gate_did_and_the_code_word_is_not_giant(tmp_path):
    page = _write(tmp_path, _metrics(), _comparison())
    assert page.by_id["decision"] == "DEPLOY"
    assert page.by_id["headline"] == "Promoted: this version replaces version v1 for predictions."
    sizes = dict(re.findall(r"\.(decision|headline) \{[^}]*?font-size: ([\d.]+)em", page.style))
    assert float(sizes["decision"]) <= float(sizes["headline"]) <= 1.6


@pytest.mark.parametrize(
    ("decision", "served", "words"),
    [
        ("DEPLOY", None, "Promoted: the first version"),
        ("REVIEW", "v1", "Not promoted, a person decides (promote_version): version v1 stays"),
        ("FAIL", "v1", "Not promoted, failed the gate: version v1 stays the one predictions use"),
        ("FAIL", None, "predictions use the newest published version, this one"),
        ("SKIPPED", None, "Not compared (--no-gate)"),
    ],
)
def test_headline_in_plain_words(decision, served, words):
    metrics = {"decision": decision}
    if served:
        metrics["gate_current_version"] = served
    assert words in report.headline(metrics)


def test_text_from_data_stays_text(tmp_path):
    hostile = "<script>alert(1)</script>"
    metrics = _metrics(subject=hostile, decision_reasons=[f"reason {hostile}"])
    previous = {"test_roc_auc": hostile}
    # A `$…$` pair in a name would be drawn as mathtext, or fail to parse: drawn as typed.
    _write(tmp_path, metrics, _comparison("v$\\frac$1"), previous=None)
    path = tmp_path / "lgbm_tfidf" / ".staging-v2" / layout.REPORT_FILE
    page_text = path.read_text(encoding="utf-8")
    assert "<script>" not in page_text and "&lt;script&gt;" in page_text
    # A value read from the promoted version's metrics.json is escaped too.
    other = tmp_path / "other"
    page = _write(other, metrics, None, previous=previous)
    assert page.rows["test_roc_auc"][3] == hostile
    raw_html = (other / "lgbm_tfidf" / ".staging-v2" / layout.REPORT_FILE).read_text()
    assert "<script>" not in raw_html


def test_figures_before_calibration_are_shown_only_where_they_differ(tmp_path):
    metrics = _metrics(test_f1_uncalibrated=0.5, test_brier=0.1, test_brier_uncalibrated=0.1)
    metrics["test_f1"] = 0.6
    page = _write(tmp_path, metrics)
    assert page.rows["test_f1_uncalibrated"][1] == "0.500"
    assert "test_brier" in page.rows and "test_brier_uncalibrated" not in page.rows
