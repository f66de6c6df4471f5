"""Render migration files from the Jinja2 template ``templates/migration.py.j2``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import jinja2

from matrx_orm_core.exceptions import MigrationError

__all__ = [
    "EMPTY_DESCRIPTION",
    "migration_filename",
    "python_literal",
    "render_empty",
    "render_migration",
    "render_operations",
    "split_operations",
    "suggest_name",
    "write_new_file",
]

EMPTY_DESCRIPTION = "TODO: describe this migration."
"""Docstring of a file made by ``create_empty``."""

_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class RenderableOperation(Protocol):
    """What rendering needs from an operation (``diff.Operation`` provides it)."""

    @property
    def op_type(self) -> str: ...

    @property
    def table(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def transactional(self) -> bool: ...

    def to_up_sql(self) -> list[str]: ...

    def to_down_sql(self) -> list[str]: ...


def python_literal(text: str) -> str:
    """A Python string literal for ``text`` that evaluates back to exactly ``text``.

    SQL reads best in triple quotes, so triple double quotes are used whenever they
    round-trip, and triple single quotes when the text ends with a double quote (a quoted
    identifier). Both need no
    backslash, no carriage return and only printable characters (plus newline and tab).
    Anything else falls back to ``repr()``, which is always exact.
    """
    plain = "\\" not in text and all(ch.isprintable() or ch in "\n\t" for ch in text)
    if plain and '"""' not in text and not text.endswith('"'):
        return f'"""{text}"""'
    if plain and "'''" not in text and not text.endswith("'"):
        return f"'''{text}'''"
    return repr(text)


