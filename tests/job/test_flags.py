import pytest

from gregory.algorithms import ALGORITHM_NAMES
from gregory.flags import FlagError, TrainFlags, parse_algos


def test_defaults_follow_the_spec():
    flags = TrainFlags.from_argv(["--team", "demo"])
    assert flags.algos == ALGORITHM_NAMES
    assert flags.prob_threshold == 0.8
    assert flags.verbose == 1
    assert flags.window_days == 90
    assert flags.version is None and not flags.pseudo_label
    assert not flags.no_gate


@pytest.mark.parametrize(
    ("argv", "window"),
    [
        (["--team", "t", "--all-articles"], None),
        (["--team", "t", "--lookback-days", "7"], 7),
    ],
)
def test_window(argv, window):
    assert TrainFlags.from_argv(argv).window_days == window


def test_all_teams_ignores_team_and_subject():
    flags = TrainFlags.from_argv(["--all-teams", "--subject", "x"])
    assert flags.to_argv() == ["--all-teams"]


def test_argv_round_trip_keeps_every_option():
    flags = TrainFlags(
        team="t",
        subject="s",
        lookback_days=30,
        algos=("lstm", "lgbm_tfidf"),
        prob_threshold=0.65,
        version="v1",
        pseudo_label=True,
        no_gate=True,
        verbose=3,
    )
    assert "--no-gate" in flags.to_argv()
    assert TrainFlags.from_argv(flags.to_argv()) == flags


def test_algo_list_keeps_order_and_drops_duplicates():
    assert parse_algos("lstm, lgbm_tfidf,lstm") == ("lstm", "lgbm_tfidf")


def test_for_scope_narrows_a_fan_out():
    scoped = TrainFlags(all_teams=True, verbose=2).for_scope("demo", "ms")
    assert scoped.to_argv() == ["--team", "demo", "--subject", "ms", "--verbose", "2"]


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        ([], "--team"),
        (["--subject", "s"], "--subject needs --team"),
        (["--team", "t", "--all-articles", "--lookback-days", "3"], "exclude each other"),
        (["--team", "t", "--lookback-days", "0"], "positive"),
        (["--team", "t", "--algo", "svm"], "unknown algorithm svm"),
        (["--team", "t", "--algo", ","], "at least one"),
        (["--team", "t", "--prob-threshold", "1.5"], "between 0 and 1"),
        (["--team", "t", "--verbose", "4"], "0, 1, 2 or 3"),
        (["--team", "t", "--version", "../x"], "--version"),
        (["--team", "a b"], "not a slug"),
        (["--team", "t", "--lookback-days", "soon"], "invalid int"),
    ],
)
def test_invalid_flag_sets_name_their_reason(argv, reason):
    with pytest.raises(FlagError, match=reason.replace("(", r"\(")):
        TrainFlags.from_argv(argv)
