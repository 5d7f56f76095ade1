import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_algorithm_migration_marks_existing_runs_unknown():
    executor = MigrationExecutor(connection)
    executor.migrate([("gregory", "0001_initial")])
    old = executor.loader.project_state([("gregory", "0001_initial")]).apps
    Team = old.get_model("gregory", "Team")
    Subject = old.get_model("gregory", "Subject")
    Log = old.get_model("gregory", "PredictionRunLog")
    team = Team.objects.create(name="T", slug="t")
    subject = Subject.objects.create(team=team, subject_name="S", subject_slug="s")
    Log.objects.create(
        team=team,
        subject=subject,
        model_version="v1",
        run_type="train",
        run_started=timezone.now(),
        success=True,
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    new = executor.loader.project_state(executor.loader.graph.leaf_nodes()).apps
    row = new.get_model("gregory", "PredictionRunLog").objects.get()
    assert row.algorithm == "unknown"
    assert row.model_version == "v1" and row.success is True
