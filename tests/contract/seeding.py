"""Rows GregoryAI's admin creates before our job runs, written straight into its tables."""

from __future__ import annotations

import datetime as dt


def add_team(conn, slug: str, name: str | None = None) -> int:
    """A team and its organisation, as GregoryAI's admin creates them."""
    now = dt.datetime.now(dt.UTC)
    (org,) = conn.execute(
        "INSERT INTO organizations_organization (name, is_active, created, modified, slug) "
        "VALUES (%s, true, %s, %s, %s) RETURNING id",
        (name or slug, now, now, slug),
    ).fetchone()
    (team,) = conn.execute(
        "INSERT INTO gregory_team (organization_id, name, slug, site_id, is_active) "
        "VALUES (%s, %s, %s, NULL, true) RETURNING id",
        (org, name or slug, slug),
    ).fetchone()
    return team
