"""Thread pools sized from GREGORY_CPU_LIMIT: parsing, the exported variables, a bad value."""

from __future__ import annotations

import subprocess

import pytest

from gregory import exit_codes
from gregory.ml.core import threads


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2", 2), ("1.5", 2), ("0.2", 1), ("500m", 1), ("2500m", 3), (" 4 ", 4), ("", None)],
)
def test_a_cpu_quantity_becomes_whole_threads(value, expected):
    assert threads.parse_cpu_limit(value) == expected


@pytest.mark.parametrize("value", ["two", "0", "-1", "1Gi", "nan", "inf"])
def test_a_bad_cpu_quantity_is_refused(value):
    with pytest.raises(threads.CpuLimitError, match="GREGORY_CPU_LIMIT"):
        threads.parse_cpu_limit(value)


def test_the_pool_variables_are_exported_unless_set_explicitly():
    env = {"GREGORY_CPU_LIMIT": "1.5", "MKL_NUM_THREADS": "1"}
    assert threads.apply_cpu_limit(env) == 2
    assert env == {
        "GREGORY_CPU_LIMIT": "1.5",
        "OMP_NUM_THREADS": "2",
        "MKL_NUM_THREADS": "1",
        "RAYON_NUM_THREADS": "2",
    }
    untouched: dict[str, str] = {}
    assert threads.apply_cpu_limit(untouched) is None
    assert untouched == {}


@pytest.mark.parametrize("entry", ["manage", "module"])
def test_a_bad_limit_stops_the_job_with_one_line(manage_argv, job_env, entry):
    argv = manage_argv if entry == "manage" else [manage_argv[0], "-m", "gregory_train"]
    env = {**job_env, "GREGORY_CPU_LIMIT": "lots"}
    done = subprocess.run(
        [*argv, "train_models", "--team", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == exit_codes.USAGE
    assert done.stderr.strip().splitlines() == [
        "error: GREGORY_CPU_LIMIT='lots' is not a CPU count (e.g. 2, 1.5 or 1500m)"
    ]
