"""The launcher starts without the ML stack (tools/import_contract.py, also run by `make lint`)."""

from __future__ import annotations

from tools.import_contract import ML_STACK, check


def test_the_launcher_starts_without_the_ml_stack() -> None:
    assert check() == []


def test_the_contract_names_a_breach() -> None:
    # The launcher does need textual: blocking it must be reported, or the check proves nothing.
    breaches = check(blocked=("textual",))
    assert "tried to import at start-up: textual" in breaches
    assert any(line.startswith("import launcher.app: ModuleNotFoundError") for line in breaches)


def test_the_blocked_set_is_what_the_launcher_image_lacks() -> None:
    assert {"numpy", "torch", "sklearn", "lightgbm", "transformers"} <= set(ML_STACK)
