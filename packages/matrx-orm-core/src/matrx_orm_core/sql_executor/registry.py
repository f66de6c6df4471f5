"""The named-query registry: ``SQLQuery`` definitions checked and compiled once, at registration."""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from typing_extensions import NotRequired, TypedDict

from matrx_orm_core.exceptions import ValidationError
from matrx_orm_core.sqltext import ScanError, Statement, scan

__all__ = [
    "EXECUTOR_TYPES",
    "PreparedQuery",
    "QueryParam",
    "QueryRegistry",
    "SQLQuery",
    "get_registry",
    "register_query",
]

ExecutorType = Literal["standard", "transaction", "batch"]

EXECUTOR_TYPES: tuple[str, ...] = ("standard", "transaction", "batch")
"""The accepted ``SQLQuery["executor_type"]`` values (``"standard"`` when absent)."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class QueryParam(TypedDict):
    """One named parameter of a registered query (``:name`` in its SQL)."""

    name: str
    required: NotRequired[bool]
    description: NotRequired[str]
    type: NotRequired[str]
    default: NotRequired[Any]


class SQLQuery(TypedDict):
    """A named query: SQL with ``:name`` placeholders, its parameters and where it runs."""

    query: str
    database: str
    params: NotRequired[list[QueryParam]]
    description: NotRequired[str]
    example: NotRequired[str]
    executor_type: NotRequired[ExecutorType]


@dataclass(frozen=True)
class PreparedQuery:
    """A registered query compiled for execution.

    Attributes:
        name: The registry name.
        definition: A private copy of the registered ``SQLQuery``.
        statements: The statements, each with ``$n`` placeholders and its parameter order.
        executor_type: ``"standard"``, ``"transaction"`` or ``"batch"``.
        required: Names of required parameters.
        defaults: Default values of the optional parameters (``None`` when none is given).
    """

    name: str
    definition: SQLQuery
    statements: tuple[Statement, ...]
    executor_type: str
    required: frozenset[str]
    defaults: Mapping[str, Any]

    @property
    def database(self) -> str:
        """The database project the query runs on."""
        return self.definition["database"]

    @property
    def writes(self) -> bool:
        """Whether any statement may change data (running it clears the model cache)."""
        return not all(statement.read_only for statement in self.statements)

    def bind(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Check ``params`` against the definition and apply defaults.

        Returns:
            A value for every declared parameter.

        Raises:
            ValidationError: ``params`` is not a mapping, names an undeclared parameter, or
                lacks required ones (every offending name is listed).
        """
        if params is None:
            params = {}
        elif not isinstance(params, Mapping):
            raise _error(self.name, f"params must be a dict of name → value, not {type(params)}")
        declared = self.defaults.keys() | self.required
        unknown = sorted(str(key) for key in params if key not in declared)
        if unknown:
            raise _error(
                self.name,
                f"unknown parameter(s) {', '.join(unknown)}; declared: "
                f"{', '.join(sorted(declared)) or '(none)'}",
                field=unknown[0],
            )
        missing = sorted(name for name in self.required if name not in params)
        if missing:
            raise _error(
                self.name,
                f"missing required parameter(s) {', '.join(missing)}",
                field=missing[0],
            )
        values = dict(self.defaults)
        values.update(params)
        return values


def _error(query: str, reason: str, field: str | None = None) -> ValidationError:
    message = f"Query '{query}': {reason}."
    return ValidationError(
        message=message, field=field, reason=reason, details={"query_name": query}
    )


