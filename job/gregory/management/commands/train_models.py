"""train_models: train the relevance classifiers per team, subject and algorithm."""

from __future__ import annotations

from gregory.flags import TrainFlags
from gregory.management.base import JobCommand, UsageError


class Command(JobCommand):
    help = (
        "Train the relevance classifiers (pubmed_bert, lgbm_tfidf, lstm) for a team's subjects, "
        "publish versioned artifacts under GREGORY_MODELS_DIR and log every run in "
        "PredictionRunLog. Exit status: 0 all runs succeeded, 1 a run failed, 2 usage error."
    )
    flags_class = TrainFlags
    runs_noun = "training runs"

    def add_base_argument(self, parser, *args, **kwargs) -> None:
        # --version names a model version here; Django's own --version would shadow it.
        if "--version" not in args:
            super().add_base_argument(parser, *args, **kwargs)

    def run(self, flags, subjects):
        # Imported after validation: a usage error should not pay for the ML stack.
        from gregory.ml import training
        from gregory.ml.core import layout
        from gregory.ml.store.publishing import VersionTakenError

        try:
            layout.check_writable()
            training.check_version_free(flags, subjects)
        except (layout.ModelsDirUnusable, VersionTakenError) as error:
            raise UsageError(str(error)) from None
        return training.train_subjects(flags, subjects, self.say)

    def summary(self, outcomes):
        from gregory.ml.training import summary_table

        return summary_table(outcomes)
