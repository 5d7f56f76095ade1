"""Thread pools sized from the pod's CPU limit (`GREGORY_CPU_LIMIT`, from the downward API).

torch, OpenMP/MKL and the tokenizers' Rayon pool size themselves from the node's cores, not the
pod's limit: a 2-core pod on a 64-core node would run 64 threads and be throttled. The variables
must be set before those libraries start their pools, so the entry points call
`apply_cpu_limit()` first thing; torch_utils applies the count to torch when it is imported.
LightGBM already trains on one thread (its `num_threads`), for determinism.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import MutableMapping

CPU_LIMIT = "GREGORY_CPU_LIMIT"
# Read by OpenMP (torch's intra-op pool, LightGBM), MKL and Rayon (Hugging Face tokenizers).
POOL_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS")


class CpuLimitError(ValueError):
    """GREGORY_CPU_LIMIT holds something that is not a CPU count."""


def parse_cpu_limit(value: str | None) -> int | None:
    """Whole threads for a Kubernetes CPU quantity: "2" → 2, "1.5" → 2, "500m" → 1; "" → None."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        cores = float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        raise CpuLimitError(
            f"{CPU_LIMIT}={value!r} is not a CPU count (e.g. 2, 1.5 or 1500m)"
        ) from None
    if not math.isfinite(cores) or cores <= 0:
        raise CpuLimitError(f"{CPU_LIMIT}={value!r} is not a positive CPU count")
    return max(1, math.ceil(cores))


def apply_cpu_limit(environ: MutableMapping[str, str] | None = None) -> int | None:
    """Export the pool sizes for the CPU limit; a variable already set explicitly is kept.

    Returns the thread count, or None when no limit is set. Raises CpuLimitError on a bad value.
    """
    env = os.environ if environ is None else environ
    threads = parse_cpu_limit(env.get(CPU_LIMIT))
    if threads is not None:
        for name in POOL_VARIABLES:
            env.setdefault(name, str(threads))
    return threads


def configure_process() -> None:
    """The entry points' first call: apply the CPU limit, or exit 2 with one line if it is bad."""
    try:
        apply_cpu_limit()
    except CpuLimitError as error:
        from gregory.exit_codes import USAGE

        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(USAGE) from None


def torch_threads() -> int | None:
    """The intra-op thread count torch should use under the CPU limit (None: no limit set)."""
    try:
        return parse_cpu_limit(os.environ.get(CPU_LIMIT))
    except CpuLimitError:
        return None


def intra_op_threads() -> int | None:
    """torch's intra-op thread count in this process, or None when torch is not loaded."""
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None
