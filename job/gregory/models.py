"""The slice of GregoryAI's schema the job reads and writes (brunoamaral/gregory-ai,
django/gregory/models.py): the same tables, columns, types, nullability, defaults and constraint
names, so `DATABASE_URL` can point at GregoryAI's own PostgreSQL with no migration of ours.
GregoryAI's columns the job never touches are left out; nothing here adds a column of its own
(tests/contract checks both against GregoryAI's DDL).
"""

from django.db import models

from gregory.algorithms import ALGORITHM_CHOICES, UNKNOWN


class ActiveTeamManager(models.Manager):
    """As in GregoryAI: inactive teams are soft-deleted and hidden by default."""

    def get_queryset(self):
        return super().get_queryset().filter(is_active=True)


class Team(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    is_active = models.BooleanField(default=True, db_index=True)

    objects = ActiveTeamManager()
    all_objects = models.Manager()

    def __str__(self) -> str:
        return self.slug


class Subject(models.Model):
    # How many algorithms must agree for articles.relevant (gregory.ml.derived_fields).
    ML_CONSENSUS_CHOICES = [
        ("any", "Any: one algorithm is enough"),
        ("majority", "Majority: two algorithms"),
        ("all", "All: three algorithms"),
    ]

    subject_name = models.CharField(max_length=50)
    description = models.TextField(null=True, blank=True)
    subject_slug = models.SlugField()
    auto_predict = models.BooleanField(default=False)
    ml_consensus_type = models.CharField(max_length=10, choices=ML_CONSENSUS_CHOICES, default="any")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, related_name="subjects")

    class Meta:
        db_table = "subjects"
        constraints = [
            models.UniqueConstraint(
                fields=["team", "subject_slug"], name="unique_team_subject_slug"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team.slug if self.team else '-'}/{self.subject_slug}"


class Articles(models.Model):
    article_id = models.AutoField(primary_key=True)
    title = models.TextField()
    link = models.URLField(max_length=2000)
    summary = models.TextField(null=True, blank=True)
    discovery_date = models.DateTimeField(auto_now_add=True, db_index=True)
    # Derived from MLPredictions and relevance rows; GregoryAI's readers sort and filter on them.
    ml_score = models.FloatField(null=True, blank=True, db_index=True)
    relevant = models.BooleanField(default=False, db_index=True)
    subjects = models.ManyToManyField(Subject, related_name="articles")
    teams = models.ManyToManyField(Team, related_name="articles")

    class Meta:
        db_table = "articles"
        verbose_name_plural = "articles"
        constraints = [
            models.UniqueConstraint(fields=["title", "link"], name="unique_article_title_link")
        ]

    def __str__(self) -> str:
        return str(self.article_id)


class ArticleSubjectRelevance(models.Model):
    article = models.ForeignKey(
        Articles, on_delete=models.CASCADE, related_name="article_subject_relevances"
    )
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE)
    # NULL means nobody has reviewed the pair yet.
    is_relevant = models.BooleanField(null=True, blank=True, default=None)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["article", "subject"], name="unique_article_subject_relevance"
            )
        ]


class MLPredictions(models.Model):
    created_date = models.DateTimeField(auto_now_add=True)
    subject = models.ForeignKey(
        Subject, on_delete=models.CASCADE, related_name="ml_subject_predictions"
    )
    article = models.ForeignKey(
        Articles, on_delete=models.CASCADE, null=True, related_name="ml_predictions_detail"
    )
    model_version = models.CharField(max_length=100, null=True, blank=True)
    algorithm = models.CharField(max_length=20, choices=ALGORITHM_CHOICES, default=UNKNOWN)
    probability_score = models.FloatField(null=True, blank=True)
    predicted_relevant = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["article", "subject", "model_version", "algorithm"],
                name="unique_article_subject_prediction",
            )
        ]
        indexes = [
            models.Index(
                fields=["article", "subject", "-created_date"], name="mlpred_art_subj_date_idx"
            )
        ]


class PredictionRunLog(models.Model):
    RUN_TYPES = [("train", "Training"), ("predict", "Prediction")]

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="prediction_run_logs")
    subject = models.ForeignKey(
        Subject, on_delete=models.CASCADE, related_name="prediction_run_logs"
    )
    model_version = models.CharField(max_length=100)
    algorithm = models.CharField(max_length=20, choices=ALGORITHM_CHOICES, default=UNKNOWN)
    run_type = models.CharField(max_length=10, choices=RUN_TYPES)
    run_started = models.DateTimeField(auto_now_add=True)
    run_finished = models.DateTimeField(null=True, blank=True)
    # None while the run is in progress.
    success = models.BooleanField(null=True, blank=True)
    triggered_by = models.CharField(max_length=100, null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["team", "subject", "run_finished"]),
            models.Index(fields=["run_type", "success"]),
        ]

    def __str__(self) -> str:
        return f"{self.run_type} {self.algorithm} {self.subject} {self.model_version}"
