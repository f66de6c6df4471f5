"""Introspection queries: the schema name is always a bound parameter; rows → schema model."""

from __future__ import annotations

import pytest

from matrx_orm_core.exceptions import MigrationError
from matrx_orm_core.testing import Recorder
from matrx_orm_migrations import MigrationDB
from matrx_orm_migrations.introspect import (
    LIST_COLUMNS_SQL,
    LIST_CONSTRAINTS_SQL,
    LIST_DOMAINS_SQL,
    LIST_ENUMS_SQL,
    LIST_INDEXES_SQL,
    LIST_SCHEMAS_SQL,
    LIST_TABLES_SQL,
    introspect_schema,
    list_schemas,
)
from matrx_orm_migrations.schema import (
    Column,
    ForeignKey,
    Index,
    PrimaryKey,
    Schema,
    Table,
)

HOSTILE = "s'; DROP SCHEMA public CASCADE; --"


def _column(table: str, name: str, formatted: str, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "table_name": table,
        "name": name,
        "position": 1,
        "formatted": formatted,
        "typtype": "b",
        "type_schema": "pg_catalog",
        "type_name": formatted,
        "elem_typtype": None,
        "elem_schema": None,
        "elem_name": None,
        "not_null": False,
        "default_expr": None,
        "identity": "",
        "generated": "",
        "owns_sequence": False,
    }
    row.update(extra)
    return row


async def test_queries_bind_the_schema_and_rows_build_the_model(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"name": "post"}, {"name": "_matrx_migrations"}])
    recording_db.add_result(
        rows=[
            _column(
                "post",
                "id",
                "integer",
                not_null=True,
                owns_sequence=True,
                default_expr="nextval('post_id_seq'::regclass)",
            ),
            _column("post", "mood", "mood", typtype="e", type_schema=HOSTILE, type_name="mood"),
            _column(
                "post",
                "moods",
                "mood[]",
                typtype="b",
                elem_typtype="e",
                elem_schema=HOSTILE,
                elem_name="mood",
            ),
            _column(
                "post", "title", "character varying(20)", default_expr="'x'::character varying"
            ),
        ]
    )
    recording_db.add_result(
        rows=[
            {
                "table_name": "post",
                "name": "post_pkey",
                "kind": "p",
                "columns": ["id"],
                "ref_schema": None,
                "ref_table": None,
                "ref_columns": [],
                "on_delete": " ",
                "on_update": " ",
                "check_expr": None,
            },
            {
                "table_name": "post",
                "name": "post_self_fk",
                "kind": "f",
                "columns": ["id"],
                "ref_schema": HOSTILE,
                "ref_table": "post",
                "ref_columns": ["id"],
                "on_delete": "c",
                "on_update": "r",
                "check_expr": None,
            },
        ]
    )
    recording_db.add_result(
        rows=[
            {
                "table_name": "post",
                "name": "post_title_idx",
                "is_unique": False,
                "method": "btree",
                "columns": ["title"],
                "predicate": None,
                "definition": "CREATE INDEX post_title_idx ON s.post USING btree (title)",
            }
        ]
    )
    recording_db.add_result(rows=[])
    recording_db.add_result(rows=[])
    snapshot = await introspect_schema(MigrationDB("recorded"), HOSTILE)
    assert recording_db.statements == [
        (LIST_TABLES_SQL, (HOSTILE,)),
        (LIST_COLUMNS_SQL, (HOSTILE,)),
        (LIST_CONSTRAINTS_SQL, (HOSTILE,)),
        (LIST_INDEXES_SQL, (HOSTILE,)),
        (LIST_ENUMS_SQL, (HOSTILE,)),
        (LIST_DOMAINS_SQL, (HOSTILE,)),
    ]
    quoted = '"s\'; DROP SCHEMA public CASCADE; --"'
    assert snapshot == Schema(
        HOSTILE,
        (
            Table(
                "post",
                HOSTILE,
                (
                    Column("id", "integer", nullable=False, serial=True),
                    Column("mood", f'{quoted}."mood"'),
                    Column("moods", f'{quoted}."mood"[]'),
                    Column("title", "character varying(20)", default="'x'::character varying"),
                ),
                PrimaryKey("post_pkey", ("id",)),
                foreign_keys=(
                    ForeignKey(
                        "post_self_fk", ("id",), HOSTILE, "post", ("id",), "CASCADE", "RESTRICT"
                    ),
                ),
                indexes=(Index("post_title_idx", ("title",)),),
            ),
        ),
    )
    definition = snapshot.tables[0].indexes[0].definition
    assert definition == "CREATE INDEX post_title_idx ON s.post USING btree (title)"


async def test_list_schemas(recording_db: Recorder) -> None:
    recording_db.add_result(rows=[{"name": "app"}, {"name": "public"}])
    assert await list_schemas(MigrationDB("recorded")) == ["app", "public"]
    assert recording_db.statements == [(LIST_SCHEMAS_SQL, ())]


@pytest.mark.parametrize("schema", ["", None, 3])
async def test_schema_name_required(recording_db: Recorder, schema: object) -> None:
    with pytest.raises(MigrationError, match="needs a schema name"):
        await introspect_schema(MigrationDB("recorded"), schema)  # type: ignore[arg-type]
    assert recording_db.statements == []
