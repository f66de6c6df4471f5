"""Where the schema builder writes generated code (the targets of get_code_config)."""

from __future__ import annotations

import os
from pathlib import PurePath
from typing import Any

__all__ = ["code_targets"]


def _code_target(root: str, temp_path: str, file_location: str) -> dict[str, Any]:
    return {
        "temp_path": temp_path,
        "root": root,
        "file_location": file_location,
        "import_lines": [],
        "additional_top_lines": [],
        "additional_bottom_lines": [],
    }


def code_targets(
    alias: str,
    python_root: str | os.PathLike[str] | None,
    ts_root: str | os.PathLike[str] | None,
) -> dict[str, dict[str, Any]]:
    """The output targets for a database alias (see ``matrx_orm_core.config.get_code_config``)."""
    py = os.fspath(python_root) if python_root is not None else None
    py = py or os.environ.get("ADMIN_PYTHON_ROOT") or os.getcwd()
    ts = os.fspath(ts_root) if ts_root is not None else None
    ts = ts or os.environ.get("ADMIN_TS_ROOT") or os.getcwd()
    package = os.path.join(py, "database", alias)
    rel = PurePath("database", alias).as_posix()
    schema = os.path.join(ts, "utils", "schema")
    processing = os.path.join(schema, "schema-processing")
    types_dir = os.path.join(ts, "types")
    hooks = os.path.join(ts, "lib", "redux", "entity", "hooks")
    ts_targets = {
        "typescript_schema": (schema, "initialSchemas.ts", "utils/schema"),
        "typescript_individual_table_schemas": (
            schema,
            "initialTableSchemas.ts",
            "utils/schema",
        ),
        "typescript_entity_fields": (schema, "entityFieldNameGroups.ts", "utils/schema"),
        "primary_keys": (schema, "entityPrimaryKeys.ts", "utils/schema"),
        "typescript_lookup": (schema, "lookupSchema.ts", "utils/schema"),
        "typescript_types": (types_dir, "AutomationSchemaTypes.ts", "types"),
        "entity_typescript_types": (types_dir, "entities.ts", "types"),
        "typescript_entity_overrides": (
            processing,
            "entityOverrides.ts",
            "utils/schema/schema-processing",
        ),
        "typescript_entity_field_overrides": (
            processing,
            "fieldOverrides.ts",
            "utils/schema/schema-processing",
        ),
        "typescript_entity_main_hooks": (hooks, "entityMainHooks.ts", "lib/redux/entity/hooks"),
    }
    targets = {
        "python_models": _code_target(package, "models.py", f"# File: {rel}/models.py"),
        "python_base_manager": _code_target(
            os.path.join(package, "managers"), "", f"# File: {rel}/managers/"
        ),
        "python_all_managers": _code_target(
            os.path.join(package, "managers"), "__init__.py", f"# File: {rel}/managers/__init__.py"
        ),
        "python_auto_config": _code_target(
            os.path.join(package, "helpers"),
            "auto_config.py",
            f"# File: {rel}/helpers/auto_config.py",
        ),
    }
    for key, (root, file_name, folder) in ts_targets.items():
        targets[key] = _code_target(root, file_name, f"// File: {folder}/{file_name}")
    return targets
