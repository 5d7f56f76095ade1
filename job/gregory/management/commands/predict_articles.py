"""predict_articles: score a team's new articles with the published relevance classifiers."""

from __future__ import annotations

from gregory.flags import PredictFlags
from gregory.management.base import JobCommand, UsageError


class Command(JobCommand):
    help = (
        "Score the articles of a team's subjects (linked through Articles.subjects, with a "
        "summary) whose latest score is not the published version's (the promoted one, or "
        "--model-version): MLPredictions rows, then the articles' ml_score and relevant as "
        "GregoryAI derives them, and a PredictionRunLog row per subject and algorithm; "
        "--dry-run writes none of them. Exit status: 0 all runs succeeded, 1 a run failed, "
        "2 usage error."
    )
    flags_class = PredictFlags
    runs_noun = "prediction runs"

    def run(self, flags, subjects):
        # Imported after validation: a usage error should not pay for the ML stack.
        from gregory.ml import predicting
        from gregory.ml.core import layout

        if not flags.dry_run:
            try:
                layout.check_writable()  # each run keeps its heartbeat there
            except layout.ModelsDirUnusable as error:
                raise UsageError(str(error)) from None
        return predicting.predict_subjects(flags, subjects, self.say)

    def summary(self, outcomes):
        from gregory.ml.predicting import summary_table

        return summary_table(outcomes)
