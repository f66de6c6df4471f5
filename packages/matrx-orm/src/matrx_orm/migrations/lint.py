"""The migration safety lint (from ``matrx_orm_migrations.lint``)."""

from __future__ import annotations

from matrx_orm_migrations.lint import (
    MigrationSafetyWarning,
    SafetyIssue,
    lint_operations,
    rewrites_table,
)

__all__ = ["MigrationSafetyWarning", "SafetyIssue", "lint_operations", "rewrites_table"]
