"""Level 1: DatabaseProjectConfig, from_url, the DatabaseRegistry and the lookup functions."""

from __future__ import annotations

import dataclasses
import logging
import os
import ssl
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from matrx_orm_core import _dsn as dsn_module
from matrx_orm_core import config as config_module
from matrx_orm_core.config import (
    DatabaseConfigError,
    DatabaseProjectConfig,
    DatabaseRegistry,
    get_all_database_project_names,
    get_all_database_projects_redacted,
    get_code_config,
    get_config,
    get_connection_string,
    get_database_alias,
    get_database_config,
    get_default_database,
    get_manager_config,
    get_schema_builder_overrides,
    register_database,
)
from matrx_orm_core.exceptions import ConfigurationError, ConfigurationWarning

PASSWORD = "s3cr3t-Pw"
ENV_VARS = (
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "MATRX_DEFAULT_DATABASE",
    "ADMIN_PYTHON_ROOT",
    "ADMIN_TS_ROOT",
)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    # No socket directory holds a server unless a test creates one.
    monkeypatch.setattr(dsn_module, "_DEFAULT_SOCKET_DIRS", (str(tmp_path / "nosock"),))
    # Each test starts from an empty registry; what was registered before (the level2 session
    # fixture's `matrx_test` when both levels run in one process) comes back afterwards.
    saved = [
        DatabaseRegistry.get_config_dataclass(name)
        for name in DatabaseRegistry.get_all_database_project_names()
    ]
    DatabaseRegistry.reset()
    try:
        yield
    finally:
        DatabaseRegistry.reset()
        for config in saved:
            DatabaseRegistry.register(config)


def make(
    name: str = "test_project", alias: str = "test_alias", **overrides: Any
) -> DatabaseProjectConfig:
    values: dict[str, Any] = {
        "name": name,
        "host": "localhost",
        "port": "5432",
        "database_name": "testdb",
        "user": "admin",
        "password": PASSWORD,
        "alias": alias,
    }
    values.update(overrides)
    return DatabaseProjectConfig(**values)


def test_all_lists_every_public_name() -> None:
    assert config_module.__all__ == [
        "DEFAULT_DATABASE_ENV",
        "SSL_MODES",
        "DatabaseConfigError",
        "DatabaseProjectConfig",
        "DatabaseRegistry",
        "get_all_database_project_names",
        "get_all_database_projects_redacted",
        "get_code_config",
        "get_config",
        "get_connection_string",
        "get_database_alias",
        "get_database_config",
        "get_default_database",
        "get_manager_config",
        "get_schema_builder_overrides",
        "register_database",
        "registry",
    ]
    for name in config_module.__all__:
        assert hasattr(config_module, name), name


# --- the dataclass ---------------------------------------------------------------------------


def test_field_order_and_defaults() -> None:
    fields = dataclasses.fields(DatabaseProjectConfig)
    assert [f.name for f in fields] == [
        "name",
        "host",
        "port",
        "database_name",
        "user",
        "password",
        "alias",
        "manager_config_overrides",
        "entity_overrides",
        "field_overrides",
        "additional_schemas",
        "ssl",
        "min_size",
        "max_size",
        "command_timeout",
        "statement_cache_size",
        "pooler",
        "direct_url",
        "connect_timeout",
        "driver",
        "server_settings",
    ]
    cfg = make()
    assert cfg.manager_config_overrides == {}
    assert cfg.entity_overrides == {}
    assert cfg.field_overrides == {}
    assert cfg.additional_schemas == []
    assert cfg.ssl == "prefer"
    assert (cfg.min_size, cfg.max_size) == (5, 20)
    assert cfg.command_timeout is None
    assert cfg.statement_cache_size is None
    assert cfg.pooler is None
    assert cfg.direct_url is None
    assert cfg.connect_timeout == 10.0
    assert cfg.driver == "asyncpg"
    assert cfg.server_settings == {}
    assert make().additional_schemas is not cfg.additional_schemas


def test_positional_construction_in_upstream_order() -> None:
    cfg = DatabaseProjectConfig("p", "h", "5432", "db", "u", "pw", "a")
    assert (cfg.name, cfg.host, cfg.port, cfg.database_name, cfg.user, cfg.password, cfg.alias) == (
        "p",
        "h",
        "5432",
        "db",
        "u",
        "pw",
        "a",
    )


@pytest.mark.parametrize(
    ("port", "number"), [("5432", 5432), (5433, 5433), (" 6000 ", 6000), ("1", 1), (65535, 65535)]
)
def test_port_int_or_digits(port: str | int, number: int) -> None:
    cfg = make(port=port)
    assert cfg.port == port
    assert cfg.port_number == number


@pytest.mark.parametrize("password", ["", None])
def test_empty_password_allowed(password: str | None) -> None:
    register_database(make(password=password))
    assert get_config("test_project").password == password
    assert get_connection_string("test_project") == "postgresql://admin@localhost:5432/testdb"


def test_socket_host_allowed() -> None:
    cfg = make(host="/var/run/postgresql", password=None)
    assert cfg.uses_socket is True
    assert make().uses_socket is False
    assert cfg.dsn() == "postgresql://admin@/testdb?host=/var/run/postgresql&port=5432"


@pytest.mark.parametrize(
    "value", ["disable", "allow", "prefer", "require", "verify-ca", "verify-full", True, False]
)
def test_ssl_values_accepted(value: str | bool) -> None:
    assert make(ssl=value).ssl == value


