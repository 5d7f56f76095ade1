"""import_articles: load labelled articles for one team/subject from a CSV, all or nothing."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from gregory import exit_codes
from gregory.flags import slug_problem
from gregory.management.database import database_errors_as_command_errors, is_gregoryai_database
from gregory.models import Articles, ArticleSubjectRelevance, Subject, Team

REQUIRED_COLUMNS = ("title", "summary", "relevant")
# A row without a link gets one from its id column, so re-importing the file updates its articles
# (migration 0004 gave articles imported by external_id the same links).
ID_COLUMNS = ("external_id", "article_id")
DERIVED_LINK = "urn:gregory-import:{}"
TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "f"}
BATCH = 2000
LINK_MAX_LENGTH = Articles._meta.get_field("link").max_length
REFUSE_GREGORYAI = (
    "DATABASE_URL is GregoryAI's own database (gregory_team has organization_id): "
    "import_articles only loads articles into this project's database"
)


class RowError(ValueError):
    pass


@dataclass
class Row:
    title: str
    summary: str | None
    relevant: bool | None
    discovery_date: dt.datetime
    link: str

    @property
    def key(self) -> tuple[str, str]:
        """An article's identity, as GregoryAI's unique constraint on articles has it."""
        return self.title, self.link


def parse_relevant(value: str) -> bool | None:
    word = value.strip().lower()
    if word == "":
        return None  # not reviewed yet: the pseudo-labelling pool
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise RowError(f"relevant must be 1/0, true/false, yes/no or empty, not {value!r}")


def parse_discovery(value: str | None, now: dt.datetime) -> dt.datetime:
    if not value or not value.strip():
        return now
    text = value.strip()
    moment = parse_datetime(text)
    if moment is None:
        day = parse_date(text)
        if day is None:
            raise RowError(f"discovery_date {value!r} is not an ISO date or datetime")
        moment = dt.datetime.combine(day, dt.time())
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return moment


def parse_row(record: dict[str, str | None], now: dt.datetime) -> Row:
    title = (record.get("title") or "").strip()
    if not title:
        raise RowError("title is empty")
    summary = (record.get("summary") or "").strip() or None
    return Row(
        title=title,
        summary=summary,
        relevant=parse_relevant(record.get("relevant") or ""),
        discovery_date=parse_discovery(record.get("discovery_date"), now),
        link=parse_link(record),
    )


def parse_link(record: dict[str, str | None]) -> str:
    link = (record.get("link") or "").strip()
    if not link:
        ids = [(record.get(column) or "").strip() for column in ID_COLUMNS]
        link = next((DERIVED_LINK.format(i) for i in ids if i), "")
    if not link:
        raise RowError(f"link is empty and there is no {' or '.join(ID_COLUMNS)} to derive it from")
    if len(link) > LINK_MAX_LENGTH:
        raise RowError(f"link is longer than {LINK_MAX_LENGTH} characters")
    return link


def read_rows(path: Path) -> list[Row]:
    now = timezone.now()
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if not any(c in header for c in ("link", *ID_COLUMNS)):
            missing.append(f"link (or {' or '.join(ID_COLUMNS)})")
        if missing:
            raise CommandError(
                f"{path}: missing column(s) {', '.join(missing)}; "
                f"need {', '.join(REQUIRED_COLUMNS)}, link",
                returncode=exit_codes.USAGE,
            )
        rows: list[Row] = []
        first_line: dict[tuple[str, str], int] = {}
        for record in reader:
            try:
                if None in record:
                    raise RowError("more fields than the header has")
                row = parse_row(record, now)
                if row.key in first_line:
                    raise RowError(f"title and link {row.link!r} repeat line {first_line[row.key]}")
                first_line[row.key] = reader.line_num
            except RowError as error:
                raise CommandError(
                    f"{path}, line {reader.line_num}: {error}; nothing imported",
                    returncode=exit_codes.USAGE,
                ) from None
            rows.append(row)
    return rows


class Command(BaseCommand):
    help = (
        "Import labelled articles for a team's subject from a CSV with columns title, summary, "
        "relevant (1/0/empty), link, and optionally discovery_date (ISO). An article is its "
        "title and link, as in GregoryAI: re-importing one updates it. A row with an empty or "
        "no link column gets urn:gregory-import:<id> from its external_id or article_id column. "
        "One transaction: a bad row aborts the whole file. Refuses GregoryAI's own database."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("csv_path", type=Path, metavar="CSV")
        parser.add_argument("--team", required=True, metavar="SLUG")
        parser.add_argument("--subject", required=True, metavar="SLUG")
        parser.add_argument(
            "--create", action="store_true", help="create the team and subject when missing"
        )

    def handle(self, *args, csv_path: Path, team: str, subject: str, create: bool, **options):
        for flag, slug in (("--team", team), ("--subject", subject)):
            if problem := slug_problem(flag, slug):
                raise CommandError(problem, returncode=exit_codes.USAGE)
        if not csv_path.is_file():
            raise CommandError(f"{csv_path}: no such file", returncode=exit_codes.USAGE)
        rows = read_rows(csv_path)
        with database_errors_as_command_errors():
            if is_gregoryai_database():
                raise CommandError(REFUSE_GREGORYAI, returncode=exit_codes.RUN_FAILED)
        with database_errors_as_command_errors(), transaction.atomic():
            subject_obj = self._subject(team, subject, create)
            created, updated = import_rows(subject_obj, rows)
        labelled = sum(row.relevant is not None for row in rows)
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Imported {len(rows)} articles into {team}/{subject} ({created} new, "
                f"{updated} updated; {labelled} labelled, {len(rows) - labelled} unreviewed)"
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
            found = Subject.objects.create(
                team=team,
                subject_slug=subject_slug,
                subject_name=subject_slug.replace("-", " ").title(),
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
    # dates are written by an update.
    for article, row in zip(ordered, rows, strict=True):
        article.summary, article.discovery_date = row.summary, row.discovery_date
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
    ArticleSubjectRelevance.objects.bulk_create(
        [
            ArticleSubjectRelevance(article_id=a.pk, subject=subject, is_relevant=row.relevant)
            for a, row in zip(ordered, rows, strict=True)
        ],
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["article", "subject"],
        update_fields=["is_relevant"],
    )
    return len(to_create), len(to_update)
