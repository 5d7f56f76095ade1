"""Review: one unreviewed article at a time, least-sure first; a key records its label.

The queue and the writes are the job's (`gregory.ml.review.ranking`, `gregory.labels`) through
`launcher.review`; every database call runs in a thread worker and answers with a message,
a failure too (one line: a worker's exception never ends the app). What the database and the
models dir hold is shown as plain text: Rich Text, never markup, escapes and control
characters removed.
After every RETRAIN_AFTER new labels the screen offers to retrain the subject through the
launcher's backend, as the form would submit it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Header, Select, Static

from gregory.flags import FlagError, TrainFlags
from gregory.ml.review.queue_defaults import DEFAULT_COUNT, DEFAULT_RANDOM_SHARE, UNCERTAINTY
from gregory.scope import TeamScope, active_teams
from launcher import db
from launcher.backends.base import BackendError
from launcher.messages import Failed, Submitted, TeamsLoaded
from launcher.operations import command_preview
from launcher.review import RETRAIN_AFTER, Session, scope_flags
from launcher.safe_text import one_line, plain
from launcher.screens.base import LauncherScreen, failure
from launcher.screens.confirm import ConfirmScreen

if TYPE_CHECKING:
    from launcher.review import Queue


@dataclass
class QueueLoaded(Message):
    queue: Queue


@dataclass
class QueueProgress(Message):
    """Articles without a stored prediction scored so far, of how many."""

    done: int
    total: int


@dataclass
class LabelDone(Message):
    article_id: int
    # None: recorded; else the one line why not (someone labelled it first).
    refused: str | None = None


@dataclass
class UndoDone(Message):
    article_id: int | None
    restored: bool


class ReviewScreen(LauncherScreen):
    BINDINGS = [
        Binding("y", "label(True)", "Relevant"),
        Binding("n", "label(False)", "Not relevant"),
        Binding("s", "skip", "Skip"),
        Binding("u", "undo", "Undo"),
        Binding("t", "retrain", "Retrain"),
        Binding("r", "reload", "Reload queue"),
    ]
    KEY_HELP = {
        "label": "on an article: records the label at once",
        "skip": "on an article: the next one, nothing written",
        "undo": "after a label of this session: back to unreviewed",
        "retrain": f"after {RETRAIN_AFTER} new labels: train the subject (asks first)",
        "reload": "with a team and a subject chosen: the next queue",
    }

    def __init__(self) -> None:
        super().__init__()
        self.teams: list[TeamScope] = []
        self.session: Session | None = None
        self.queue: Queue | None = None
        self.position = 0
        self.labelled_at_load = 0
        # A label or undo is being written: keys wait for it, so one press is one write.
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="review-scope"):
            yield Select[str]([], prompt="team", id="review-team")
            yield Select[str]([], prompt="subject", id="review-subject")
        yield Static("choose a team and a subject", id="review-progress")
        with VerticalScroll(id="review-body"):
            yield Static("", id="review-title")
            yield Static("", id="review-scores")
            yield Static("", id="review-reason")
            yield Static("", id="review-summary")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "review: y relevant, n not relevant, s skip, u undo"
        self.load_teams()

    # -- scope ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="review-teams")
    def load_teams(self) -> None:
        try:
            self.post_message(TeamsLoaded(db.teams()))
        except Exception as error:  # DatabaseUnavailable, or anything else: said, not fatal
            self.post_message(failure("teams", error))

    @on(TeamsLoaded)
    def teams_loaded(self, message: TeamsLoaded) -> None:
        self.teams = active_teams(message.teams)
        self.query_one("#review-team", Select).set_options(
            (Text(plain(team.slug)), team.slug) for team in self.teams
        )

    @on(Select.Changed, "#review-team")
    def team_changed(self, event: Select.Changed) -> None:
        team = next((t for t in self.teams if t.slug == event.value), None)
        subjects = self.query_one("#review-subject", Select)
        # Subjects with auto_predict off too: labels can come before training is turned on.
        subjects.set_options(
            (Text(plain(slug)), slug) for slug in (team.every_subject if team else ())
        )

    @on(Select.Changed, "#review-subject")
    def subject_changed(self, event: Select.Changed) -> None:
        team = self.query_one("#review-team", Select).value
        if not isinstance(team, str) or not isinstance(event.value, str):
            return
        try:
            flags = scope_flags(team, event.value)
        except FlagError as error:
            self.notify(plain(error), title="cannot review", severity="error", markup=False)
            return
        self.session = Session(flags)
        self.action_reload()

    def action_reload(self) -> None:
        if self.session is None:
            return
        self.query_one("#review-progress", Static).update("loading the queue…")
        self.load_queue(self.session.flags)

    @work(thread=True, exclusive=True, group="review-queue")
    def load_queue(self, flags: TrainFlags) -> None:
        from launcher.review import load_queue

        def progress(done: int, total: int) -> None:
            self.post_message(QueueProgress(done, total))

        try:
            queue = load_queue(
                flags,
                count=DEFAULT_COUNT,
                strategy=UNCERTAINTY,
                random_share=DEFAULT_RANDOM_SHARE,
                progress=progress,
            )
        except Exception as error:  # the screen says it; a worker's exception would end the app
            self.post_message(failure("queue", error))
            return
        self.post_message(QueueLoaded(queue))

    @on(QueueProgress)
    def queue_progress(self, message: QueueProgress) -> None:
        self.query_one("#review-progress", Static).update(
            Text(
                f"loading the queue… scoring {message.done} of {message.total} articles "
                "without a stored prediction"
            )
        )

    @on(QueueLoaded)
    def queue_loaded(self, message: QueueLoaded) -> None:
        self.queue, self.position = message.queue, 0
        # The queue's counts were read before this session's later labels.
        self.labelled_at_load = self.session.labelled if self.session else 0
        for note in self.queue.notes:
            self.notify(plain(note), title="review queue", markup=False)
        self.query_one("#review-body").focus()
        self.show()

    @on(Failed)
    def failed(self, message: Failed) -> None:
        self.busy = False
        text = plain(message.text)
        more = ""
        if message.details:
            self.app.record_failure(f"{message.what} failed", message.details)
            more = " (ctrl+e: the whole error)"
        if message.what in ("teams", "queue"):
            # In place of "loading…": the screen must not look as if it were still working.
            self.query_one("#review-progress", Static).update(
                Text(f"{message.what} failed: {text}{more}")
            )
        self.notify(text + more, title=f"{message.what} failed", severity="error", markup=False)

    # -- what is shown --------------------------------------------------------------------

    @property
    def current(self):
        if self.queue is None or self.position >= len(self.queue.items):
            return None
        return self.queue.items[self.position]

    def show(self) -> None:
        item = self.current
        title: Text | str = ""
        scores: Text | str = ""
        reason: Text | str = ""
        summary: Text | str = ""
        if item is not None:
            title = Text(f"{item.article_id}  {one_line(item.title)}", style="bold")
            each = "  ".join(
                f"{s.algorithm} {s.probability:.2f} (threshold {s.threshold:g}, {s.version})"
                for s in item.scores
            )
            scores = Text(one_line(each) or "no model scored this article", style="cyan")
            reason = Text(f"why: {one_line(item.reason)}", style="italic")
            summary = Text(plain(item.summary) or "(no summary)")
        elif self.queue is not None:
            title = Text("Nothing left in this queue: r loads the next one.", style="bold")
        self.query_one("#review-title", Static).update(title)
        self.query_one("#review-scores", Static).update(scores)
        self.query_one("#review-reason", Static).update(reason)
        self.query_one("#review-summary", Static).update(summary)
        self.query_one("#review-progress", Static).update(Text(self.progress()))

    def progress(self) -> str:
        session, queue = self.session, self.queue
        if session is None or queue is None:
            return ""
        left = len(queue.items) - self.position
        since_load = session.labelled - self.labelled_at_load
        text = (
            f"{session.flags.team}/{session.flags.subject}: {session.labelled} labelled this "
            f"session ({session.positives} relevant), {session.skipped} skipped; {left} left in "
            f"this queue; {queue.unreviewed - since_load} unreviewed, "
            f"{queue.labels + since_load} labels in the window"
        )
        if session.labelled >= RETRAIN_AFTER and self.trainable():
            text += "; t retrains the subject"
        return text

    def trainable(self) -> bool:
        """Whether the session's subject has auto_predict on: training it would be refused."""
        flags = self.session.flags if self.session else None
        team = next((t for t in self.teams if flags and t.slug == flags.team), None)
        return team is not None and flags is not None and flags.subject in team.subjects

    # -- keys -----------------------------------------------------------------------------

    def action_label(self, relevant: bool) -> None:
        item = self.current
        if item is None or self.session is None or self.busy:
            return
        self.busy = True
        self.write(self.session, item.article_id, relevant)

    @work(thread=True, exclusive=True, group="review-write")
    def write(self, session: Session, article_id: int, relevant: bool) -> None:
        from gregory.labels import LabelError

        try:
            session.label(article_id, relevant)
        except LabelError as error:
            self.post_message(LabelDone(article_id, refused=str(error)))
        except Exception as error:  # DatabaseUnavailable, or anything else: said, not fatal
            self.post_message(failure("label", error))
        else:
            self.post_message(LabelDone(article_id))

    @on(LabelDone)
    def label_done(self, message: LabelDone) -> None:
        self.busy = False
        if message.refused is not None:
            self.notify(
                plain(message.refused), title="not recorded", severity="warning", markup=False
            )
        self.position += 1
        self.show()
        session = self.session
        offer = session is not None and session.offer_retrain and self.trainable()
        if message.refused is None and session is not None and offer:
            self.notify(
                f"{session.labelled} new labels: t retrains {session.flags.team}/"
                f"{session.flags.subject} with them",
                title="retrain?",
                markup=False,
            )

    def action_skip(self) -> None:
        if self.current is None or self.session is None or self.busy:
            return
        self.session.skipped += 1
        self.position += 1
        self.show()

    def action_undo(self) -> None:
        if self.session is None or not self.session.written or self.busy:
            return
        self.busy = True
        self.undo(self.session)

    @work(thread=True, exclusive=True, group="review-write")
    def undo(self, session: Session) -> None:
        try:
            written, restored = session.undo()
        except Exception as error:  # DatabaseUnavailable, or anything else: said, not fatal
            self.post_message(failure("undo", error))
            return
        self.post_message(UndoDone(written.article_id if written else None, restored))

    @on(UndoDone)
    def undo_done(self, message: UndoDone) -> None:
        self.busy = False
        if not message.restored:
            self.notify(
                f"article {message.article_id} was relabelled by someone else: left as it is",
                severity="warning",
            )
            return
        if self.queue is not None:
            ids = [item.article_id for item in self.queue.items]
            if message.article_id in ids:
                self.position = ids.index(message.article_id)
        self.show()

    def action_retrain(self) -> None:
        if self.session is None:
            return
        flags = self.session.flags
        retrain = TrainFlags(team=flags.team, subject=flags.subject)
        try:
            planned = self.operations.plan(retrain, self.teams)
        except (FlagError, db.DatabaseUnavailable) as error:
            self.notify(plain(error), title="cannot retrain", severity="error", markup=False)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.submit(planned)

        question = f"Retrain {flags.team}/{flags.subject} with {self.session.labelled} new labels?"
        self.app.push_screen(
            ConfirmScreen(question, [command_preview(item) for item in planned]), answered
        )

    @work(thread=True, exclusive=True, group="review-submit")
    def submit(self, planned: list[TrainFlags]) -> None:
        try:
            self.post_message(Submitted(self.operations.submit(planned)))
        except BackendError as error:
            self.post_message(Failed("retrain", str(error)))
        except Exception as error:  # said, not fatal
            self.post_message(failure("retrain", error))

    @on(Submitted)
    def submitted(self, message: Submitted) -> None:
        names = ", ".join(submission.run.name for submission in message.submissions)
        self.notify(f"submitted {plain(names)}: F3 shows it", title="retraining", markup=False)
