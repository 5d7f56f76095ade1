"""report.html as a browser renders it: headless chromium takes a screenshot of a real version's
report. CI installs no chromium, so there the test skips with the reason."""

from __future__ import annotations

import shutil
import subprocess
from io import StringIO

import pytest
from django.core.management import call_command
from PIL import Image

from gregory.ml.core import layout
from tests.support.articles import sample_as_import_csv

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(subject, tmp_path, models_dir):
    csv_path = sample_as_import_csv(tmp_path / "sample.csv")
    call_command("import_articles", str(csv_path), team="demo", subject="ms", stdout=StringIO())
    call_command(
        "train_models",
        "--team",
        "demo",
        "--algo",
        "lgbm_tfidf",
        "--version",
        "v1",
        "--verbose",
        "0",
        stdout=StringIO(),
    )
    report = layout.algorithm_dir("demo", "ms", "lgbm_tfidf") / "v1" / layout.REPORT_FILE
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1200,1600",
            f"--screenshot={shot}",
            report.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    image = Image.open(shot).convert("L")
    assert image.size == (1200, 1600)
    # Not a blank page: the plots and the decision put many grey levels on the page.
    histogram = image.histogram()
    assert sum(1 for count in histogram if count) > 50
    assert histogram[255] < 0.95 * image.size[0] * image.size[1]
