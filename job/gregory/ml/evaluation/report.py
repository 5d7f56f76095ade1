"""report.html and its PNG plots in each version directory, drawn headless (matplotlib's Agg).

The PNGs sit beside report.html and are also embedded in it (base64), so the file alone is
portable: it can be mailed or attached to a review without the directory.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend is chosen first)
import numpy as np  # noqa: E402
from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve  # noqa: E402

from gregory.ml.core import layout  # noqa: E402

PLOTS = ("roc", "pr", "reliability", "learning_curves", "confusion")
DPI = 80
BINS = 10
DECISION_COLOURS = {"DEPLOY": "#1a7f37", "REVIEW": "#9a6700", "FAIL": "#cf222e"}


def _figure() -> tuple[Any, Any]:
    fig, ax = plt.subplots(figsize=(4.8, 3.8), dpi=DPI)
    # Fixed margins: tight_layout measures every text and doubled the report's cost.
    fig.subplots_adjust(left=0.15, right=0.97, bottom=0.13, top=0.92)
    return fig, ax


def _save(fig, directory: Path, name: str) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    data = buffer.getvalue()
    (directory / f"{name}.png").write_bytes(data)
    return data


def _both_classes(y: np.ndarray) -> bool:
    return len(np.unique(y)) == 2


def _curves(directory: Path, y, new, comparison, kind: str) -> bytes:
    fig, ax = _figure()
    lines = [("this version, test split", y, new)]
    if comparison is not None and _both_classes(comparison.labels):
        label = f"comparable articles ({len(comparison.labels)})"
        lines.append((f"this version, {label}", comparison.labels, comparison.new))
        lines.append(
            (
                f"promoted {comparison.current_version}, {label}",
                comparison.labels,
                comparison.current,
            )
        )
    for text, labels, scores in lines:
        if not _both_classes(labels):
            continue
        if kind == "roc":
            x, yv, _ = roc_curve(labels, scores)
        else:
            yv, x, _ = precision_recall_curve(labels, scores)
        ax.plot(x, yv, label=text, drawstyle="steps-post" if kind == "pr" else "default")
    if kind == "roc":
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    else:
        ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    ax.legend(fontsize=7, loc="lower right" if kind == "roc" else "lower left")
    return _save(fig, directory, kind)


def _reliability(directory: Path, y, raw, calibrated) -> bytes:
    fig, ax = _figure()
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    edges = np.linspace(0, 1, BINS + 1)
    for label, prob in (("before calibration", raw), ("after calibration", calibrated)):
        index = np.minimum((np.asarray(prob) * BINS).astype(int), BINS - 1)
        filled = [b for b in range(BINS) if (index == b).any()]
        mean_prob = [float(np.mean(prob[index == b])) for b in filled]
        share = [float(np.mean(y[index == b])) for b in filled]
        ax.plot(mean_prob, share, marker="o", label=label)
    ax.set(
        xlabel="mean predicted probability",
        ylabel="share relevant",
        title="Reliability (test split)",
        xticks=edges[::2],
    )
    ax.legend(fontsize=7)
    return _save(fig, directory, "reliability")


def _learning_curves(directory: Path, history: dict) -> bytes:
    fig, ax = _figure()
    for name, values in history.items():
        if isinstance(values, list) and values:
            ax.plot(range(1, len(values) + 1), values, label=name)
    ax.set(xlabel="epoch / boosting round", ylabel="loss", title="Learning curves")
    ax.legend(fontsize=7)
    return _save(fig, directory, "learning_curves")


def _confusion(directory: Path, y, calibrated, threshold: float) -> bytes:
    matrix = confusion_matrix(y, (calibrated >= threshold).astype(int), labels=[0, 1])
    fig, ax = _figure()
    ax.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        ax.text(col, row, str(count), ha="center", va="center", color=colour, fontsize=14)
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["not relevant", "relevant"],
        yticklabels=["not relevant", "relevant"],
        xlabel=f"predicted (score ≥ {threshold})",
        ylabel="labelled",
        title="Confusion matrix (test split)",
    )
    return _save(fig, directory, "confusion")


def _figure_rows(metrics: dict) -> str:
    keys = (
        "test_roc_auc",
        "test_pr_auc",
        "test_f1",
        "test_f1_uncalibrated",
        "test_brier",
        "test_brier_uncalibrated",
        "test_ece",
        "test_ece_uncalibrated",
        "val_best_f1_threshold",
        "gate_roc_auc_diff",
    )
    rows = []
    for key in keys:
        if key not in metrics:
            continue
        value = metrics[key]
        cell = f"{value:.3f}" if isinstance(value, float) else html.escape(str(value))
        name = key.removesuffix("_uncalibrated")
        low, high = metrics.get(f"{name}_ci_low"), metrics.get(f"{name}_ci_high")
        if low is not None and key == name:
            cell += f" (95% CI {low:.3f}–{high:.3f})"
        rows.append(f"<tr><th>{html.escape(key)}</th><td>{cell}</td></tr>")
    return "\n".join(rows)


def _scale(metrics: dict) -> str:
    """score_scale and its reason; versions before the key name their calibration method."""
    scale = metrics.get("score_scale")
    if scale is None:
        return f"{metrics.get('calibration')} calibration"
    reason = metrics.get("score_scale_reason")
    return f"{scale} ({reason})" if reason else str(scale)


def _compared(metrics: dict, comparison: Any) -> str:
    if comparison is None:
        return "Not compared with a promoted version."
    return (
        f"Compared with promoted version {comparison.current_version} on "
        f"{len(comparison.labels)} test articles it never saw (curves on the same axes)."
    )


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
    pngs = {
        "roc": _curves(directory, y, calibrated["test"], comparison, "roc"),
        "pr": _curves(directory, y, calibrated["test"], comparison, "pr"),
        "reliability": _reliability(directory, y, raw["test"], calibrated["test"]),
        "learning_curves": _learning_curves(directory, history),
        "confusion": _confusion(directory, y, calibrated["test"], threshold),
    }
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
.decision {{ font-size: 3em; font-weight: bold; color: {colour}; margin: 0; }}
.reasons {{ font-size: 1.3em; }}
figure {{ display: inline-block; margin: 0.5em; }}
table {{ border-collapse: collapse; }} th, td {{ text-align: left; padding: 0.2em 0.8em; }}
</style></head><body>
<p class="decision" id="decision">{html.escape(decision)}</p>
<ul class="reasons">{reasons}</ul>
<h1>{html.escape(title)}</h1>
<p id="score-scale">Score scale: {html.escape(_scale(metrics))}; threshold {threshold};
test split of {metrics.get("n_test")} articles ({metrics.get("n_test_positive")} relevant).</p>
<p>{html.escape(_compared(metrics, comparison))}</p>
<table>{_figure_rows(metrics)}</table>
{images}
</body></html>
"""
    path = directory / layout.REPORT_FILE
    path.write_text(page, encoding="utf-8")
    return path