def test_ssl_context_accepted() -> None:
    context = ssl.create_default_context()
    assert make(ssl=context).ssl is context


def test_name_must_be_non_empty() -> None:
    with pytest.raises(DatabaseConfigError, match="name must be a non-empty string") as info:
        make(name=" ")
    assert info.value.details["config_key"] == "name"


@pytest.mark.parametrize("alias", ["", "   ", None])
def test_empty_alias_raises(alias: Any) -> None:
    with pytest.raises(DatabaseConfigError) as info:
        make(alias=alias)
    assert info.value.message == (
        "Database alias cannot be empty for 'test_project'. Pass alias='...': a short name, "
        "unique across registered databases, used for generated-code folders."
    )
    assert info.value.details["config_key"] == "alias"


@pytest.mark.parametrize("alias", ["a/b", "a\\b", "..", "."])
def test_alias_is_a_folder_name(alias: str) -> None:
    with pytest.raises(DatabaseConfigError, match="alias: must not contain a path separator"):
        make(alias=alias)


def test_missing_fields_are_listed_together() -> None:
    with pytest.raises(DatabaseConfigError) as info:
        make(host="", port=None, user="  ")
    assert info.value.message == (
        "Missing required configuration fields for 'test_project': host, port, user. "
        "Please check your environment variables."
    )
    assert info.value.details["config_key"] == "host"


@pytest.mark.parametrize("key", ["host", "port", "database_name", "user"])
def test_each_required_field(key: str) -> None:
    with pytest.raises(
        DatabaseConfigError,
        match=f"Missing required configuration fields for 'test_project': {key}\\.",
    ):
        make(**{key: ""})


@pytest.mark.parametrize(
    ("overrides", "key", "text"),
    [
        ({"port": "abc"}, "port", "must be an int or a string of digits (got 'abc')"),
        ({"port": "54x"}, "port", "must be an int or a string of digits (got '54x')"),
        ({"port": 5432.0}, "port", "must be an int or a string of digits (got 5432.0)"),
        ({"port": True}, "port", "must be an int or a string of digits (got True)"),
        ({"port": 0}, "port", "must be between 1 and 65535 (got 0)"),
        ({"port": "65536"}, "port", "must be between 1 and 65535 (got '65536')"),
        ({"host": 127}, "host", "must be a string (got int)"),
        ({"database_name": b"db"}, "database_name", "must be a string (got bytes)"),
        ({"user": ["u"]}, "user", "must be a string (got list)"),
        ({"password": 123}, "password", "must be a string or None (got int)"),
        ({"manager_config_overrides": []}, "manager_config_overrides", "must be a dict (got list)"),
        ({"entity_overrides": None}, "entity_overrides", "must be a dict (got NoneType)"),
        ({"field_overrides": "x"}, "field_overrides", "must be a dict (got str)"),
        (
            {"additional_schemas": "auth"},
            "additional_schemas",
            "must be a list of schema names (got 'auth')",
        ),
        (
            {"additional_schemas": [""]},
            "additional_schemas",
            "must be a list of schema names (got [''])",
        ),
        (
            {"ssl": "on"},
            "ssl",
            "must be one of disable, allow, prefer, require, verify-ca, verify-full, a bool or an "
            "ssl.SSLContext (got 'on')",
        ),
        ({"min_size": -1}, "min_size", "must be an int >= 0 (got -1)"),
        ({"min_size": True}, "min_size", "must be an int >= 0 (got True)"),
        ({"max_size": 0}, "max_size", "must be an int >= 1 (got 0)"),
        ({"max_size": 2.5}, "max_size", "must be an int >= 1 (got 2.5)"),
        ({"min_size": 10, "max_size": 5}, "min_size", "must not exceed max_size (10 > 5)"),
        ({"command_timeout": 0}, "command_timeout", "must be a number > 0 or None (got 0)"),
        ({"command_timeout": "5"}, "command_timeout", "must be a number > 0 or None (got '5')"),
        (
            {"statement_cache_size": -1},
            "statement_cache_size",
            "must be an int >= 0 or None (got -1)",
        ),
        ({"pooler": "yes"}, "pooler", "must be True, False or None (got 'yes')"),
        ({"direct_url": 5}, "direct_url", "must be a postgresql:// URL string or None"),
        ({"connect_timeout": 0}, "connect_timeout", "must be a number > 0 (got 0)"),
        ({"connect_timeout": None}, "connect_timeout", "must be a number > 0 (got None)"),
        ({"driver": ""}, "driver", "must be a driver name such as 'asyncpg' (got '')"),
        ({"server_settings": {"a": 1}}, "server_settings", "must be a dict of str to str"),
        ({"server_settings": [("a", "b")]}, "server_settings", "must be a dict of str to str"),
    ],
)
def test_invalid_values(overrides: dict[str, Any], key: str, text: str) -> None:
    with pytest.raises(DatabaseConfigError) as info:
        make(**overrides)
    assert (
        info.value.message
        == f"Invalid configuration for database 'test_project':\n  - {key}: {text}"
    )
    assert info.value.details["config_key"] == key


def test_several_problems_in_one_message() -> None:
    with pytest.raises(DatabaseConfigError) as info:
        make(port=0, min_size=-1, ssl="nope")
    assert info.value.message.splitlines() == [
        "Invalid configuration for database 'test_project':",
        "  - port: must be between 1 and 65535 (got 0)",
        "  - ssl: must be one of disable, allow, prefer, require, verify-ca, verify-full, a bool "
        "or an ssl.SSLContext (got 'nope')",
        "  - min_size: must be an int >= 0 (got -1)",
    ]