def _prepare(name: str, definition: SQLQuery) -> PreparedQuery:
    """Check a definition and compile its SQL."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(
            message="A query name must be a non-empty string.", reason="empty query name"
        )
    if not isinstance(definition, Mapping):
        raise _error(name, f"the definition must be a dict (SQLQuery), not {type(definition)}")
    unknown_keys = sorted(set(definition) - set(SQLQuery.__annotations__))
    if unknown_keys:
        raise _error(name, f"unknown definition key(s) {', '.join(map(str, unknown_keys))}")
    sql = definition.get("query")
    if not isinstance(sql, str) or not sql.strip():
        raise _error(name, "'query' must be a non-empty SQL string", field="query")
    database = definition.get("database")
    if not isinstance(database, str) or not database:
        raise _error(name, "'database' must name a registered database project", "database")
    executor_type = definition.get("executor_type", "standard")
    if executor_type not in EXECUTOR_TYPES:
        raise _error(
            name,
            f"executor_type must be one of {', '.join(EXECUTOR_TYPES)}",
            field="executor_type",
        )

    required: set[str] = set()
    defaults: dict[str, Any] = {}
    for param in definition.get("params") or []:
        pname = param.get("name") if isinstance(param, Mapping) else None
        if not isinstance(pname, str) or _NAME.match(pname) is None:
            raise _error(name, "every param needs a 'name' that is a plain identifier", "params")
        if pname in required or pname in defaults:
            raise _error(name, f"parameter '{pname}' is declared twice", field=pname)
        if param.get("required", False):
            required.add(pname)
        else:
            defaults[pname] = param.get("default")

    try:
        statements = tuple(scan(sql))
    except ScanError as err:
        raise _error(name, f"the SQL cannot be parsed: {err}", field="query") from None
    if not statements:
        raise _error(name, "the SQL holds no statement", field="query")
    if any(statement.positional for statement in statements):
        raise _error(name, "use :name placeholders, not $n, in a registered query", field="query")
    used = {pname for statement in statements for pname in statement.names}
    declared = required | defaults.keys()
    undeclared = sorted(used - declared)
    if undeclared:
        raise _error(
            name,
            f"the SQL uses undeclared parameter(s) {', '.join(':' + p for p in undeclared)} "
            "(declare them in 'params'; write a slice as a[x : y])",
            field=undeclared[0],
        )
    unused = sorted(declared - used)
    if unused:
        raise _error(name, f"declared parameter(s) {', '.join(unused)} are not used in the SQL")
    if executor_type == "standard" and len(statements) > 1:
        raise _error(
            name,
            f"a standard query runs one statement, this one has {len(statements)}; "
            "use executor_type='transaction' to run several in one transaction",
            field="executor_type",
        )
    return PreparedQuery(
        name=name,
        definition=copy.deepcopy(definition),
        statements=statements,
        executor_type=executor_type,
        required=frozenset(required),
        defaults=defaults,
    )


class QueryRegistry:
    """Named SQL queries, each checked and compiled when it is registered (thread-safe)."""

    def __init__(self) -> None:
        self._queries: dict[str, PreparedQuery] = {}
        self._lock = threading.Lock()

    def register(self, name: str, query: SQLQuery) -> None:
        """Add ``query`` under ``name``.

        Its ``:name`` placeholders are rewritten once, here, into ``$n`` positional parameters.

        Raises:
            ValidationError: (a ``ValueError``) the name is taken, or the definition is invalid:
                a bad executor type, a parameter used but not declared or declared but not used,
                ``$n`` placeholders, unterminated quotes, or several statements in a standard
                query.
        """
        prepared = _prepare(name, query)
        with self._lock:
            if name in self._queries:
                raise _error(name, "a query with this name is already registered", field=None)
            self._queries[name] = prepared

    def get(self, name: str) -> SQLQuery | None:
        """Return a copy of the definition registered as ``name``, or ``None``."""
        prepared = self._queries.get(name)
        return None if prepared is None else copy.deepcopy(prepared.definition)

    def exists(self, name: str) -> bool:
        """Whether ``name`` is registered."""
        return name in self._queries

    def list_names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._queries)

    def get_all(self) -> dict[str, SQLQuery]:
        """A copy of every definition, by name."""
        return {name: copy.deepcopy(p.definition) for name, p in list(self._queries.items())}

    def clear(self) -> None:
        """Forget every query."""
        with self._lock:
            self._queries.clear()

    def unregister(self, name: str) -> bool:
        """Remove ``name``.

        Returns:
            ``True`` if it was registered.
        """
        with self._lock:
            return self._queries.pop(name, None) is not None

    def prepared(self, name: str) -> PreparedQuery:
        """The compiled form of ``name``.

        Returns:
            The prepared query.

        Raises:
            ValidationError: No query has that name (the message lists the registered ones).
        """
        try:
            return self._queries[name]
        except (KeyError, TypeError):
            names = ", ".join(self._queries) or "(none registered)"
            raise _error(str(name), f"no such query; available: {names}") from None


_registry = QueryRegistry()


def get_registry() -> QueryRegistry:
    """Return the process-wide registry that ``execute_query`` reads."""
    return _registry


def register_query(name: str, query: SQLQuery) -> None:
    """Register ``query`` under ``name`` in the process-wide registry.

    Raises:
        ValidationError: As :meth:`QueryRegistry.register`.
    """
    _registry.register(name, query)
