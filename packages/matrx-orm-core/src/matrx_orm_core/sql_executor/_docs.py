"""Describing registered queries: listings, details, Markdown documentation and help text."""

from __future__ import annotations

from typing import Any

from .registry import PreparedQuery, get_registry

__all__ = [
    "display_help",
    "generate_documentation",
    "get_query_details",
    "list_available_queries",
]


def _param_rows(prepared: PreparedQuery) -> list[dict[str, Any]]:
    return [
        {
            "name": param["name"],
            "required": bool(param.get("required", False)),
            "type": param.get("type", ""),
            "default": param.get("default"),
            "description": param.get("description", ""),
        }
        for param in prepared.definition.get("params") or []
    ]


def list_available_queries() -> list[dict[str, Any]]:
    """A summary of every registered query, in registration order.

    Returns:
        One dict per query: ``name``, ``description``, ``database``, ``executor_type`` and
        ``params`` (the parameter names).
    """
    registry = get_registry()
    summaries = []
    for name in registry.list_names():
        prepared = registry.prepared(name)
        summaries.append(
            {
                "name": name,
                "description": prepared.definition.get("description", ""),
                "database": prepared.database,
                "executor_type": prepared.executor_type,
                "params": [row["name"] for row in _param_rows(prepared)],
            }
        )
    return summaries


def get_query_details(query_name: str) -> dict[str, Any]:
    """Everything known about one registered query.

    Returns:
        ``name``, ``description``, ``database``, ``executor_type``, ``query`` (as registered),
        ``statements`` (the SQL sent, with ``$n`` placeholders, and the parameter order of
        each), ``params`` (full parameter descriptions) and ``example``.

    Raises:
        ValidationError: No query has that name.
    """
    prepared = get_registry().prepared(query_name)
    definition = prepared.definition
    return {
        "name": prepared.name,
        "description": definition.get("description", ""),
        "database": prepared.database,
        "executor_type": prepared.executor_type,
        "query": definition["query"],
        "statements": [
            {"sql": statement.sql, "param_order": list(statement.names)}
            for statement in prepared.statements
        ],
        "params": _param_rows(prepared),
        "example": definition.get("example", ""),
    }


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _query_markdown(details: dict[str, Any], level: str) -> list[str]:
    lines = [f"{level} {details['name']}", ""]
    if details["description"]:
        lines += [details["description"], ""]
    lines += [
        f"- Database: `{details['database']}`",
        f"- Executor: `{details['executor_type']}`",
        "",
    ]
    if details["params"]:
        lines += [
            "| Parameter | Type | Required | Default | Description |",
            "|---|---|---|---|---|",
        ]
        for param in details["params"]:
            default = "" if param["required"] else repr(param["default"])
            lines.append(
                f"| `{param['name']}` | {_cell(param['type'])} | "
                f"{'yes' if param['required'] else 'no'} | {_cell(default)} | "
                f"{_cell(param['description'])} |"
            )
        lines.append("")
    else:
        lines += ["No parameters.", ""]
    fence = "````" if "```" in details["query"] else "```"
    lines += [f"{fence}sql", details["query"].strip(), fence, ""]
    if details["example"]:
        lines += ["Example:", "", "```python", str(details["example"]).strip(), "```", ""]
    return lines


def generate_documentation() -> str:
    """Markdown documentation of every registered query.

    Returns:
        The Markdown text (a heading, then one section per query).
    """
    lines = ["# SQL queries", ""]
    names = get_registry().list_names()
    if not names:
        lines.append("No queries are registered.")
        return "\n".join(lines) + "\n"
    for name in names:
        lines += _query_markdown(get_query_details(name), "##")
    return "\n".join(lines).rstrip("\n") + "\n"


def display_help(query_name: str | None = None) -> str:
    """Help text for one query, or a list of every query with how to run one.

    Library code does not print: show the returned text yourself.

    Returns:
        The help text (Markdown).

    Raises:
        ValidationError: ``query_name`` is given and no query has that name.
    """
    if query_name is not None:
        return "\n".join(_query_markdown(get_query_details(query_name), "#")).rstrip() + "\n"
    queries = list_available_queries()
    lines = ["# Available SQL queries", ""]
    if not queries:
        lines.append("No queries are registered. Add one with register_query(name, SQLQuery).")
    for query in queries:
        params = ", ".join(query["params"]) or "no parameters"
        description = f": {query['description']}" if query["description"] else ""
        lines.append(f"- `{query['name']}` ({params}){description}")
    lines += [
        "",
        "Run one with `await execute_query(name, params={...})` "
        "(or `execute_query_sync` outside async code);",
        "`display_help(name)` shows its parameters and SQL.",
    ]
    return "\n".join(lines) + "\n"
