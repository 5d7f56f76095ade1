"""demo_data: write a CSV of synthetic labelled articles for import_articles."""

from pathlib import Path

from django.core.management.base import BaseCommand

from gregory.demo import write_demo_csv


class Command(BaseCommand):
    help = (
        "Write synthetic labelled articles (generated here, no network) as an import_articles CSV."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", type=Path, required=True, metavar="CSV")
        parser.add_argument("--articles", type=int, default=400, metavar="N")
        parser.add_argument("--seed", type=int, default=69)

    def handle(self, *args, out: Path, articles: int, seed: int, **options) -> None:
        write_demo_csv(out, n_articles=articles, seed=seed)
        if options["verbosity"] >= 1:
            self.stdout.write(f"Wrote {articles} demo articles to {out}")
