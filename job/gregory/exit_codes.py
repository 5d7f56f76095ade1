"""Exit statuses of the job's commands, distinct so a Kubernetes podFailurePolicy can tell them
apart: a usage error never succeeds on retry, a failed run may."""

OK = 0
RUN_FAILED = 1
USAGE = 2


def for_signal(signum: int) -> int:
    """The shell's convention for a process stopped by a signal."""
    return 128 + signum
