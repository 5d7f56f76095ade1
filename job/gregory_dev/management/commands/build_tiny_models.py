"""Write tiny BERT and BART checkpoints for offline tests and the demo (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gregory import exit_codes


class Command(BaseCommand):
    help = (
        "Build tiny offline BERT (DIR/bert) and BART (DIR/bart) checkpoints; point "
        "GREGORY_BERT_MODEL and GREGORY_SUMMARISER_MODEL at them. Idempotent."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", required=True, type=Path, help="output directory")
        parser.add_argument(
            "--force", action="store_true", help="rebuild even when a complete build is there"
        )

    def handle(self, *args, out: Path, force: bool, verbosity: int, **options) -> None:
        from gregory_dev.tiny_models import build_tiny_models

        try:
            paths = build_tiny_models(out, force=force)
        except OSError as error:
            raise CommandError(
                f"cannot write tiny models to {out}: {error}", returncode=exit_codes.USAGE
            ) from error
        if verbosity >= 1:
            for name, path in paths.items():
                self.stdout.write(self.style.SUCCESS(f"{name}: {path.resolve()}"))
