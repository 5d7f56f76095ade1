"""The form: build one flag set, see every problem and the exact command live, then submit."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Button,
    Checkbox,
    Footer,
    Header,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    SelectionList,
)
from textual.widgets.selection_list import Selection

from gregory.algorithms import ALGORITHM_NAMES, ALGORITHMS
from gregory.flags import (
    DEFAULT_THRESHOLD,
    DEFAULT_VERBOSE,
    DEFAULT_WINDOW_DAYS,
    FlagError,
    TrainFlags,
)
from gregory.scope import TeamScope, active_teams, selected_pairs
from launcher import db
from launcher.backends.base import BackendError
from launcher.messages import Failed, LabelsChecked, Submitted, TeamsLoaded
from launcher.operations import command_preview
from launcher.safe_text import plain
from launcher.screens.base import LauncherScreen, failure
from launcher.screens.confirm import ConfirmScreen
from launcher.widgets.preview import CommandPreview

LabelsKey = tuple[tuple[str | None, str | None, int | None], ...]


def labels_key(planned: list[TrainFlags]) -> LabelsKey:
    return tuple((flags.team, flags.subject, flags.window_days) for flags in planned)


# The contract's words for a flag set without a scope; they name a flag the form does not offer.
NO_SCOPE = "give --team <slug> or --all-teams"
VERBOSITY = [("0 quiet", 0), ("1 progress", 1), ("2 + warnings", 2), ("3 + summary", 3)]


class FormScreen(LauncherScreen):
    AUTO_FOCUS = "#team"
    BINDINGS = [
        Binding("ctrl+s", "submit", "Submit"),
        Binding("ctrl+r", "reload_teams", "Reload teams"),
    ]
    KEY_HELP = {
        "submit": "when the preview lists no problem: asks first, then submits",
        "reload_teams": "after teams or subjects changed in the database",
    }

    def __init__(self) -> None:
        super().__init__()
        # Only active teams can be chosen, so an inactive one never reaches the plan from here.
        self.teams: list[TeamScope] = []
        self.planned: list[TrainFlags] = []
        self.problems: list[str] = ["loading teams from the database…"]
        # What the label check said of each plan (LabelsChecked): the lines and whether every
        # subject is blocked; read again when the screen comes back (labels change).
        self.label_checks: dict[LabelsKey, tuple[list[str], bool]] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="form-body"):
            with VerticalScroll(id="fields"):
                yield Label("Team")
                yield Select[str]([], prompt="choose a team", id="team")
                yield Label("Subjects (none ticked: every subject of the team)")
                yield SelectionList[str](id="subjects")
                yield Label("Algorithms")
                yield SelectionList[str](
                    *(Selection(ALGORITHMS[name].label, name, True) for name in ALGORITHM_NAMES),
                    id="algos",
                )
                yield Label("Window of discovery dates")
                with RadioSet(id="window"):
                    yield RadioButton(
                        f"last {DEFAULT_WINDOW_DAYS} days", value=True, id="w-default"
                    )
                    yield RadioButton("last N days", id="w-lookback")
                    yield RadioButton("all articles", id="w-all")
                yield Input(placeholder="N days", id="lookback", type="integer", disabled=True)
                yield Label("Probability threshold")
                yield Input(str(DEFAULT_THRESHOLD), id="threshold")
                yield Label("Version")
                yield Input(placeholder="auto: YYYYMMDD[_n]", id="version")
                yield Checkbox("Pseudo-label with PubMed BERT first", id="pseudo")
                yield Label("Verbosity")
                yield Select(VERBOSITY, value=1, allow_blank=False, id="verbose")
            with Vertical(id="side"):
                yield CommandPreview(id="preview")
                yield Button("Submit", variant="primary", id="submit", disabled=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.operations.describe()
        self.query_one(CommandPreview).show(self.problems, [])
        self.load_teams()

    def on_screen_resume(self) -> None:
        # Labels given meanwhile (F5 Review) can make a subject trainable.
        self.label_checks.clear()
        if self.teams:
            self.revalidate()

    # -- database ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="teams")
    def load_teams(self) -> None:
        try:
            self.post_message(TeamsLoaded(db.teams()))
        except db.DatabaseUnavailable as error:
            self.post_message(Failed("teams", str(error)))
        except Exception as error:  # said in one line, never the end of the app
            self.post_message(failure("teams", error))

    def action_reload_teams(self) -> None:
        self.load_teams()

    @on(TeamsLoaded)
    def teams_loaded(self, message: TeamsLoaded) -> None:
        self.teams = active_teams(message.teams)
        select = self.query_one("#team", Select)
        current = select.value
        # Text, not str: an option's str is parsed as markup, and a team's name is data.
        select.set_options(
            (Text(plain(f"{team.slug}  {team.name}")), team.slug) for team in self.teams
        )
        if current in {team.slug for team in self.teams}:
            select.value = current
        self.revalidate()

    @on(Failed)
    def failed(self, message: Failed) -> None:
        if message.details:
            self.app.record_failure(f"{message.what} failed", message.details)
        if message.what == "teams":
            self.teams = []
            self.problems = [message.text]
            self.query_one(CommandPreview).show(self.problems, [])
            self.query_one("#submit", Button).disabled = True
        self.notify(
            plain(message.text), title=f"{message.what} failed", severity="error", markup=False
        )

    # -- live validation ------------------------------------------------------------------

    @on(Select.Changed, "#team")
    def team_changed(self) -> None:
        subjects = self.query_one("#subjects", SelectionList)
        subjects.clear_options()
        team = self.selected_team()
        if team is not None:
            subjects.add_options([(Text(plain(name)), name) for name in team.subjects])
        self.revalidate()

    @on(RadioSet.Changed, "#window")
    def window_changed(self) -> None:
        self.query_one("#lookback", Input).disabled = not self.query_one(
            "#w-lookback", RadioButton
        ).value
        self.revalidate()

    @on(Input.Changed)
    @on(Select.Changed, "#verbose")
    @on(SelectionList.SelectedChanged)
    @on(Checkbox.Changed)
    def field_changed(self) -> None:
        self.revalidate()

    def selected_team(self) -> TeamScope | None:
        value = self.query_one("#team", Select).value
        return next((team for team in self.teams if team.slug == value), None)

    def read_flags(self) -> tuple[TrainFlags, list[str]]:
        """The flag set the fields describe, and the problems no flag set can express."""
        problems: list[str] = []
        team = self.query_one("#team", Select).value
        verbose = self.query_one("#verbose", Select).value  # never blank: allow_blank=False
        flags = TrainFlags(
            team=team if isinstance(team, str) else None,
            algos=tuple(self.query_one("#algos", SelectionList).selected),
            pseudo_label=self.query_one("#pseudo", Checkbox).value,
            verbose=verbose if isinstance(verbose, int) else DEFAULT_VERBOSE,
        )
        if self.query_one("#w-all", RadioButton).value:
            flags = replace(flags, all_articles=True)
        elif self.query_one("#w-lookback", RadioButton).value:
            text = self.query_one("#lookback", Input).value.strip()
            try:
                flags = replace(flags, lookback_days=int(text))
            except ValueError:
                problems.append("--lookback-days needs a whole number of days")
        text = self.query_one("#threshold", Input).value.strip()
        try:
            flags = replace(flags, prob_threshold=float(text))
        except ValueError:
            problems.append("--prob-threshold must be a number such as 0.8")
        version = self.query_one("#version", Input).value.strip()
        if version:
            flags = replace(flags, version=version)
        return flags, problems

    def revalidate(self) -> None:
        flags, problems = self.read_flags()
        # The form has a team field and no --all-teams: say what to do here, not on the CLI.
        problems += ["choose a team" if p == NO_SCOPE else p for p in flags.problems()]
        planned: list[TrainFlags] = []
        if not problems and self.teams:
            subjects = self.query_one("#subjects", SelectionList).selected or [None]
            try:
                for subject in subjects:
                    planned += self.operations.plan(replace(flags, subject=subject), self.teams)
            except FlagError as error:
                problems.append(str(error))
                planned = []
        elif not self.teams and not problems:
            problems.append("no teams: the database has none, or could not be read")
        warnings: list[str] = []
        if planned and not problems:
            checked = self.label_checks.get(labels_key(planned))
            if checked is None:
                self.check_labels(labels_key(planned), planned, list(self.teams))
            elif checked[1]:
                problems += checked[0]
            else:
                warnings = [f"{line}; its run fails, the others train" for line in checked[0]]
        self.problems, self.planned = problems, planned
        self.query_one(CommandPreview).show(
            problems,
            [command_preview(f) for f in planned],
            runs=len(self.operations.backend.batches(planned)),
            warnings=warnings,
        )
        self.query_one("#submit", Button).disabled = bool(problems)

    @work(thread=True, exclusive=True, group="labels")
    def check_labels(
        self, key: LabelsKey, planned: list[TrainFlags], teams: list[TeamScope]
    ) -> None:
        """Whether training could split each planned subject's labels (a database read)."""
        try:
            blocked = [b for flags in planned for b in self.operations.unsplittable(flags, teams)]
            pairs = {pair for flags in planned for pair in selected_pairs(flags, teams)}
        except Exception as error:  # said in one line, never the end of the form
            self.post_message(failure("labels", error))
            return
        lines = list(dict.fromkeys(item.line for item in blocked))
        self.post_message(LabelsChecked(key, lines, bool(blocked) and len(blocked) >= len(pairs)))

    @on(LabelsChecked)
    def labels_checked(self, message: LabelsChecked) -> None:
        self.label_checks[message.key] = (message.lines, message.every)
        if labels_key(self.planned) == message.key:
            self.revalidate()

    # -- submit -----------------------------------------------------------------------------

    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        self.revalidate()
        if self.problems:
            self.notify(
                plain(self.problems[0]), title="cannot submit", severity="warning", markup=False
            )
            return
        planned = list(self.planned)
        lines = [command_preview(flags) for flags in planned]
        runs = len(self.operations.backend.batches(planned))
        question = f"Submit {runs} run(s) to {self.operations.backend.name}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self.submit(planned)

        self.app.push_screen(ConfirmScreen(question, lines), answered)

    @work(thread=True, exclusive=True, group="submit")
    def submit(self, planned: list[TrainFlags]) -> None:
        try:
            # Again here: the check the preview shows may not have answered yet.
            teams = list(self.teams)
            blocked = [b for flags in planned for b in self.operations.unsplittable(flags, teams)]
            pairs = {pair for flags in planned for pair in selected_pairs(flags, teams)}
            if blocked and len(blocked) >= len(pairs):
                self.post_message(Failed("submit", "\n".join(b.line for b in blocked)))
                return
            self.post_message(Submitted(self.operations.submit(planned)))
        except (BackendError, db.DatabaseUnavailable, FlagError) as error:
            self.post_message(Failed("submit", str(error)))
        except Exception as error:  # said in one line, never the end of the app
            self.post_message(failure("submit", error))

    @on(Submitted)
    def submitted(self, message: Submitted) -> None:
        names = [s.run.name for s in message.submissions]
        again = [s.run.name for s in message.submissions if s.already_existed]
        text = f"submitted {', '.join(names)}"
        if again:
            text += f" (already there: {', '.join(again)})"
        self.notify(plain(text), title="submitted", markup=False)
        if names:
            self.app.select_run = names[0]
        self.app.switch_mode("runs")
