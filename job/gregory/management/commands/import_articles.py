"""import_articles: load labelled articles for one team/subject from a CSV, all or nothing."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError
from django.db import transaction

from gregory import exit_codes
from gregory.article_csv import CsvFileError, Row, read_rows
from gregory.flags import slug_problem
from gregory.management.database import database_errors_as_command_errors, is_gregoryai_database
from gregory.management.usage import OneLineUsageErrors
from gregory.models import Articles, ArticleSubjectRelevance, Subject, Team

BATCH = 2000
REFUSE_GREGORYAI = (
    "DATABASE_URL is GregoryAI's own database (gregory_team has organization_id): "
    "import_articles only loads articles into this project's database"
)


class Command(OneLineUsageErrors):
    help = (
        "Import labelled articles for a team's subject from a CSV with columns title, summary, "
        "relevant (1/0/empty), link, and optionally discovery_date (ISO). An article is its "
        "title and link, as in GregoryAI: re-importing one updates it. A row with an empty or "
        "no link column gets urn:gregory-import:<id> from its external_id or article_id column. "
        "One transaction: a bad row aborts the whole file. Refuses GregoryAI's own database. "
        "A subject is trained and scored only while its auto_predict is on, as in GregoryAI: "
        "--create makes the subject with it on (it is created to be trained); --auto-predict "
        "sets it on an existing one."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("csv_path", type=Path, metavar="CSV")
        parser.add_argument("--team", required=True, metavar="SLUG")
        parser.add_argument("--subject", required=True, metavar="SLUG")
        parser.add_argument(
            "--create",
            action="store_true",
            help="create the team and subject when missing (the subject with auto_predict on)",
        )
        parser.add_argument(
            "--auto-predict",
            choices=("on", "off"),
            help="turn the subject's auto_predict on or off: train_models and predict_articles "
            "skip a subject whose auto_predict is off",
        )

    def handle(
        self,
        *args,
        csv_path: Path,
        team: str,
        subject: str,
        create: bool,
        auto_predict: str | None = None,
        **options,
    ):
        for flag, slug, field in (
            ("--team", team, Team._meta.get_field("slug")),
            ("--subject", subject, Subject._meta.get_field("subject_slug")),
        ):
            if problem := slug_problem(flag, slug):
                raise CommandError(problem, returncode=exit_codes.USAGE)
            # --create stores it: PostgreSQL would refuse a longer one only as a database error.
            if len(slug) > field.max_length:
                raise CommandError(
                    f"{flag} {slug!r} is longer than {field.max_length} characters",
                    returncode=exit_codes.USAGE,
                )
        if not csv_path.is_file():
            raise CommandError(f"{csv_path}: no such file", returncode=exit_codes.USAGE)
        try:
            rows = read_rows(csv_path)
        except CsvFileError as error:
            raise CommandError(str(error), returncode=exit_codes.USAGE) from None
        with database_errors_as_command_errors():
            if is_gregoryai_database():
                raise CommandError(REFUSE_GREGORYAI, returncode=exit_codes.RUN_FAILED)
        with database_errors_as_command_errors(), transaction.atomic():
            subject_obj = self._subject(team, subject, create)
            if auto_predict is not None and subject_obj.auto_predict != (auto_predict == "on"):
                subject_obj.auto_predict = auto_predict == "on"
                subject_obj.save(update_fields=["auto_predict"])
            created, updated = import_rows(subject_obj, rows)
        labelled = sum(row.relevant is not None for row in rows)
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Imported {len(rows)} articles into {team}/{subject} ({created} new, "
                f"{updated} updated; {labelled} labelled, {len(rows) - labelled} unreviewed)"
            )
        if not subject_obj.auto_predict and options["verbosity"] >= 1:
            # Not an error (labels can come first), but the next train_models would say nothing.
            self.stderr.write(
                f"note: subject {subject!r} of team {team!r} has auto_predict off: train_models "
                "and predict_articles skip it (--auto-predict on turns it on)"
            )

    @staticmethod
    def _subject(team_slug: str, subject_slug: str, create: bool) -> Subject:
        team = Team.objects.filter(slug=team_slug).first()
        if team is None:
            if not create:
                raise CommandError(
                    f"unknown team {team_slug!r} (pass --create to add it)",
                    returncode=exit_codes.USAGE,
                )
            team = Team.objects.create(slug=team_slug, name=team_slug.replace("-", " ").title())
        found = Subject.objects.filter(team=team, subject_slug=subject_slug).first()
        if found is None:
            if not create:
                raise CommandError(
                    f"team {team_slug!r} has no subject {subject_slug!r} (pass --create to add it)",
                    returncode=exit_codes.USAGE,
                )
            # Created to be trained: GregoryAI's default (off) would leave it out of every run.
            found = Subject.objects.create(
                team=team,
                subject_slug=subject_slug,
                subject_name=subject_slug.replace("-", " ").title(),
                auto_predict=True,
            )
        return found


def import_rows(subject: Subject, rows: list[Row]) -> tuple[int, int]:
    """Upsert articles by (title, link), link them to the subject and team, set relevance."""
    existing: dict[tuple[str, str], Articles] = {}
    for start in range(0, len(rows), BATCH):
        links = {row.link for row in rows[start : start + BATCH]}
        for article in Articles.objects.filter(link__in=links):
            existing[article.title, article.link] = article
    to_create, to_update, ordered = [], [], []
    for row in rows:
        article = existing.get(row.key)
        if article is None:
            article = Articles(title=row.title, link=row.link)
            to_create.append(article)
        else:
            to_update.append(article)
        ordered.append(article)
    Articles.objects.bulk_create(to_create, batch_size=BATCH)
    # discovery_date is auto_now_add, as in GregoryAI: the insert stamped it now, so the CSV's
    # dates are written by an update. An empty cell is no information: what is stored stays.
    for article, row in zip(ordered, rows, strict=True):
        if row.summary is not None:
            article.summary = row.summary
        if row.discovery_date is not None:
            article.discovery_date = row.discovery_date
    Articles.objects.bulk_update(ordered, ["summary", "discovery_date"], batch_size=BATCH)
    SubjectLink = Articles.subjects.through
    TeamLink = Articles.teams.through
    SubjectLink.objects.bulk_create(
        [SubjectLink(articles_id=a.pk, subject_id=subject.pk) for a in ordered],
        batch_size=BATCH,
        ignore_conflicts=True,
    )
    TeamLink.objects.bulk_create(
        [TeamLink(articles_id=a.pk, team_id=subject.team_id) for a in ordered],
        batch_size=BATCH,
        ignore_conflicts=True,
    )
    labels = [
        ArticleSubjectRelevance(article_id=a.pk, subject=subject, is_relevant=row.relevant)
        for a, row in zip(ordered, rows, strict=True)
    ]
    ArticleSubjectRelevance.objects.bulk_create(
        [label for label in labels if label.is_relevant is not None],
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["article", "subject"],
        update_fields=["is_relevant"],
    )
    # An empty label marks a new pair unreviewed and leaves an existing label alone.
    ArticleSubjectRelevance.objects.bulk_create(
        [label for label in labels if label.is_relevant is None],
        batch_size=BATCH,
        ignore_conflicts=True,
    )
    return len(to_create), len(to_update)
