"""Kubernetes objects of gregory-train, built as client models by pure functions."""