def test_invalid_direct_url_never_shows_its_password() -> None:
    with pytest.raises(DatabaseConfigError) as info:
        make(direct_url=f"mysql://u:{PASSWORD}@h/db")
    assert info.value.message == (
        "Invalid configuration for database 'test_project':\n  - direct_url: Unsupported database "
        "URL mysql://u:<redacted>@h/db: it must start with postgresql:// or postgres://."
    )
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in repr(info.value)


def test_repr_and_str_never_show_the_password() -> None:
    cfg = make(
        direct_url=f"postgresql://u:{PASSWORD}@db.example.com:5432/postgres",
        server_settings={"application_name": "app"},
    )
    for text in (repr(cfg), str(cfg), f"{cfg}", f"{cfg!r}"):
        assert PASSWORD not in text
    assert repr(cfg) == (
        "DatabaseProjectConfig(name='test_project', host='localhost', port='5432', "
        "database_name='testdb', user='admin', password='<redacted>', alias='test_alias', "
        "manager_config_overrides={}, entity_overrides={}, field_overrides={}, "
        "additional_schemas=[], ssl='prefer', min_size=5, max_size=20, command_timeout=None, "
        "statement_cache_size=None, pooler=None, "
        "direct_url='postgresql://u:<redacted>@db.example.com:5432/postgres', "
        "connect_timeout=10.0, driver='asyncpg', server_settings={'application_name': 'app'})"
    )
    assert "password=None" in repr(make(password=None))
    assert "password=''" in repr(make(password=""))


# --- pooler, dsn -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, False),
        ({"host": "aws-0-eu-west-1.pooler.supabase.com"}, True),
        ({"host": "AWS-0-EU.POOLER.SUPABASE.COM."}, True),
        ({"host": "db.abc.supabase.co"}, False),
        ({"port": 6543}, True),
        ({"port": "6543"}, True),
        ({"pooler": True}, True),
        ({"pooler": False, "port": 6543}, False),
        ({"pooler": False, "host": "x.pooler.supabase.com"}, False),
    ],
)
def test_uses_pooler(overrides: dict[str, Any], expected: bool) -> None:
    assert make(**overrides).uses_pooler is expected


def test_effective_statement_cache_size() -> None:
    assert make().effective_statement_cache_size is None
    assert make(port=6543).effective_statement_cache_size == 0
    assert make(port=6543, statement_cache_size=100).effective_statement_cache_size == 100
    assert make(statement_cache_size=0).effective_statement_cache_size == 0


@pytest.mark.parametrize(
    ("overrides", "redacted", "plain"),
    [
        (
            {},
            "postgresql://admin:<redacted>@localhost:5432/testdb",
            f"postgresql://admin:{PASSWORD}@localhost:5432/testdb",
        ),
        (
            {"user": "a@b", "password": "p@ss:w/rd%", "database_name": "my db", "port": 6000},
            "postgresql://a%40b:<redacted>@localhost:6000/my%20db",
            "postgresql://a%40b:p%40ss%3Aw%2Frd%25@localhost:6000/my%20db",
        ),
        (
            {"host": "::1", "ssl": "require"},
            "postgresql://admin:<redacted>@[::1]:5432/testdb?sslmode=require",
            f"postgresql://admin:{PASSWORD}@[::1]:5432/testdb?sslmode=require",
        ),
        (
            {"host": "/tmp", "password": None, "port": "5433", "ssl": True},
            "postgresql://admin@/testdb?host=/tmp&port=5433&sslmode=require",
            "postgresql://admin@/testdb?host=/tmp&port=5433&sslmode=require",
        ),
        (
            {"ssl": False, "connect_timeout": 2.5, "server_settings": {"application_name": "a b"}},
            "postgresql://admin:<redacted>@localhost:5432/testdb?sslmode=disable&connect_timeout=2.5"
            "&application_name=a%20b",
            f"postgresql://admin:{PASSWORD}@localhost:5432/testdb?sslmode=disable&connect_timeout=2.5"
            "&application_name=a%20b",
        ),
    ],
)
def test_dsn(overrides: dict[str, Any], redacted: str, plain: str) -> None:
    cfg = make(**overrides)
    assert cfg.dsn() == redacted
    assert cfg.dsn(redacted=True) == redacted
    assert cfg.dsn(redacted=False) == plain
    again = DatabaseProjectConfig.from_url(cfg.name, plain, alias=cfg.alias)
    assert again.dsn(redacted=False) == plain
    # a bool ssl comes back as its sslmode text; the port as text
    if isinstance(cfg.ssl, bool):
        assert again.ssl == ("require" if cfg.ssl else "disable")
    else:
        assert again.ssl == cfg.ssl
    assert dataclasses.replace(again, port=cfg.port, ssl=cfg.ssl) == cfg


# --- from_url --------------------------------------------------------------------------------


def test_from_url_basic() -> None:
    cfg = DatabaseProjectConfig.from_url(
        "main_db", f"postgresql://admin:{PASSWORD}@db.example.com:5433/app"
    )
    assert (cfg.name, cfg.alias, cfg.host, cfg.port, cfg.port_number) == (
        "main_db",
        "main_db",
        "db.example.com",
        "5433",
        5433,
    )
    assert (cfg.database_name, cfg.user, cfg.password) == ("app", "admin", PASSWORD)
    assert cfg.ssl == "prefer"
    assert cfg.pooler is None


