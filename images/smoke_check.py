"""Host-side checks after the image smoke run: artifacts on the volume and the run log row."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import django

EXPECTED = {
    "lgbm_tfidf": ("lgbm_classifier.joblib", "tfidf_vectorizer.joblib", "metrics.json"),
}


def main(models: str, team: str, subject: str, algo: str, triggered_by: str) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "job"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gregory_train.settings")
    django.setup()
    from gregory.models import PredictionRunLog

    algo_dir = Path(models) / team / subject / algo
    versions = sorted(p for p in algo_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert versions, f"no published version under {algo_dir}"
    newest = versions[-1]
    missing = [name for name in EXPECTED[algo] if not (newest / name).is_file()]
    assert not missing, f"{newest} lacks {missing}"
    metrics = json.loads((newest / "metrics.json").read_text())
    rows = PredictionRunLog.objects.filter(triggered_by=triggered_by, run_type="train")
    assert rows.count() == 1, f"expected one run log row by {triggered_by}, found {rows.count()}"
    row = rows.get()
    assert row.success is True, f"run log row not successful: {row.error_message}"
    assert row.model_version == newest.name, (row.model_version, newest.name)
    print(f"smoke ok: {newest} ({', '.join(sorted(metrics)[:5])}…), run log row {row.pk}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
