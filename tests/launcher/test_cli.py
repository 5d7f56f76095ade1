"""`gregory-launch status|logs` for scripts and pipes: JSON, exit statuses, stderr, usage."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest

from launcher.cli import main
from tests.support.launcher import (
    PUBLISHED_METRICS,
    add_row,
    make_scope,
    publish_version,
    write_run,
)

OK, FAILED, LOST = "demo-all-0102-aaaa", "demo-all-0102-bbbb", "demo-all-0102-cccc"


@pytest.fixture
def registry(transactional_db, launcher_dir: Path) -> Path:
    make_scope("demo", "ms-research", "ms-imaging")
    make_scope("a-much-longer-team", "x")
    write_run(launcher_dir, OK, log="Started\nFinished\n")
    write_run(launcher_dir, FAILED, returncode=1, log="Started\nFailed\n")
    write_run(launcher_dir, LOST, returncode=None, log="Started\n")
    add_row("demo", "ms-research", triggered_by=OK)
    add_row("demo", "ms-imaging", triggered_by=FAILED, success=False, error="E: x\nhint")
    add_row("a-much-longer-team", "x", triggered_by="by-hand")
    return launcher_dir


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = main(["--backend", "local", *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_status_json_lists_every_run_with_its_rows(registry) -> None:
    code, out, err = run(["status", "-o", "json"])
    assert code == 0
    assert err.startswith("backend: local")
    data = json.loads(out)
    runs = {r["name"]: r for r in data["runs"]}
    assert set(runs) == {OK, FAILED, LOST}
    assert runs[FAILED]["state"] == "failed"
    (row,) = runs[FAILED]["rows"]
    assert (row["outcome"], row["error"], row["error_message"]) == ("failed", "E: x", "E: x\nhint")
    assert [r["triggered_by"] for r in data["other_rows"]] == ["by-hand"]
    assert data["database_error"] is None
    code, out, _ = run(["status", OK, "-o", "json"])
    assert [r["name"] for r in json.loads(out)["runs"]] == [OK]


def columns(out: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header's names and each line cut at the header's column starts."""
    header, *lines = out.splitlines()
    names = header.split("  ")
    names = [name.strip() for name in names if name.strip()]
    starts = [header.index(name) for name in names]
    ends = [*starts[1:], None]
    return names, [
        {name: line[a:b].strip() for name, a, b in zip(names, starts, ends, strict=True)}
        for line in lines
    ]


def test_status_has_a_header_aligned_columns_and_each_rows_roc_auc(registry, models_dir) -> None:
    publish_version(models_dir, "lgbm_tfidf", "20260102", PUBLISHED_METRICS)
    add_row("demo", "ms-research", triggered_by="train_models")  # `manage.py train_models`
    _, out, _ = run(["status"])
    names, lines = columns(out)
    assert names[:6] == ["RUN", "STATE", "TEAM/SUBJECT", "ALGORITHM", "OUTCOME", "TEST ROC-AUC"]
    by_run = {line["RUN"]: line for line in lines}
    # A row of a launcher run and a row started by hand both show their version's ROC-AUC.
    assert by_run[OK]["TEST ROC-AUC"] == "0.912 [0.880-0.940]"
    assert by_run["train_models"]["TEST ROC-AUC"] == "0.912 [0.880-0.940]"
    assert by_run["train_models"]["STATE"] == "-"  # no run of this launcher
    assert by_run["by-hand"]["TEST ROC-AUC"] == "-"  # its version is not on this disk
    assert by_run["by-hand"]["TEAM/SUBJECT"] == "a-much-longer-team/x"
    assert by_run[FAILED]["ERROR"] == "E: x"
    assert by_run[LOST]["STATE"] == "lost"
    _, wide, _ = run(["status", "-o", "wide"])
    names, lines = columns(wide)
    (by_hand,) = [line for line in lines if line["RUN"] == "by-hand"]
    assert (by_hand["DURATION"], by_hand["BY"]) == ("3m00s", "by-hand")
    _, out, _ = run(["status", "-o", "json"])
    data = json.loads(out)
    other = {row["triggered_by"]: row for row in data["other_rows"]}["train_models"]
    assert (other["test_roc_auc"], other["test_roc_auc_ci_low"]) == (0.912, 0.88)


def test_status_filters_by_team_state_and_limit(registry) -> None:
    _, out, _ = run(["status", "--team", "a-much-longer-team"])
    assert [line["RUN"] for line in columns(out)[1]] == ["by-hand"]
    _, out, _ = run(["status", "--state", "failed"])
    assert [line["RUN"] for line in columns(out)[1]] == [FAILED]
    _, out, _ = run(["status", "--state", "succeeded", "-o", "json"])
    data = json.loads(out)
    # ok and succeeded are one: the succeeded run, and the row started by hand that went ok.
    assert [r["name"] for r in data["runs"]] == [OK]
    assert [r["triggered_by"] for r in data["other_rows"]] == ["by-hand"]
    _, out, _ = run(["status", "--limit", "1", "-o", "json"])
    assert len(json.loads(out)["runs"]) == 1
    with pytest.raises(SystemExit) as exit_status:
        run(["status", "--state", "nope"])
    assert exit_status.value.code == 2