def test_from_url_alias_and_overrides() -> None:
    cfg = DatabaseProjectConfig.from_url(
        "n",
        "postgres://u:p@h/d?sslmode=require",
        alias="short",
        ssl="disable",
        min_size=1,
        max_size=2,
    )
    assert (cfg.alias, cfg.ssl, cfg.min_size, cfg.max_size) == ("short", "disable", 1, 2)


def test_from_url_percent_encoded_parts() -> None:
    cfg = DatabaseProjectConfig.from_url(
        "n", "postgresql://us%40er:p%40ss%3Aw%2Frd%23%25@h:5432/my%20db"
    )
    assert (cfg.user, cfg.password, cfg.database_name) == ("us@er", "p@ss:w/rd#%", "my db")


def test_from_url_unencoded_at_and_slash_in_password() -> None:
    cfg = DatabaseProjectConfig.from_url("n", "postgresql://u:p@ss/w#rd@h/db")
    assert (cfg.user, cfg.password, cfg.host, cfg.database_name) == ("u", "p@ss/w#rd", "h", "db")


def test_from_url_plus_is_not_a_space() -> None:
    assert DatabaseProjectConfig.from_url("n", "postgresql://u:a+b@h/db").password == "a+b"


def test_from_url_without_password() -> None:
    cfg = DatabaseProjectConfig.from_url("n", "postgresql://u@h/db")
    assert (cfg.user, cfg.password) == ("u", None)
    assert DatabaseProjectConfig.from_url("n", "postgresql://u:@h/db").password == ""


def test_from_url_query_password_and_dbname() -> None:
    cfg = DatabaseProjectConfig.from_url("n", "postgresql://h/?user=u&password=p%20w&dbname=d")
    assert (cfg.user, cfg.password, cfg.database_name) == ("u", "p w", "d")


def test_from_url_socket_host_in_query() -> None:
    cfg = DatabaseProjectConfig.from_url("n", "postgresql://user@/db?host=/var/run/postgresql")
    assert (cfg.host, cfg.port, cfg.user, cfg.database_name, cfg.password) == (
        "/var/run/postgresql",
        "5432",
        "user",
        "db",
        None,
    )
    assert cfg.uses_socket is True


def test_from_url_socket_host_percent_encoded() -> None:
    cfg = DatabaseProjectConfig.from_url("n", "postgresql://user@%2Fvar%2Frun%2FPostgreSQL:5433/db")
    assert (cfg.host, cfg.port) == ("/var/run/PostgreSQL", "5433")


def test_from_url_triple_slash_uses_a_socket_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty, found = tmp_path / "empty", tmp_path / "sock"
    empty.mkdir()
    found.mkdir()
    (found / ".s.PGSQL.5432").touch()
    monkeypatch.setattr(dsn_module, "_DEFAULT_SOCKET_DIRS", (str(empty), str(found)))
    monkeypatch.setattr("getpass.getuser", lambda: "osuser")
    cfg = DatabaseProjectConfig.from_url("n", "postgresql:///db")
    assert (cfg.host, cfg.port, cfg.user, cfg.database_name, cfg.password) == (
        str(found),
        "5432",
        "osuser",
        "db",
        None,
    )


def test_from_url_triple_slash_falls_back_to_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "osuser")
    cfg = DatabaseProjectConfig.from_url("n", "postgresql://")
    assert (cfg.host, cfg.port, cfg.user, cfg.database_name) == (
        "localhost",
        "5432",
        "osuser",
        "osuser",
    )


def test_from_url_libpq_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGHOST", "envhost")
    monkeypatch.setenv("PGPORT", "6000")
    monkeypatch.setenv("PGUSER", "envuser")
    monkeypatch.setenv("PGDATABASE", "envdb")
    cfg = DatabaseProjectConfig.from_url("n", "postgresql://")
    assert (cfg.host, cfg.port, cfg.user, cfg.database_name) == (
        "envhost",
        "6000",
        "envuser",
        "envdb",
    )
    explicit = DatabaseProjectConfig.from_url("n", "postgresql://u@h:1234/d")
    assert (explicit.host, explicit.port, explicit.user, explicit.database_name) == (
        "h",
        "1234",
        "u",
        "d",
    )


def test_from_url_database_defaults_to_user() -> None:
    assert DatabaseProjectConfig.from_url("n", "postgresql://bob@h").database_name == "bob"


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("postgresql://u:p@[::1]:5433/db", "::1", "5433"),
        ("postgresql://u:p@[::1]/db", "::1", "5432"),
        ("postgresql://u:p@[2001:db8::7]:6543/db", "2001:db8::7", "6543"),
    ],
)
def test_from_url_ipv6(url: str, host: str, port: str) -> None:
    cfg = DatabaseProjectConfig.from_url("n", url)
    assert (cfg.host, cfg.port) == (host, port)
    assert cfg.dsn().startswith(f"postgresql://u:<redacted>@[{host}]:{port}/")


@pytest.mark.parametrize(
    "mode", ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
)
def test_from_url_sslmode(mode: str) -> None:
    assert DatabaseProjectConfig.from_url("n", f"postgresql://u@h/db?sslmode={mode}").ssl == mode


