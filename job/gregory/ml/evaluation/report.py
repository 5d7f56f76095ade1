"""report.html and its PNG plots in each version directory, drawn headless (matplotlib's Agg).

The PNGs sit beside report.html and are also embedded in it (base64), so the file alone is
portable: it can be mailed or attached to a review without the directory.

The `draw_*` functions return the figure, so tests read legends and markers off it; `_save`
turns it into PNG bytes and a file.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend is chosen first)
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.typing import RcKeyType  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    auc,
    average_precision_score,
    confusion_matrix,
    precision_recall_curve,
    roc_curve,
)

from gregory.ml.core import layout  # noqa: E402

PLOTS = ("roc", "pr", "reliability", "learning_curves", "confusion")
# 6.4 × 4.8 in at 100 dpi: 640 × 480 px, readable at a page's width without zooming.
FIGSIZE = (6.4, 4.8)
DPI = 100
LEGEND_PT = 10
STYLE: dict[RcKeyType, Any] = {"font.size": 11, "axes.titlesize": 13, "legend.fontsize": LEGEND_PT}
# Reliability bins hold about this many test articles each (equal-count bins), at most MAX_BINS:
# ~50 articles give 5 points of ~10, where 10 equal-width bins drew points from one article.
ARTICLES_PER_BIN = 10
MAX_BINS = 10
DECISION_COLOURS = {"DEPLOY": "#1a7f37", "REVIEW": "#9a6700", "FAIL": "#cf222e"}
# (metrics.json key, label); the interval keys are `<key>_ci_low`/`_ci_high` where recorded.
TABLE_ROWS = (
    ("test_roc_auc", "ROC-AUC"),
    ("test_pr_auc", "PR-AUC (average precision)"),
    ("test_precision", "precision at the threshold"),
    ("test_recall", "recall at the threshold"),
    ("test_f1", "F1 at the threshold"),
    ("test_accuracy", "accuracy at the threshold"),
    ("test_f1_uncalibrated", "F1, scores before calibration"),
    ("test_brier", "Brier score (lower is better)"),
    ("test_brier_uncalibrated", "Brier score before calibration"),
    ("test_ece", "expected calibration error"),
    ("test_ece_uncalibrated", "expected calibration error before calibration"),
    ("val_best_f1_threshold", "best-F1 cut-off on validation (not applied)"),
    ("gate_roc_auc_diff", "ROC-AUC difference with the promoted version, same articles"),
)


def _plain(label: str) -> str:
    """A label from data drawn as typed: a `$` would start matplotlib's mathtext."""
    return label.replace("$", r"\$")


def _figure() -> tuple[Figure, Any]:
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    # Fixed margins: tight_layout measures every text and doubled the report's cost.
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.12, top=0.92)
    return fig, ax


def _save(fig: Figure, directory: Path, name: str) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
    plt.close(fig)
    data = buffer.getvalue()
    (directory / f"{name}.png").write_bytes(data)
    return data


def _both_classes(y: np.ndarray) -> bool:
    return len(np.unique(y)) == 2


def _threshold_point(labels, scores, threshold: float, kind: str) -> tuple[float, float] | None:
    """Where the articles scored at or above the threshold sit on the curve: (FPR, TPR) for ROC,
    (recall, precision) for PR; None on PR when nothing is flagged (precision undefined)."""
    y = np.asarray(labels, dtype=int)
    flagged = np.asarray(scores) >= threshold
    tp, fp = int((flagged & (y == 1)).sum()), int((flagged & (y == 0)).sum())
    recall = tp / int(y.sum())
    if kind == "roc":
        return fp / int((y == 0).sum()), recall
    return (recall, tp / (tp + fp)) if tp + fp else None


def draw_curves(y, new, comparison, kind: str, threshold: float) -> Figure:
    """ROC or PR curves: this version on its test split and, when compared, both versions on the
    comparable articles; the area in each legend entry and a dot where each crosses the
    threshold."""
    fig, ax = _figure()
    lines = [("this version, test split", y, new)]
    if comparison is not None and _both_classes(comparison.labels):
        label = f"comparable articles ({len(comparison.labels)})"
        lines.append((f"this version, {label}", comparison.labels, comparison.new))
        lines.append(
            (
                _plain(f"promoted {comparison.current_version}, {label}"),
                comparison.labels,
                comparison.current,
            )
        )
    dots = 0
    for text, labels, scores in lines:
        if not _both_classes(labels):
            continue
        if kind == "roc":
            x, yv, _ = roc_curve(labels, scores)
            area = f"AUC {auc(x, yv):.3f}"
        else:
            yv, x, _ = precision_recall_curve(labels, scores)
            area = f"AP {average_precision_score(labels, scores):.3f}"
        drawn = ax.plot(
            x,
            yv,
            label=f"{text} ({area})",
            drawstyle="steps-post" if kind == "pr" else "default",
        )
        point = _threshold_point(labels, scores, threshold, kind)
        if point is not None:
            ax.plot(*point, marker="o", markersize=9, color=drawn[0].get_color(), gid="threshold")
            dots += 1
    handles, _ = ax.get_legend_handles_labels()
    if dots:
        # One legend entry for every dot: the same meaning on each curve.
        handles.append(
            Line2D([], [], marker="o", color="black", linestyle="", label=f"score ≥ {threshold}")
        )
    if kind == "roc":
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    else:
        ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    ax.legend(handles=handles, loc="lower right" if kind == "roc" else "lower left")
    return fig