def _short_literal(text: str) -> str:
    """``"text"`` for plain one-line strings (dependency names), else ``repr()``."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return repr(text)


def _python_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(_short_literal(item) for item in items) + "]"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("matrx_orm_migrations", "templates"),
        autoescape=False,  # Python source, not HTML; values pass through python_literal
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["pyliteral"] = python_literal
    env.filters["pylist"] = _python_list
    return env


def _check_statements(label: str, statements: Sequence[str]) -> list[str]:
    if isinstance(statements, str) or not all(isinstance(sql, str) for sql in statements):
        raise MigrationError(
            original_error=f"{label} must be a list of SQL strings",
            message=f"render_migration(): {label} must be a list of SQL strings, "
            f"got {statements!r}.",
        )
    return [sql for sql in statements if sql.strip()]


def render_migration(
    *,
    description: str,
    dependencies: Sequence[str],
    up_sql: Sequence[str],
    down_sql: Sequence[str],
    atomic: bool = True,
) -> str:
    """The text of a migration file.

    Args:
        description: the module docstring (operation descriptions joined with ``"; "``).
        dependencies: full stems of the migrations this one follows.
        up_sql: statements of ``up``, in execution order.
        down_sql: statements of ``down``, **in execution order** (the caller reverses the
            operations; each operation's own statements keep their order).
        atomic: ``False`` writes ``atomic = False`` (the file then runs outside a
            transaction, as ``CREATE INDEX CONCURRENTLY`` and ``ALTER TYPE ... ADD VALUE``
            need).

    Returns:
        Python source that ``compile()`` accepts and that ``ruff format`` leaves unchanged
        apart from long SQL lines.

    Raises:
        MigrationError: a statement list is not a list of strings.
    """
    template = _environment().get_template("migration.py.j2")
    text = template.render(
        description=description.strip() or EMPTY_DESCRIPTION,
        dependencies=list(dependencies),
        up_sql=_check_statements("up_sql", up_sql),
        down_sql=_check_statements("down_sql", down_sql),
        atomic=atomic,
    )
    return text if text.endswith("\n") else text + "\n"


def render_empty(*, dependencies: Sequence[str]) -> str:
    """The text of an empty migration (``create_empty``): ``up``/``down`` bodies of ``pass``."""
    return render_migration(
        description=EMPTY_DESCRIPTION, dependencies=dependencies, up_sql=[], down_sql=[]
    )


def render_operations(
    operations: Sequence[RenderableOperation], *, dependencies: Sequence[str]
) -> str:
    """Render a file for diff operations (API.md §5.2).

    The docstring joins the operations' descriptions with ``"; "``; ``down`` runs the
    operations' down statements with the operations reversed; the file is non-atomic when any
    operation must run outside a transaction.
    """
    up_sql = [sql for op in operations for sql in op.to_up_sql()]
    down_sql = [sql for op in reversed(operations) for sql in op.to_down_sql()]
    return render_migration(
        description="; ".join(op.description for op in operations),
        dependencies=dependencies,
        up_sql=up_sql,
        down_sql=down_sql,
        atomic=all(op.transactional for op in operations),
    )


def split_operations(
    operations: Sequence[RenderableOperation],
) -> list[list[RenderableOperation]]:
    """Cut the operations into consecutive runs that share ``transactional``.

    A step PostgreSQL must run outside a transaction (``ALTER TYPE ... ADD VALUE``) then gets
    a file of its own, and the ordinary operations around it keep the all-or-nothing
    transaction of theirs. Order is preserved.
    """
    groups: list[list[RenderableOperation]] = []
    for op in operations:
        if groups and groups[-1][0].transactional == op.transactional:
            groups[-1].append(op)
        else:
            groups.append([op])
    return groups


def suggest_name(operations: Sequence[RenderableOperation]) -> str:
    """The automatic name of a generated migration (API.md §5.2).

    One operation: ``create_<t>``, ``drop_<t>``, ``add_<col>_to_<t>``, ``drop_<col>_from_<t>``
    (other single operations: ``<op_type>_<t>``); several on one table: ``update_<t>``;
    otherwise ``auto``. Characters outside ``[A-Za-z0-9_]`` become ``_``.
    """
    if not operations:
        return "auto"
    tables = {op.table for op in operations}
    if len(operations) == 1:
        op = operations[0]
        column = _column_of(op)
        if op.op_type == "create_table":
            name = f"create_{op.table}"
        elif op.op_type == "drop_table":
            name = f"drop_{op.table}"
        elif op.op_type == "add_column" and column:
            name = f"add_{column}_to_{op.table}"
        elif op.op_type == "drop_column" and column:
            name = f"drop_{column}_from_{op.table}"
        else:
            name = f"{op.op_type}_{op.table}"
    elif len(tables) == 1:
        name = f"update_{next(iter(tables))}"
    else:
        name = "auto"
    return _slug(name)


def _column_of(op: RenderableOperation) -> str | None:
    details = getattr(op, "details", None)
    if not isinstance(details, dict):
        return None
    for key in ("column_name", "column"):
        value = details.get(key)
        if isinstance(value, str):
            return value
        name = getattr(value, "name", None)
        if isinstance(name, str):
            return name
    return None


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_").lower()
    return slug[:80] or "auto"


def migration_filename(number: int, name: str) -> str:
    """``NNNN_<name>.py``.

    Raises:
        MigrationError: ``number`` is outside 1..9999 or ``name`` has characters other than
            letters, digits and ``_``.
    """
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number <= 9999:
        raise MigrationError(
            original_error=f"invalid migration number {number!r}",
            message=f"Migration numbers run from 1 to 9999, got {number!r}.",
        )
    if not isinstance(name, str) or not _NAME.match(name):
        raise MigrationError(
            original_error=f"invalid migration name {name!r}",
            message=(
                f"Migration name {name!r} must be letters, digits and underscores only "
                "(it becomes part of a Python file name), e.g. 'add_posts'."
            ),
        )
    return f"{number:04d}_{name}.py"


def write_new_file(path: Path, source: str) -> None:
    """Write a new migration file (creating its folder); never overwrite one.

    Raises:
        MigrationError: ``path`` exists already (naming the file).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8", newline="\n") as handle:
            handle.write(source)
    except FileExistsError as err:
        raise MigrationError(
            migration=path.stem,
            original_error=err,
            message=f"Migration file {path} already exists; pick another name or number.",
        ) from err
