"""`gregory-launch status|logs` for scripts and pipes: JSON, exit statuses, stderr, usage."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest

from launcher.cli import main
from tests.support.launcher import add_row, make_scope, write_run

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


def test_status_pads_the_scope_and_wide_adds_trigger_and_duration(registry) -> None:
    _, out, _ = run(["status"])
    rows = [line for line in out.splitlines() if line.startswith("    ") and "/" in line]
    algos = {line.index("lgbm_tfidf") for line in rows}
    assert len(algos) == 1, rows  # one column, whatever the team/subject's length
    _, wide, _ = run(["status", "-o", "wide"])
    assert "  3m00s  by-hand" in wide


@pytest.mark.parametrize(
    ("name", "code", "last"),
    [
        (OK, 0, f"--- {OK}: succeeded (exit 0)"),
        (FAILED, 1, f"--- {FAILED}: failed (exit 1 (a run failed))"),
        (LOST, 1, f"--- {LOST}: lost (process gone without an exit status)"),
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