def test_from_url_other_query_parameters() -> None:
    cfg = DatabaseProjectConfig.from_url(
        "n", "postgresql://u@h/db?connect_timeout=3&application_name=my%20app&port=7000"
    )
    assert cfg.connect_timeout == 3.0
    assert cfg.server_settings == {"application_name": "my app"}
    assert cfg.port == "7000"


@pytest.mark.parametrize(
    ("query", "pooler", "uses"),
    [
        ("?pgbouncer=true", True, True),
        ("?pgbouncer=1", True, True),
        ("?pgbouncer=false", False, False),
        ("", None, False),
    ],
)
def test_from_url_pgbouncer(query: str, pooler: bool | None, uses: bool) -> None:
    cfg = DatabaseProjectConfig.from_url("n", f"postgresql://u@h/db{query}")
    assert cfg.pooler is pooler
    assert cfg.uses_pooler is uses


def test_from_url_pooler_detection_and_explicit_override() -> None:
    supabase = "postgresql://postgres.ref:pw@aws-0-us-east-1.pooler.supabase.com:6543/postgres"
    assert DatabaseProjectConfig.from_url("n", supabase).uses_pooler is True
    assert DatabaseProjectConfig.from_url("n", supabase, pooler=False).uses_pooler is False
    assert (
        DatabaseProjectConfig.from_url(
            "n", "postgresql://u@h/db?pgbouncer=true", pooler=False
        ).pooler
        is False
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "The database URL is empty."),
        ("   ", "The database URL is empty."),
        (
            f"mysql://u:{PASSWORD}@h/db",
            "Unsupported database URL mysql://u:<redacted>@h/db: it must start with "
            "postgresql:// or postgres://.",
        ),
        (
            "localhost:5432/db",
            "Unsupported database URL localhost:5432/db: it must start with postgresql:// or postgres://.",
        ),
        (
            f"postgresql://u:{PASSWORD}@h:99999/db",
            "The port in postgresql://u:<redacted>@h:99999/db must be a number between 1 and "
            "65535.",
        ),
        (
            f"postgresql://u:{PASSWORD}@h:abc/db",
            "The port in postgresql://u:<redacted>@h:abc/db must be a number between 1 and 65535.",
        ),
        (
            f"postgresql://u:{PASSWORD}@h1,h2/db",
            "Several hosts in one URL are not supported (postgresql://u:<redacted>@h1,h2/db). "
            "Give a single host.",
        ),
        (
            f"postgresql://u:{PASSWORD}@[::1/db",
            "Malformed IPv6 host in postgresql://u:<redacted>@[::1/db.",
        ),
        (
            f"postgresql://u:{PASSWORD}@[::1]x/db",
            "Malformed IPv6 host in postgresql://u:<redacted>@[::1]x/db.",
        ),
        (
            f"postgresql://u:{PASSWORD}@h/db?foo=1",
            "Unsupported query parameter 'foo' in postgresql://u:<redacted>@h/db?foo=1. Supported: "
            "application_name, connect_timeout, dbname, host, password, pgbouncer, port, sslmode, "
            "user; pass other settings as keyword arguments.",
        ),
        (
            "postgresql://u@h/db?sslmode=maybe",
            "Unknown sslmode 'maybe' in postgresql://u@h/db?sslmode=maybe; use one of disable, "
            "allow, prefer, require, verify-ca, verify-full.",
        ),
        (
            "postgresql://u@h/db?connect_timeout=soon",
            "connect_timeout must be a number of seconds in postgresql://u@h/db?connect_timeout=soon.",
        ),
        (
            "postgresql://u@h/db?pgbouncer=maybe",
            "pgbouncer must be true or false in postgresql://u@h/db?pgbouncer=maybe.",
        ),
        (
            "postgresql://u:pa?ss-Secret@h/db",
            "Cannot parse the database URL postgresql://u:<redacted>@h/db: percent-encode special "
            "characters in the user name and password ('?' as %3F, '@' as %40, '/' as %2F, "
            "'#' as %23).",
        ),
    ],
)
def test_from_url_errors(url: str, message: str) -> None:
    with pytest.raises(DatabaseConfigError) as info:
        DatabaseProjectConfig.from_url("n", url)
    assert info.value.message == message
    for text in (str(info.value), repr(info.value)):
        assert PASSWORD not in text
        assert "ss-Secret" not in text


def test_from_url_malformed_query_key_is_not_echoed() -> None:
    with pytest.raises(DatabaseConfigError) as info:
        DatabaseProjectConfig.from_url("n", "postgresql://u@h/db?x@y=1")
    assert "'x@y'" not in str(info.value)
    assert "Unsupported query parameter (malformed)" in info.value.message
    assert info.value.details["config_key"] == "url"


def test_from_url_non_string() -> None:
    with pytest.raises(DatabaseConfigError, match="The database URL is empty"):
        DatabaseProjectConfig.from_url("n", None)  # type: ignore[arg-type]


def test_from_url_unknown_override() -> None:
    with pytest.raises(
        DatabaseConfigError, match="from_url\\(\\) got unknown option\\(s\\) for 'n': pool_size\\."
    ) as info:
        DatabaseProjectConfig.from_url("n", "postgresql://u@h/db", pool_size=3)
    assert info.value.details["config_key"] == "pool_size"


def test_from_url_validates_the_result() -> None:
    with pytest.raises(DatabaseConfigError, match="name must be a non-empty string"):
        DatabaseProjectConfig.from_url("", "postgresql://u@h/db")
    with pytest.raises(DatabaseConfigError, match="min_size: must not exceed max_size"):
        DatabaseProjectConfig.from_url("n", "postgresql://u@h/db", min_size=50)