def test_history_lists_every_row_with_its_roc_auc(registry, models_dir) -> None:
    publish_version(models_dir, "lgbm_tfidf", "20260102", PUBLISHED_METRICS)
    add_row("demo", "ms-research", triggered_by="train_models")  # `manage.py train_models`
    code, out, _ = run(["history", "-o", "json"])
    assert code == 0
    rows = json.loads(out)["rows"]
    assert len(rows) == 4  # every PredictionRunLog row, whoever started it
    by_trigger = {row["triggered_by"]: row for row in rows}
    assert by_trigger["train_models"]["test_roc_auc"] == 0.912
    assert by_trigger["train_models"]["run"] is None and by_trigger[OK]["run"] == OK
    assert by_trigger[FAILED]["outcome"] == "failed"
    assert by_trigger[FAILED]["test_roc_auc"] is None
    _, out, _ = run(["history"])
    names, lines = columns(out)
    assert names[:3] == ["ID", "STARTED", "TEAM/SUBJECT"]
    assert {line["TEST ROC-AUC"] for line in lines} == {"0.912 [0.880-0.940]", "-"}
    _, out, _ = run(["history", "--state", "failed", "--team", "demo"])
    assert [line["TEAM/SUBJECT"] for line in columns(out)[1]] == ["demo/ms-imaging"]
    _, out, _ = run(["history", "subject:imaging", "-o", "json"])
    assert [row["subject"] for row in json.loads(out)["rows"]] == ["ms-imaging"]
    code, out, err = run(["history", "aglo:lstm"])
    assert (code, out) == (2, "")
    assert "gregory-launch: error: unknown key aglo (keys: team, subject, algo," in err


@pytest.mark.parametrize(
    ("name", "code", "last"),
    [
        (OK, 0, f"--- {OK}: succeeded"),
        (FAILED, 1, f"--- {FAILED}: failed: exit 1 (a run failed)"),
        (LOST, 1, f"--- {LOST}: lost: process gone without an exit status"),
    ],
)
def test_logs_exits_with_the_runs_outcome_and_says_it_last(registry, name, code, last) -> None:
    status, out, _ = run(["logs", name])
    assert status == code
    assert out.splitlines()[0] == "Started"
    assert out.splitlines()[-1] == last


def test_a_repeated_option_is_a_one_line_usage_error(registry) -> None:
    code, out, err = run(["submit", "--dry-run", "--team", "demo", "--subject", "a", "--subject=b"])
    assert (code, out) == (2, "")
    assert err == "gregory-launch: error: --subject given 2 times (a, b); give it once\n"


class ClosedPipe(StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError


def test_status_into_a_closed_pipe_exits_0(registry) -> None:
    assert main(["--backend", "local", "status"], out=ClosedPipe(), err=StringIO()) == 0


def test_no_such_run_and_a_failed_run_exit_differently(registry) -> None:
    from launcher.errors import NO_SUCH_RUN

    for argv in (["logs", "nope"], ["status", "nope"], ["cancel", "nope"]):
        code, out, err = run(argv)
        assert (code, out) == (NO_SUCH_RUN, ""), argv
        assert err.splitlines()[-1].startswith("gregory-launch: error: no run named 'nope'")
    assert run(["logs", FAILED])[0] == 1 != NO_SUCH_RUN


def test_help_documents_the_exit_statuses_with_examples(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "  3    no run of that name (logs, status, cancel)" in text
    assert "  130  Ctrl+C: detached from a followed run, which goes on" in text
    assert "gregory-launch logs RUN; echo $?" in text


def test_a_cancelled_runs_footer_says_cancelled_once(registry) -> None:
    name = "demo-all-0102-dddd"
    write_run(registry, name, returncode=143, log="Started\n")
    (registry / "runs" / name / "cancelled").touch()
    code, out, _ = run(["logs", name])
    assert code == 1
    assert out.splitlines()[-1] == f"--- {name}: cancelled (exit 143)"


def test_status_says_when_there_is_nothing_to_show(transactional_db, launcher_dir) -> None:
    make_scope("demo", "ms-research")
    code, out, _ = run(["status"])
    assert (code, out) == (
        0,
        "no runs submitted from this launcher yet, and no PredictionRunLog rows\n",
    )
    add_row("demo", "ms-research", triggered_by="by-hand")
    _, out, _ = run(["status", "--state", "failed"])
    assert out == "no run or row matches --team/--state\n"
