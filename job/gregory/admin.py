from django.contrib import admin

from gregory.models import Articles, ArticleSubjectRelevance, PredictionRunLog, Subject, Team


@admin.register(PredictionRunLog)
class PredictionRunLogAdmin(admin.ModelAdmin):
    list_display = (
        "run_type",
        "team",
        "subject",
        "algorithm",
        "model_version",
        "success",
        "run_started",
        "run_finished",
        "triggered_by",
    )
    list_filter = ("run_type", "algorithm", "success", "team")
    search_fields = ("model_version", "triggered_by", "error_message")


admin.site.register(Team)
admin.site.register(Subject)
admin.site.register(Articles)
admin.site.register(ArticleSubjectRelevance)