# --- direct_url ------------------------------------------------------------------------------


def test_direct_config() -> None:
    cfg = DatabaseProjectConfig.from_url(
        "n",
        "postgresql://postgres.ref:pw@aws-0-us-east-1.pooler.supabase.com:6543/postgres",
        alias="main",
        direct_url="postgresql://postgres:pw2@db.ref.supabase.co:5432/postgres?sslmode=require",
        min_size=1,
        max_size=3,
        additional_schemas=["auth"],
    )
    assert cfg.uses_pooler is True
    direct = cfg.direct_config()
    assert direct is not None
    assert (direct.name, direct.alias, direct.host, direct.port, direct.user, direct.password) == (
        "n",
        "main",
        "db.ref.supabase.co",
        "5432",
        "postgres",
        "pw2",
    )
    assert (direct.ssl, direct.pooler, direct.uses_pooler) == ("require", False, False)
    assert (direct.min_size, direct.max_size, direct.additional_schemas) == (1, 3, ["auth"])
    assert direct.direct_url is None
    assert make().direct_config() is None


def test_direct_config_inherits_ssl_when_the_url_has_none() -> None:
    cfg = make(ssl="verify-full", direct_url="postgresql://u@direct/db")
    direct = cfg.direct_config()
    assert direct is not None
    assert (direct.ssl, direct.host) == ("verify-full", "direct")


# --- registration ----------------------------------------------------------------------------


def test_register_and_read_back() -> None:
    cfg = make(additional_schemas=["auth", "storage"])
    register_database(cfg)
    assert DatabaseRegistry._configs == {"test_project": cfg}
    assert DatabaseRegistry._used_aliases == {"test_alias": "test_project"}
    assert get_config("test_project") is cfg
    assert DatabaseRegistry.get_config_dataclass("test_project") is cfg
    assert get_database_config("test_project") == {
        "host": "localhost",
        "port": "5432",
        "database_name": "testdb",
        "user": "admin",
        "password": PASSWORD,
        "alias": "test_alias",
        "additional_schemas": ["auth", "storage"],
    }


def test_registry_is_a_class_level_singleton() -> None:
    assert DatabaseRegistry() is DatabaseRegistry()
    assert config_module.registry is DatabaseRegistry()
    DatabaseRegistry().register(make())
    assert DatabaseRegistry.get_database_alias("test_project") == "test_alias"


def test_upstream_style_clearing() -> None:
    reg = DatabaseRegistry()
    reg.register(make())
    reg._configs.clear()
    reg._used_aliases.clear()
    reg.register(make(host="otherhost"))
    assert reg.get_config_dataclass("test_project").host == "otherhost"


def test_stale_alias_does_not_block() -> None:
    register_database(make(name="a", alias="shared"))
    DatabaseRegistry._configs.clear()
    register_database(make(name="b", alias="shared"))
    assert DatabaseRegistry._used_aliases == {"shared": "b"}


def test_register_rejects_other_objects() -> None:
    with pytest.raises(
        DatabaseConfigError,
        match="register_database\\(\\) takes a DatabaseProjectConfig \\(got dict\\)",
    ):
        register_database({"name": "x"})  # type: ignore[arg-type]


def test_identical_registration_warns_and_does_nothing() -> None:
    first = make()
    register_database(first)
    with pytest.warns(ConfigurationWarning) as record:
        register_database(make(port=5432))
    assert len(record) == 1
    assert str(record[0].message) == (
        "Database 'test_project' is already registered with the same settings; this "
        "register_database() call did nothing."
    )
    assert record[0].filename == __file__
    assert get_config("test_project") is first
    assert DatabaseRegistry._used_aliases == {"test_alias": "test_project"}


def test_same_object_twice_warns() -> None:
    cfg = make()
    register_database(cfg)
    with pytest.warns(ConfigurationWarning, match="already registered with the same settings"):
        DatabaseRegistry.register(cfg)
    assert get_all_database_project_names() == ["test_project"]


def test_conflicting_registration_raises_and_names_fields_not_values() -> None:
    first = make(name="dup", alias="a1")
    register_database(first)
    with pytest.raises(DatabaseConfigError) as info:
        register_database(make(name="dup", alias="a2", password="other-password", min_size=1))
    assert info.value.message == (
        "Database 'dup' is already registered with different settings (password, alias, "
        "min_size). Register it under another name, or call "
        "DatabaseRegistry.unregister('dup') first."
    )
    assert "other-password" not in str(info.value)
    assert PASSWORD not in str(info.value)
    assert get_config("dup") is first
    assert DatabaseRegistry._used_aliases == {"a1": "dup"}


def test_used_alias_raises_and_records_nothing() -> None:
    register_database(make(name="p1", alias="shared"))
    with pytest.raises(DatabaseConfigError) as info:
        register_database(make(name="p2", alias="shared"))
    assert info.value.message == (
        "Database alias 'shared' already used by 'p1'. Please use a different alias."
    )
    assert get_all_database_project_names() == ["p1"]
    assert DatabaseRegistry._used_aliases == {"shared": "p1"}


