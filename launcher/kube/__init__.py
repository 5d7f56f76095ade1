"""Kubernetes objects of gregory-train, built as client models by pure functions."""

from launcher.kube.job_builder import (
    LABEL_APP,
    LABEL_COMPONENT,
    LABEL_RUN_ID,
    LABEL_SUBJECT,
    LABEL_TEAM,
    RUN_SELECTOR,
    JobSettings,
    build_training_job,
    job_name,
    new_run_id,
)

__all__ = [
    "LABEL_APP",
    "LABEL_COMPONENT",
    "LABEL_RUN_ID",
    "LABEL_SUBJECT",
    "LABEL_TEAM",
    "RUN_SELECTOR",
    "JobSettings",
    "build_training_job",
    "job_name",
    "new_run_id",
]
