"""`gregory-launch review` is never silent on stderr while it scores: one batch (summarising
included) can take many seconds between two reports of the job."""

from __future__ import annotations

import time
from io import StringIO

from launcher.review_cli import ProgressLines


def test_a_long_batch_gets_a_line_every_few_seconds_and_the_last_ends_them() -> None:
    err = StringIO()
    with ProgressLines(err, quiet=0.1) as progress:
        progress(0, 53)
        deadline = time.monotonic() + 10
        while "so far" not in err.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        progress(53, 53)
    assert progress.ticker is not None
    progress.ticker.join(timeout=5)
    assert not progress.ticker.is_alive()
    first, *waiting, last = err.getvalue().splitlines()
    assert first.startswith("review: scoring 53 articles that have no stored prediction")
    assert waiting and all(line.startswith("review: scored 0 of 53 so far (") for line in waiting)
    assert last == "review: scored 53 of 53"
    # Nothing more once scoring is over.
    time.sleep(0.3)
    assert err.getvalue().splitlines()[-1] == last