def test_failed_validation_records_nothing() -> None:
    cfg = make(name="p", alias="kept")
    cfg.host = ""  # changed after construction: register validates again
    with pytest.raises(
        DatabaseConfigError, match="Missing required configuration fields for 'p': host"
    ):
        register_database(cfg)
    assert DatabaseRegistry._configs == {}
    assert DatabaseRegistry._used_aliases == {}
    cfg.host = "localhost"
    cfg.port = 70000
    with pytest.raises(DatabaseConfigError, match="port: must be between 1 and 65535"):
        register_database(cfg)
    assert DatabaseRegistry._configs == {}
    # neither the name nor the alias was used up
    register_database(make(name="p", alias="kept"))
    assert get_database_alias("p") == "kept"


def test_registration_order_is_kept() -> None:
    for name in ("c", "a", "b"):
        register_database(make(name=name, alias=f"{name}_alias"))
    assert get_all_database_project_names() == ["c", "a", "b"]
    assert DatabaseRegistry.get_all_database_project_names() == ["c", "a", "b"]


def test_concurrent_registration_of_one_alias() -> None:
    results: list[str] = []
    barrier = threading.Barrier(16)

    def worker(i: int) -> None:
        cfg = make(name=f"p{i}", alias="shared")
        barrier.wait()
        try:
            register_database(cfg)
            results.append("ok")
        except DatabaseConfigError:
            results.append("error")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["error"] * 15 + ["ok"]
    assert len(DatabaseRegistry._configs) == 1


def test_unregister_frees_name_and_alias() -> None:
    register_database(make(name="p", alias="a"))
    DatabaseRegistry.unregister("p")
    assert DatabaseRegistry._configs == {}
    assert DatabaseRegistry._used_aliases == {}
    register_database(make(name="q", alias="a"))
    assert get_database_alias("q") == "a"


def test_unregister_unknown_name() -> None:
    register_database(make(name="p", alias="a"))
    with pytest.raises(
        DatabaseConfigError,
        match="Configuration 'ghost' not found in registered databases \\(registered: 'p'\\)",
    ):
        DatabaseRegistry.unregister("ghost")


def test_reset() -> None:
    register_database(make(name="p", alias="a"))
    DatabaseRegistry().reset()
    assert get_all_database_project_names() == []
    assert DatabaseRegistry._used_aliases == {}


# --- lookups ---------------------------------------------------------------------------------


def test_not_found_message_lists_registered_names() -> None:
    register_database(make(name="a", alias="a1"))
    register_database(make(name="b", alias="b1"))
    with pytest.raises(DatabaseConfigError) as info:
        get_config("ghost")
    assert info.value.message == (
        "Configuration 'ghost' not found in registered databases (registered: 'a', 'b'). Call "
        "register_database(DatabaseProjectConfig(name='ghost', ...)) at startup, before any "
        "query uses it."
    )


@pytest.mark.parametrize(
    "lookup",
    [
        get_config,
        get_database_config,
        get_manager_config,
        get_connection_string,
        get_database_alias,
        get_schema_builder_overrides,
        get_code_config,
        DatabaseRegistry.get_config_dataclass,
    ],
)
def test_every_lookup_raises_for_unknown_names(lookup: Any) -> None:
    with pytest.raises(
        DatabaseConfigError,
        match="Configuration 'nope' not found in registered databases \\(registered: none\\)",
    ):
        lookup("nope")


def test_all_database_configs_and_projects() -> None:
    register_database(
        make(
            name="x",
            alias="x1",
            manager_config_overrides={"user": {"include_core_relations": False}},
        )
    )
    register_database(make(name="y", alias="y1", password=None))
    assert DatabaseRegistry.get_all_database_configs() == {
        "x": {
            "host": "localhost",
            "port": "5432",
            "database_name": "testdb",
            "user": "admin",
            "password": PASSWORD,
            "manager_config_overrides": {"user": {"include_core_relations": False}},
            "alias": "x1",
        },
        "y": {
            "host": "localhost",
            "port": "5432",
            "database_name": "testdb",
            "user": "admin",
            "password": None,
            "manager_config_overrides": {},
            "alias": "y1",
        },
    }
    projects = DatabaseRegistry.get_all_database_projects()
    assert [p["database_project"] for p in projects] == ["x", "y"]
    assert projects[0]["password"] == PASSWORD
    redacted = get_all_database_projects_redacted()
    assert redacted == DatabaseRegistry.get_all_database_projects_redacted()
    assert [p["password"] for p in redacted] == ["<redacted>", None]
    assert PASSWORD not in repr(redacted)
    assert redacted[0] == {**projects[0], "password": "<redacted>"}


def test_manager_config_and_schema_builder_overrides() -> None:
    register_database(
        make(
            manager_config_overrides={"post": {"include_to_dict_methods": True}},
            entity_overrides={"post": {"displayName": "Post"}},
            field_overrides={"post": {"title": {"label": "Title"}}},
        )
    )
    register_database(make(name="plain", alias="plain"))
    assert get_manager_config("test_project") == {"post": {"include_to_dict_methods": True}}
    assert get_schema_builder_overrides("test_project") == {
        "entity_overrides": {"post": {"displayName": "Post"}},
        "field_overrides": {"post": {"title": {"label": "Title"}}},
    }
    assert get_schema_builder_overrides("plain") == {"entity_overrides": {}, "field_overrides": {}}
    assert get_manager_config("plain") == {}


def test_get_connection_string_is_redacted() -> None:
    register_database(make())
    assert (
        get_connection_string("test_project")
        == "postgresql://admin:<redacted>@localhost:5432/testdb"
    )


# --- default database ------------------------------------------------------------------------