def _equal_count_bins(prob: np.ndarray) -> list[np.ndarray]:
    """Article indices per bin, sorted by score, bins of about ARTICLES_PER_BIN articles."""
    n_bins = int(np.clip(len(prob) // ARTICLES_PER_BIN, 1, MAX_BINS))
    order = np.argsort(prob, kind="mergesort")
    return [part for part in np.array_split(order, n_bins) if len(part)]


def draw_reliability(y, raw, calibrated) -> Figure:
    """Share relevant against mean score in equal-count bins, each point labelled with its n;
    one line when the served scores are the raw ones."""
    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    y, raw, calibrated = np.asarray(y), np.asarray(raw), np.asarray(calibrated)
    if np.array_equal(raw, calibrated):
        series = [("served scores (raw, not calibrated)", raw)]
    else:
        series = [("before calibration", raw), ("after calibration", calibrated)]
    n_bins = 0
    for label, prob in series:
        bins = _equal_count_bins(prob)
        n_bins = len(bins)
        mean_prob = [float(prob[b].mean()) for b in bins]
        share = [float(y[b].mean()) for b in bins]
        drawn = ax.plot(mean_prob, share, marker="o", label=label)
        for x, value, members in zip(mean_prob, share, bins, strict=True):
            ax.annotate(
                f"n={len(members)}",
                (x, value),
                textcoords="offset points",
                xytext=(4, 6),
                fontsize=9,
                color=drawn[0].get_color(),
            )
    ax.set(
        xlabel="mean score in the bin",
        ylabel="share relevant",
        title=f"Reliability (test split, {len(y)} articles in {n_bins} equal-count bins)",
        xlim=(-0.02, 1.05),
        ylim=(-0.02, 1.08),
    )
    ax.title.set_fontsize(11)
    ax.legend(loc="upper left")
    return fig


def draw_learning_curves(history: dict) -> Figure:
    fig, ax = _figure()
    for name, values in history.items():
        if isinstance(values, list) and values:
            ax.plot(range(1, len(values) + 1), values, label=_plain(str(name)))
    ax.set(xlabel="epoch / boosting round", ylabel="loss", title="Learning curves")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    return fig


def draw_confusion(y, calibrated, threshold: float) -> Figure:
    matrix = confusion_matrix(y, (calibrated >= threshold).astype(int), labels=[0, 1])
    fig, ax = _figure()
    ax.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        ax.text(col, row, str(count), ha="center", va="center", color=colour, fontsize=16)
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["not relevant", "relevant"],
        yticklabels=["not relevant", "relevant"],
        xlabel=f"predicted (score ≥ {threshold})",
        ylabel="labelled",
        title="Confusion matrix (test split)",
    )
    return fig


def previous_metrics(directory: Path, metrics: dict) -> tuple[str, dict] | None:
    """The promoted version the gate looked at and its metrics.json, read beside `directory`
    (staging sits in the algorithm's directory, with the published versions); None when there
    is none or it cannot be read (the gate's reasons say why)."""
    version = metrics.get("gate_current_version")
    if not isinstance(version, str) or not version:
        return None
    try:
        recorded = json.loads((Path(directory).parent / version / layout.METRICS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return (version, recorded) if isinstance(recorded, dict) else None


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return "—" if not np.isfinite(value) else f"{value:.3f}"
    return html.escape(str(value))


def _interval(metrics: dict, key: str) -> str:
    low, high = metrics.get(f"{key}_ci_low"), metrics.get(f"{key}_ci_high")
    if not isinstance(low, float) or not isinstance(high, float):
        return ""
    if key == "gate_roc_auc_diff":
        return f"{_signed(low)} to {_signed(high)}"
    return f"{low:.3f} to {high:.3f}"


def _table(metrics: dict, previous: tuple[str, dict] | None) -> str:
    """Metric, this version, its 95% interval and, when there is one, the promoted version's
    figure from its own metrics.json (its own test split)."""
    head = "<tr><th>metric (test split)</th><th>this version</th><th>95% CI</th>"
    if previous is not None:
        head += (
            f'<th class="previous">promoted version {html.escape(previous[0])}'
            "<br><small>on its own test split</small></th>"
        )
    rows = [head + "</tr>"]
    for key, label in TABLE_ROWS:
        if key not in metrics:
            continue
        value = metrics[key]
        if key.endswith("_uncalibrated") and value == metrics.get(
            key.removesuffix("_uncalibrated")
        ):
            continue  # raw scores served: the same figure twice says nothing
        cell = _signed(value) if key == "gate_roc_auc_diff" else _cell(value)
        row = (
            f'<tr data-key="{key}"><th>{html.escape(label)}</th><td>{cell}</td>'
            f"<td>{_interval(metrics, key)}</td>"
        )
        if previous is not None:
            theirs = None if key.startswith("gate_") else previous[1].get(key)
            row += f'<td class="previous">{_cell(theirs)}</td>'
        rows.append(row + "</tr>")
    return "\n".join(rows)


def _signed(value: Any) -> str:
    """+0.100 / −0.039, with a real minus sign."""
    if not isinstance(value, float) or not np.isfinite(value):
        return _cell(value)
    return f"{value:+.3f}".replace("-", "\u2212")


def _scale(metrics: dict) -> str:
    """score_scale and its reason; versions before the key name their calibration method."""
    scale = metrics.get("score_scale")
    if scale is None:
        return f"{metrics.get('calibration')} calibration"
    reason = metrics.get("score_scale_reason")
    return f"{scale} ({reason})" if reason else str(scale)


def _compared(comparison: Any) -> str:
    if comparison is None:
        return "Not compared with a promoted version."
    return (
        f"Compared with promoted version {comparison.current_version} on "
        f"{len(comparison.labels)} test articles it never saw (curves on the same axes)."
    )


def headline(metrics: dict) -> str:
    """What the gate's decision does, in plain words (the reasons below say why)."""
    decision = metrics.get("decision", "")
    served = metrics.get("gate_current_version")
    # Without a current.json pointer prediction takes the newest published version: this one.
    kept = (
        f"version {served} stays the one predictions use"
        if served
        else "no promoted version was found, and without a current.json pointer predictions "
        "use the newest published version, this one, until promote_version names one"
    )
    if decision == "DEPLOY":
        if served:
            return f"Promoted: this version replaces version {served} for predictions."
        return "Promoted: the first version of this algorithm for the subject, now used."
    if decision == "REVIEW":
        return f"Not promoted, a person decides (promote_version): {kept}."
    if decision == "FAIL":
        return f"Not promoted, failed the gate: {kept}."
    if decision == "SKIPPED":
        return "Not compared (--no-gate): the current pointer was left where it was."
    return "No gate decision recorded."


def write_report(
    directory: Path,
    metrics: dict,
    history: dict,
    labels: dict,
    raw: dict,
    calibrated: dict,
    comparison: Any = None,
) -> Path:
    """Draw every plot into `directory` and write report.html embedding them."""
    directory = Path(directory)
    y, threshold = np.asarray(labels["test"], dtype=int), float(metrics["prob_threshold"])
    test = calibrated["test"]
    with plt.rc_context(STYLE):
        figures = {
            "roc": draw_curves(y, test, comparison, "roc", threshold),
            "pr": draw_curves(y, test, comparison, "pr", threshold),
            "reliability": draw_reliability(y, raw["test"], test),
            "learning_curves": draw_learning_curves(history),
            "confusion": draw_confusion(y, test, threshold),
        }
        pngs = {name: _save(fig, directory, name) for name, fig in figures.items()}
    decision = metrics.get("decision", "")
    colour = DECISION_COLOURS.get(decision, "#57606a")
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in metrics.get("decision_reasons", []))
    images = "\n".join(
        f'<figure><img data-plot="{name}" alt="{name}" '
        f'src="data:image/png;base64,{base64.b64encode(data).decode()}">'
        f'<figcaption><a href="{name}.png">{name}.png</a></figcaption></figure>'
        for name, data in pngs.items()
    )
    title = (
        f"{metrics['algorithm']} {metrics['team']}/{metrics['subject']} "
        f"version {metrics['version']}"
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
.decision {{ display: inline-block; font-size: 1.1em; font-weight: bold; color: white;
  background: {colour}; padding: 0.1em 0.6em; border-radius: 0.3em; margin: 0; }}
.headline {{ font-size: 1.5em; margin: 0.4em 0; }}
.reasons {{ font-size: 1.1em; }}
figure {{ display: inline-block; margin: 0.5em; }}
table {{ border-collapse: collapse; }}
th, td {{ text-align: left; padding: 0.2em 0.8em; border-bottom: 1px solid #d0d7de; }}
td {{ font-variant-numeric: tabular-nums; }}
</style></head><body>
<p class="decision" id="decision">{html.escape(decision)}</p>
<p class="headline" id="headline">{html.escape(headline(metrics))}</p>
<ul class="reasons">{reasons}</ul>
<h1>{html.escape(title)}</h1>
<p id="score-scale">Score scale: {html.escape(_scale(metrics))}; threshold {threshold};
test split of {metrics.get("n_test")} articles ({metrics.get("n_test_positive")} relevant).</p>
<p>{html.escape(_compared(comparison))}</p>
<table id="metrics">{_table(metrics, previous_metrics(directory, metrics))}</table>
{images}
</body></html>
"""
    path = directory / layout.REPORT_FILE
    path.write_text(page, encoding="utf-8")
    return path
