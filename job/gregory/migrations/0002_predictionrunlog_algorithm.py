from django.db import migrations, models


def mark_existing_runs_unknown(apps, schema_editor):
    # Rows logged before the field existed say "unknown", never a guessed algorithm.
    PredictionRunLog = apps.get_model("gregory", "PredictionRunLog")
    PredictionRunLog.objects.filter(algorithm__isnull=True).update(algorithm="unknown")


class Migration(migrations.Migration):
    dependencies = [
        ("gregory", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="predictionrunlog",
            name="algorithm",
            field=models.CharField(
                blank=True,
                choices=[
                    ("pubmed_bert", "PubMed BERT"),
                    ("lgbm_tfidf", "LGBM + TF-IDF"),
                    ("lstm", "LSTM"),
                ],
                max_length=20,
                null=True,
            ),
        ),
        migrations.RunPython(mark_existing_runs_unknown, migrations.RunPython.noop),
    ]