def test_default_database_single(monkeypatch: pytest.MonkeyPatch) -> None:
    register_database(make(name="only", alias="only"))
    assert get_default_database() == "only"
    monkeypatch.setenv("MATRX_DEFAULT_DATABASE", "other")
    assert get_default_database() == "only"


def test_default_database_none_registered() -> None:
    with pytest.raises(ConfigurationError) as info:
        get_default_database()
    assert info.value.message == (
        "Configuration error for default database: no database is registered. Call "
        "register_database(DatabaseProjectConfig(...)) at startup."
    )


def test_default_database_ambiguous(monkeypatch: pytest.MonkeyPatch) -> None:
    register_database(make(name="a", alias="a"))
    register_database(make(name="b", alias="b"))
    with pytest.raises(ConfigurationError) as info:
        get_default_database()
    assert info.value.message == (
        "Configuration error for default database: 2 databases are registered ('a', 'b'). "
        "Pass database='...' or set MATRX_DEFAULT_DATABASE."
    )
    monkeypatch.setenv("MATRX_DEFAULT_DATABASE", "b")
    assert get_default_database() == "b"
    monkeypatch.setenv("MATRX_DEFAULT_DATABASE", "c")
    with pytest.raises(ConfigurationError) as info:
        get_default_database()
    assert info.value.message == (
        "Configuration error for MATRX_DEFAULT_DATABASE: it names 'c', which is not registered "
        "(registered: 'a', 'b')."
    )


def test_default_database_from_env_when_none_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATRX_DEFAULT_DATABASE", "x")
    with pytest.raises(
        ConfigurationError, match="it names 'x', which is not registered \\(registered: none\\)"
    ):
        get_default_database()


# --- code config -----------------------------------------------------------------------------


def test_code_config_paths(tmp_path: Path) -> None:
    register_database(make(alias="main"))
    py, ts = tmp_path / "py", tmp_path / "ts"
    code = get_code_config("test_project", python_root=py, ts_root=str(ts))
    package = os.path.join(str(py), "database", "main")
    assert code["python_models"] == {
        "temp_path": "models.py",
        "root": package,
        "file_location": "# File: database/main/models.py",
        "import_lines": [],
        "additional_top_lines": [],
        "additional_bottom_lines": [],
    }
    assert (code["python_base_manager"]["root"], code["python_base_manager"]["temp_path"]) == (
        os.path.join(package, "managers"),
        "",
    )
    assert code["python_all_managers"]["temp_path"] == "__init__.py"
    assert (
        code["python_all_managers"]["file_location"] == "# File: database/main/managers/__init__.py"
    )
    assert (code["python_auto_config"]["root"], code["python_auto_config"]["file_location"]) == (
        os.path.join(package, "helpers"),
        "# File: database/main/helpers/auto_config.py",
    )
    assert (code["typescript_schema"]["root"], code["typescript_schema"]["temp_path"]) == (
        os.path.join(str(ts), "utils", "schema"),
        "initialSchemas.ts",
    )
    assert code["typescript_entity_main_hooks"]["file_location"] == (
        "// File: lib/redux/entity/hooks/entityMainHooks.ts"
    )
    assert sorted(code) == [
        "entity_typescript_types",
        "primary_keys",
        "python_all_managers",
        "python_auto_config",
        "python_base_manager",
        "python_models",
        "typescript_entity_field_overrides",
        "typescript_entity_fields",
        "typescript_entity_main_hooks",
        "typescript_entity_overrides",
        "typescript_individual_table_schemas",
        "typescript_lookup",
        "typescript_schema",
        "typescript_types",
    ]
    assert all(target["import_lines"] == [] for target in code.values())


def test_code_config_roots_from_env_then_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_database(make(alias="main"))
    monkeypatch.chdir(tmp_path)
    code = get_code_config("test_project")
    assert code["python_models"]["root"] == os.path.join(str(tmp_path), "database", "main")
    assert code["typescript_types"]["root"] == os.path.join(str(tmp_path), "types")
    monkeypatch.setenv("ADMIN_PYTHON_ROOT", "/srv/py")
    monkeypatch.setenv("ADMIN_TS_ROOT", "/srv/ts")
    code = get_code_config("test_project")
    assert code["python_models"]["root"] == os.path.join("/srv/py", "database", "main")
    assert code["typescript_types"]["root"] == os.path.join("/srv/ts", "types")


# --- logging ---------------------------------------------------------------------------------


def test_no_password_in_logs_or_warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="matrx_orm_core")
    cfg = DatabaseProjectConfig.from_url(
        "n", f"postgresql://u:{PASSWORD}@h/db", direct_url=f"postgresql://u:{PASSWORD}@d/db"
    )
    register_database(cfg)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        register_database(cfg)
    for bad in (
        lambda: register_database(dataclasses.replace(cfg, password="different-" + PASSWORD)),
        lambda: DatabaseProjectConfig.from_url("m", f"postgresql://u:{PASSWORD}@h:0/db"),
        lambda: DatabaseProjectConfig.from_url("m", f"mysql://u:{PASSWORD}@h/db"),
    ):
        with pytest.raises(DatabaseConfigError) as info:
            bad()
        assert PASSWORD not in str(info.value)
        assert PASSWORD not in repr(info.value)
    DatabaseRegistry.unregister("n")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "Registered database 'n' (alias 'n'): postgresql://u:<redacted>@h:5432/db",
        "Unregistered database 'n'",
    ]
    assert len(record) == 1
    assert PASSWORD not in str(record[0].message)
