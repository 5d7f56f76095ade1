"""The slice of GregoryAI's schema the training job reads and writes; names match GregoryAI's."""

from django.db import models

ALGORITHM_CHOICES = [
    ("pubmed_bert", "PubMed BERT"),
    ("lgbm_tfidf", "LGBM + TF-IDF"),
    ("lstm", "LSTM"),
]


class Team(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.slug


class Subject(models.Model):
    subject_name = models.CharField(max_length=200)
    subject_slug = models.SlugField(max_length=100)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="subjects")
    auto_predict = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "subject_slug"], name="unique_subject_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.subject_slug}"


class Articles(models.Model):
    article_id = models.AutoField(primary_key=True)
    title = models.TextField()
    summary = models.TextField(null=True, blank=True)
    discovery_date = models.DateTimeField(db_index=True)
    # Not in GregoryAI: lets import_articles re-import the same file without duplicates.
    external_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    subjects = models.ManyToManyField(Subject, related_name="articles", blank=True)
    teams = models.ManyToManyField(Team, related_name="articles", blank=True)

    class Meta:
        verbose_name_plural = "articles"

    def __str__(self) -> str:
        return self.title[:80]


class ArticleSubjectRelevance(models.Model):
    article = models.ForeignKey(Articles, on_delete=models.CASCADE, related_name="relevances")
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="relevances")
    # NULL means nobody has reviewed the pair yet.
    is_relevant = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["article", "subject"], name="unique_relevance_per_article_subject"
            )
        ]


class PredictionRunLog(models.Model):
    RUN_TYPES = [("train", "Training"), ("predict", "Prediction")]

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="prediction_runs")
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="prediction_runs")
    model_version = models.CharField(max_length=100)
    algorithm = models.CharField(max_length=20, choices=ALGORITHM_CHOICES, null=True, blank=True)
    run_type = models.CharField(max_length=10, choices=RUN_TYPES)
    run_started = models.DateTimeField(auto_now_add=True)
    run_finished = models.DateTimeField(null=True, blank=True)
    # None while the run is in progress.
    success = models.BooleanField(null=True)
    triggered_by = models.CharField(max_length=200, null=True, blank=True)
    error_message = models.TextField(null=True, blank=True)
    # Not in GregoryAI: how many pseudo-labelled articles joined the training split.
    pseudo_labels_added = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-run_started"]

    def __str__(self) -> str:
        return f"{self.run_type} {self.algorithm} {self.subject} {self.model_version}"
