"""demo_data: write a CSV of synthetic labelled articles for import_articles."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gregory import exit_codes
from gregory.management.database import database_errors_as_command_errors, is_gregoryai_database
from gregory.ml.data.splits import SEED
from gregory_dev.demo import write_demo_csv

REFUSE_GREGORYAI = (
    "DATABASE_URL is GregoryAI's own database (gregory_team has organization_id): "
    "demo data is only for this project's database"
)


class Command(BaseCommand):
    help = (
        "Write synthetic labelled articles (generated here, no network) as an import_articles "
        "CSV. Refuses to run when DATABASE_URL is GregoryAI's own database."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", type=Path, required=True, metavar="CSV")
        parser.add_argument("--articles", type=int, default=400, metavar="N")
        parser.add_argument("--seed", type=int, default=SEED)

    def handle(self, *args, out: Path, articles: int, seed: int, **options) -> None:
        # The CSV exists to be imported next; stop before writing it where that import would be
        # refused anyway.
        with database_errors_as_command_errors():
            if is_gregoryai_database():
                raise CommandError(REFUSE_GREGORYAI, returncode=exit_codes.RUN_FAILED)
        write_demo_csv(out, n_articles=articles, seed=seed)
        if options["verbosity"] >= 1:
            self.stdout.write(f"Wrote {articles} demo articles to {out}")
