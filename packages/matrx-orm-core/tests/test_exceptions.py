"""Level 1: the exception hierarchy, error reports, enrichment and redaction."""

from __future__ import annotations

import builtins
import pickle
from typing import Any

import pytest

from matrx_orm_core import exceptions
from matrx_orm_core.exceptions import (
    REDACTED,
    AdapterError,
    CacheError,
    ConfigurationError,
    ConfigurationWarning,
    ConnectionError,
    DatabaseConfigError,
    DatabaseError,
    DoesNotExist,
    FieldError,
    IntegrityError,
    MatrxORMWarning,
    MigrationError,
    MultipleObjectsReturned,
    OptimisticLockError,
    ORMException,
    ParameterError,
    QueryError,
    RelationshipError,
    StateError,
    SyncContextError,
    TransactionError,
    UnknownDatabaseError,
    UnknownRelationError,
    ValidationError,
    get_show_params,
    redact_dsn,
    redact_secrets,
    set_show_params,
)

RULE = "=" * 80
SHOW_HINT = (
    "  - Parameter values are hidden. Set MATRX_ORM_SHOW_PARAMS=1 or call "
    "matrx_orm.exceptions.set_show_params(True) to show them."
)
ALL_CLASSES = [
    ORMException,
    ValidationError,
    FieldError,
    QueryError,
    DoesNotExist,
    MultipleObjectsReturned,
    DatabaseError,
    ConnectionError,
    IntegrityError,
    TransactionError,
    ConfigurationError,
    DatabaseConfigError,
    CacheError,
    StateError,
    RelationshipError,
    MigrationError,
    ParameterError,
    UnknownDatabaseError,
    AdapterError,
    OptimisticLockError,
    SyncContextError,
    UnknownRelationError,
]


class Post:
    """Stands in for a model class."""


@pytest.fixture(autouse=True)
def _hidden_params(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("MATRX_ORM_SHOW_PARAMS", raising=False)
    set_show_params(None)
    yield
    set_show_params(None)


def test_all_lists_every_public_name() -> None:
    assert exceptions.__all__ == [
        "REDACTED",
        "AdapterError",
        "CacheError",
        "ConfigurationError",
        "ConfigurationWarning",
        "ConnectionError",
        "DatabaseConfigError",
        "DatabaseError",
        "DoesNotExist",
        "FieldError",
        "IntegrityError",
        "MatrxORMWarning",
        "MigrationError",
        "ModelNotFoundError",
        "MultipleObjectsReturned",
        "ORMException",
        "OptimisticLockError",
        "ParameterError",
        "QueryError",
        "QueryUsageError",
        "RelationshipError",
        "StateError",
        "SyncContextError",
        "TransactionError",
        "UnknownDatabaseError",
        "UnknownRelationError",
        "ValidationError",
        "get_show_params",
        "redact_dsn",
        "redact_secrets",
        "set_show_params",
    ]
    for name in exceptions.__all__:
        assert hasattr(exceptions, name), name


# --- hierarchy -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (ORMException, (Exception,)),
        (ValidationError, (ORMException, ValueError)),
        (FieldError, (ORMException, ValueError)),
        (QueryError, (ORMException,)),
        (DoesNotExist, (QueryError, LookupError)),
        (MultipleObjectsReturned, (QueryError, LookupError)),
        (DatabaseError, (ORMException,)),
        (ConnectionError, (DatabaseError,)),
        (IntegrityError, (DatabaseError,)),
        (TransactionError, (DatabaseError,)),
        (ConfigurationError, (ORMException,)),
        (DatabaseConfigError, (ConfigurationError,)),
        (CacheError, (ORMException,)),
        (StateError, (ORMException,)),
        (RelationshipError, (ORMException,)),
        (MigrationError, (ORMException,)),
        (ParameterError, (ORMException,)),
        (UnknownDatabaseError, (ORMException,)),
        (AdapterError, (ORMException,)),
        (OptimisticLockError, (ORMException,)),
        (SyncContextError, (ORMException, RuntimeError)),
        (MatrxORMWarning, (UserWarning,)),
        (ConfigurationWarning, (MatrxORMWarning,)),
    ],
)
def test_direct_bases(cls: type, bases: tuple[type, ...]) -> None:
    assert cls.__bases__ == bases


def test_connection_error_is_not_the_builtin() -> None:
    assert ConnectionError.__module__ == "matrx_orm_core.exceptions"
    assert not issubclass(ConnectionError, builtins.ConnectionError)


@pytest.mark.parametrize("cls", ALL_CLASSES)
def test_every_class_builds_without_arguments_and_has_no_colour(cls: type[ORMException]) -> None:
    err = cls()
    text = str(err)
    assert "\x1b" not in text
    assert "\033[" not in repr(err)
    assert text == err.format_message()
    assert text.startswith("\n" + RULE + "\n[ERROR in Unknown Model")
    assert text.endswith(RULE)
    assert err.model == "Unknown Model"
    assert isinstance(err.details, dict)


@pytest.mark.parametrize("cls", ALL_CLASSES)
def test_every_class_is_picklable(cls: type[ORMException]) -> None:
    err = cls(model=Post) if cls is not DatabaseConfigError else cls("bad", model=Post)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is cls
    assert copy.model == "Post"
    assert copy.details == err.details
    assert copy.message == err.message
    assert str(copy) == str(err)


# --- the base class --------------------------------------------------------------------------


def test_base_defaults() -> None:
    err = ORMException()
    assert err.message == "An error occurred in the ORM"
    assert err.model == "Unknown Model"
    assert err.details == {}
    assert err.class_name is None
    assert err.method_name is None
    assert err.operation is None
    assert err.sql is None
    assert err.params is None
    assert err.filters is None
    assert err.args == ("An error occurred in the ORM",)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (Post, "Post"),
        ("Post", "Post"),
        (Post(), "Post"),
        (None, "Unknown Model"),
        ("", "Unknown Model"),
    ],
)
def test_model_is_a_name(model: object, expected: str) -> None:
    assert ORMException(model=model).model == expected


def test_full_report_text() -> None:
    err = ORMException(
        message="boom",
        model=Post,
        details={"sql": "SELECT 1", "params": [1, "x"], "reason": None, "traceback": "tb"},
        class_name="Executor",
        method_name="run",
    )
    assert str(err) == "\n".join(
        [
            "",
            RULE,
            "[ERROR in Post: Executor.run()]",
            "",
            "Message: boom",
            "",
            "Context:",
            "  sql:    SELECT 1",
            f"  params: [{REDACTED}, {REDACTED}]",
            "",
            "Hint:",
            SHOW_HINT,
            RULE,
        ]
    )


def test_report_without_context_or_hints() -> None:
    assert str(ORMException("plain")) == "\n".join(
        ["", RULE, "[ERROR in Unknown Model]", "", "Message: plain", RULE]
    )


def test_header_with_operation_only() -> None:
    err = ORMException("x", model="Post", method_name="get")
    assert "[ERROR in Post: get()]" in str(err)


def test_multiline_context_value_is_indented() -> None:
    err = ORMException("x", details={"sql": "SELECT 1\nFROM t"})
    assert "  sql: SELECT 1\n       FROM t" in str(err)


def test_context_values_are_cut_at_300_characters() -> None:
    err = ORMException("x", details={"sql": "a" * 400})
    assert f"  sql: {'a' * 300}...\n" in str(err)
    assert "a" * 301 not in str(err)


def test_redaction_happens_before_cutting() -> None:
    sql = "x" * 280 + " postgresql://user:hunter2hunter2@host/db"
    text = str(ORMException("x", details={"sql": sql}))
    assert "hunter2" not in text
    assert "hunter" not in text


def test_nested_orm_exception_in_details_is_flattened() -> None:
    inner = ORMException(message="inner error")
    assert ORMException._sanitize_details({"cause": inner, "k": "v"}) == {
        "cause": "inner error",
        "k": "v",
    }
    outer = ORMException("outer", details={"cause": inner})
    assert outer.details == {"cause": "inner error"}
    assert "  cause: inner error" in str(outer)


def test_none_and_traceback_values_are_not_shown() -> None:
    err = ORMException("x", details={"a": None, "traceback": "secret frames", "b": 0})
    text = str(err)
    assert "a:" not in text
    assert "secret frames" not in text
    assert "  b: 0" in text
    assert err.details["traceback"] == "secret frames"


def test_repr_is_short_and_safe() -> None:
    err = ORMException(
        "connect postgresql://u:pw123@h/db failed",
        model=Post,
        method_name="get",
        details={"params": ["v1"]},
    )
    assert repr(err) == (
        "ORMException(model='Post', operation='get', "
        f"message='connect postgresql://u:{REDACTED}@h/db failed')"
    )
    assert err.args == (f"connect postgresql://u:{REDACTED}@h/db failed",)


def test_context_properties() -> None:
    err = ORMException(
        "x", details={"sql": "SELECT 1", "params": [1], "filters": {"id": 1}}, method_name="get"
    )
    assert (err.operation, err.sql, err.params, err.filters) == ("get", "SELECT 1", [1], {"id": 1})
    assert ParameterError(query="SELECT 2").sql == "SELECT 2"


# --- enrich ----------------------------------------------------------------------------------


def test_enrich_fills_empty_fields_and_returns_self() -> None:
    err = ORMException("err")
    assert err.enrich(model=Post, operation="create", args={"id": 1}, table="users") is err
    assert err.model == "Post"
    assert err.method_name == "create"
    assert err.operation == "create"
    assert err.details == {"args": {"id": 1}, "table": "users"}


def test_enrich_first_value_wins() -> None:
    err = ORMException("err", model="Post", method_name="get", details={"sql": "A"})
    err.enrich(model="Other", operation="save", sql="B", args=[1])
    err.enrich(args=[2], params=[3])
    err.enrich(params=[4])
    assert err.model == "Post"
    assert err.method_name == "get"
    assert err.details == {"sql": "A", "args": [1], "params": [3]}


def test_enrich_ignores_none_extras_and_flattens_errors() -> None:
    err = ORMException("err").enrich(sql=None, cause=ORMException("inner"))
    assert err.details == {"cause": "inner"}


def test_enrich_updates_the_report() -> None:
    err = DoesNotExist(filters={"id": 1})
    assert err.message == f"No object found matching: id={REDACTED}"
    err.enrich(model=Post, operation="get", sql='SELECT * FROM "post" WHERE "id" = $1')
    assert err.message == f"No Post found matching: id={REDACTED}"
    assert err.args == (err.message,)
    text = str(err)
    assert "[ERROR in Post: get()]" in text
    assert '  sql:     SELECT * FROM "post" WHERE "id" = $1' in text
    assert f"  filters: {{'id': {REDACTED}}}" in text


# --- parameter redaction ---------------------------------------------------------------------


@pytest.mark.parametrize("key", ["params", "args", "filters", "value", "values"])
def test_parameter_keys_are_hidden_by_default(key: str) -> None:
    err = ORMException("x", details={key: ["alice@example.com", 42]})
    text = str(err)
    assert "alice@example.com" not in text
    assert "42" not in text
    assert f"[{REDACTED}, {REDACTED}]" in text
    assert err.details[key] == ["alice@example.com", 42]


def test_masking_keeps_the_shape() -> None:
    err = ORMException(
        "x",
        details={
            "params": ("a", None, {"k": [1, 2]}, {5}),
            "filters": {"id": "abc", "tags__in": ["x", "y"]},
        },
    )
    text = str(err)
    assert (
        f"  params:  ({REDACTED}, {REDACTED}, {{'k': [{REDACTED}, {REDACTED}]}}, [{REDACTED}])"
        in text
    )
    assert f"  filters: {{'id': {REDACTED}, 'tags__in': [{REDACTED}, {REDACTED}]}}" in text


def test_nested_parameter_keys_are_hidden() -> None:
    err = ORMException("x", details={"context": {"params": ["v1"], "name": "n"}})
    assert f"  context: {{'params': [{REDACTED}], 'name': 'n'}}" in str(err)


def test_single_value_is_hidden() -> None:
    err = ValidationError(model=Post, field="email", value="alice@example.com", reason="too long")
    text = str(err)
    assert "alice@example.com" not in text
    assert f"  value:  {REDACTED}" in text


def test_set_show_params_shows_values() -> None:
    err = ORMException("x", details={"params": ["v1", 2], "filters": {"id": "abc"}})
    set_show_params(True)
    assert get_show_params() is True
    text = str(err)
    assert "  params:  ['v1', 2]" in text
    assert "  filters: {'id': 'abc'}" in text
    assert "MATRX_ORM_SHOW_PARAMS" not in text
    set_show_params(False)
    assert "v1" not in str(err)


@pytest.mark.parametrize(
    ("env", "shown"), [("1", True), ("true", True), ("YES", True), ("0", False), ("", False)]
)
def test_env_switch(monkeypatch: pytest.MonkeyPatch, env: str, shown: bool) -> None:
    monkeypatch.setenv("MATRX_ORM_SHOW_PARAMS", env)
    assert get_show_params() is shown
    assert ("secret-ish" in str(ORMException("x", details={"params": ["secret-ish"]}))) is shown


def test_explicit_switch_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATRX_ORM_SHOW_PARAMS", "1")
    set_show_params(False)
    assert get_show_params() is False
    set_show_params(None)
    assert get_show_params() is True


def test_set_show_params_rejects_other_values() -> None:
    with pytest.raises(TypeError, match="True, False or None"):
        set_show_params("yes")  # type: ignore[arg-type]


# --- password redaction ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://u:pw@h:5432/db", f"postgresql://u:{REDACTED}@h:5432/db"),
        ("postgres://u:pw@h/db", f"postgres://u:{REDACTED}@h/db"),
        ("POSTGRESQL://u:pw@h/db", f"POSTGRESQL://u:{REDACTED}@h/db"),
        ("postgresql+asyncpg://u:pw@h/db", f"postgresql+asyncpg://u:{REDACTED}@h/db"),
        ("postgresql://u:p@ss/w:rd@h/db", f"postgresql://u:{REDACTED}@h/db"),
        ("postgresql://:pw@h/db", f"postgresql://:{REDACTED}@h/db"),
        ("postgresql://u:p%40ss@[::1]:5432/db", f"postgresql://u:{REDACTED}@[::1]:5432/db"),
        ("mysql://u:pw@h/db", f"mysql://u:{REDACTED}@h/db"),
        ("redis://:pw@cache:6379/0", f"redis://:{REDACTED}@cache:6379/0"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("postgresql://h:5432/db", "postgresql://h:5432/db"),
        (
            "a postgresql://u:one@h/db and postgres://v:two@k/db",
            f"a postgresql://u:{REDACTED}@h/db and postgres://v:{REDACTED}@k/db",
        ),
        ("host=h password=pw dbname=d", f"host=h password={REDACTED} dbname=d"),
        ("password = 'p w' user=u", f"password = {REDACTED} user=u"),
        ("?user=u&password=pw&sslmode=require", f"?user=u&password={REDACTED}&sslmode=require"),
        ("db_password=pw", f"db_password={REDACTED}"),
        ("client_secret=s", f"client_secret={REDACTED}"),
        ("PASSWD=pw;", f"PASSWD={REDACTED};"),
        ("{'password': 'pw', 'user': 'u'}", f"{{'password': '{REDACTED}', 'user': 'u'}}"),
        ('{"password": "pw"}', f"{{\"password\": '{REDACTED}'}}"),
        ('UPDATE "u" SET password = $1', 'UPDATE "u" SET password = $1'),
        ("nothing to hide", "nothing to hide"),
    ],
)
def test_redact_dsn(text: str, expected: str) -> None:
    assert redact_dsn(text) == expected


def test_redact_secrets_copies_and_hides() -> None:
    value = {
        "password": "pw",
        "empty_password": "",
        "none_secret": None,
        "url": "postgresql://u:pw@h/db",
        "nested": [{"passwd": "x"}, ("postgres://a:b@c/d",), {"postgresql://e:f@g/h"}],
        "port": 5432,
    }
    result = redact_secrets(value)
    assert result == {
        "password": REDACTED,
        "empty_password": "",
        "none_secret": None,
        "url": f"postgresql://u:{REDACTED}@h/db",
        "nested": [
            {"passwd": REDACTED},
            (f"postgres://a:{REDACTED}@c/d",),
            {f"postgresql://e:{REDACTED}@g/h"},
        ],
        "port": 5432,
    }
    assert value["password"] == "pw"


def test_passwords_are_hidden_even_when_params_are_shown() -> None:
    set_show_params(True)
    err = DatabaseError(
        message="failed for postgresql://u:pw1@h/db",
        details={
            "password": "pw2",
            "conn": {"db_password": "pw3", "dsn": "host=h password=pw4"},
            "filters": {"password": "pw5", "id": 1},
        },
        sql="SELECT 'postgresql://u:pw6@h/db'",
        original_error=RuntimeError("postgresql://u:pw7@h/db refused"),
    )
    text = str(err) + repr(err) + str(err.args)
    for secret in ("pw1", "pw2", "pw3", "pw4", "pw5", "pw6", "pw7"):
        assert secret not in text
    assert "  filters:        {'password': <redacted>, 'id': 1}" in text
    assert err.details["password"] == "pw2"


def test_does_not_exist_hides_password_filters_when_shown() -> None:
    set_show_params(True)
    err = DoesNotExist(model="User", filters={"password": "hunter2", "name": "bob"})
    assert err.message == f"No User found matching: password={REDACTED}, name=bob"


# --- DoesNotExist and MultipleObjectsReturned ------------------------------------------------


def test_does_not_exist_spec_example() -> None:
    err = DoesNotExist(model=Post, filters={"id": "4cf62e4e"})
    assert err.model == "Post"
    assert err.details == {"filters": {"id": "4cf62e4e"}}
    assert err.message == f"No Post found matching: id={REDACTED}"
    assert "4cf62e4e" not in str(err)
    assert "4cf62e4e" not in repr(err)
    assert isinstance(err, LookupError)
    assert isinstance(err, QueryError)


def test_does_not_exist_message_variants() -> None:
    assert DoesNotExist(model=Post).message == "No Post found"
    assert DoesNotExist(filters={"a": 1, "b": 2}).message == (
        f"No object found matching: a={REDACTED}, b={REDACTED}"
    )
    assert DoesNotExist(model=Post, filters={"a": 1}, message="custom").message == "custom"
    set_show_params(True)
    assert DoesNotExist(model=Post, filters={"id": 5, "name": "x"}).message == (
        "No Post found matching: id=5, name=x"
    )


def test_does_not_exist_positional_signature() -> None:
    err = DoesNotExist(Post, {"id": 1}, "QueryExecutor", "get")
    assert (err.model, err.class_name, err.method_name) == ("Post", "QueryExecutor", "get")
    assert "[ERROR in Post: QueryExecutor.get()]" in str(err)


def test_does_not_exist_hint() -> None:
    assert DoesNotExist(model=Post).hints() == [
        "NOTICE: no row matched the filters. This is not an ORM bug.",
        "get() expects exactly one row. Use get_or_none() when a missing row is a normal "
        "outcome, or filter(...).first() to get None instead of an error.",
    ]
    assert "  - NOTICE: no row matched the filters." in str(DoesNotExist(model=Post))


def test_per_model_subclass() -> None:
    post_dne = type(
        "DoesNotExist",
        (DoesNotExist,),
        {"__module__": __name__, "__qualname__": "Post.DoesNotExist", "default_model": "Post"},
    )
    err = post_dne(filters={"id": 1})
    assert err.model == "Post"
    assert err.message == f"No Post found matching: id={REDACTED}"
    with pytest.raises(DoesNotExist) as info:
        raise post_dne(model=Post, filters={"id": 2})
    assert info.value.details == {"filters": {"id": 2}}
    plain = type("DoesNotExist", (DoesNotExist,), {})
    assert plain(model="Tag").model == "Tag"
    assert plain().model == "Unknown Model"
    # the base class is not changed by the subclass
    assert DoesNotExist().model == "Unknown Model"


def test_per_model_subclass_of_every_class() -> None:
    for cls in ALL_CLASSES:
        sub = type(cls.__name__, (cls,), {"default_model": "Post"})
        err = sub() if cls is not DatabaseConfigError else sub("bad")
        assert err.model == "Post"
        assert isinstance(err, cls)


def test_multiple_objects_returned() -> None:
    err = MultipleObjectsReturned(model=Post, count=3, filters={"active": True})
    assert err.details == {"count": 3, "filters": {"active": True}}
    assert err.message == f"Found 3 Post objects when expecting one. Filters: active={REDACTED}"
    assert isinstance(err, LookupError)
    assert MultipleObjectsReturned().message == (
        "Found several objects when expecting one. Filters: (none)"
    )
    assert MultipleObjectsReturned(message="m").message == "m"


# --- the other constructors ------------------------------------------------------------------


def test_validation_error_messages() -> None:
    assert ValidationError("No data provided").message == "No data provided"
    assert ValidationError(reason="bad value").message == "bad value"
    assert ValidationError(field="email", reason="invalid format").message == (
        "Validation failed for field 'email': invalid format"
    )
    assert ValidationError(field="email").message == "Validation failed for field 'email'"
    assert ValidationError().message == "Validation failed for model"


def test_validation_error_details_merge() -> None:
    err = ValidationError(model=Post, field="email", value="x", reason="r", details={"extra": 1})
    assert err.details == {"field": "email", "value": "x", "reason": "r", "extra": 1}
    assert err.field == "email"
    assert err.model == "Post"
    assert isinstance(err, ValueError)
    with pytest.raises(ValueError, match="invalid format"):
        raise ValidationError(field="email", reason="invalid format")


def test_field_error() -> None:
    err = FieldError(model=Post, field="nme", reason="unknown field")
    assert err.message == "Field error for 'nme': unknown field"
    assert err.details == {"field": "nme", "value": None, "reason": "unknown field"}
    assert isinstance(err, ValueError)
    custom = FieldError(field="x", message="Unknown field 'x' on Post", details={"known": ["id"]})
    assert custom.message == "Unknown field 'x' on Post"
    assert custom.details["known"] == ["id"]


def test_query_error_base_signature() -> None:
    err = QueryError("bad query", Post, {"sql": "SELECT"}, "Builder", "all")
    assert (err.message, err.model, err.details, err.class_name, err.method_name) == (
        "bad query",
        "Post",
        {"sql": "SELECT"},
        "Builder",
        "all",
    )


def test_database_error_keywords() -> None:
    cause = RuntimeError("boom")
    err = DatabaseError(
        model=Post, operation="insert", original_error=cause, sql="INSERT", params=[1]
    )
    assert err.message == "Database error during insert: boom"
    assert err.method_name == "insert"
    assert err.original_error is cause
    assert err.details == {"sql": "INSERT", "params": [1], "original_error": "boom"}
    assert DatabaseError(original_error="x").message == "Database error: x"
    assert DatabaseError("explicit", original_error="x").message == "explicit"
    assert DatabaseError().message == "An error occurred in the ORM"
    assert DatabaseError(method_name="m", operation="o").method_name == "m"


def test_connection_error() -> None:
    err = ConnectionError(
        model=Post, db_url="postgresql://u:pw@h:5432/db", original_error=OSError("refused")
    )
    assert (
        err.message == f"Failed to connect to database postgresql://u:{REDACTED}@h:5432/db: refused"
    )
    assert err.details == {
        "db_url": f"postgresql://u:{REDACTED}@h:5432/db",
        "original_error": "refused",
    }
    assert "pw@" not in str(err)
    assert ConnectionError().message == "Failed to connect to database"
    assert "DatabaseProjectConfig" in str(ConnectionError())


def test_integrity_error_attributes_and_message() -> None:
    err = IntegrityError(
        model=Post,
        constraint="unique",
        original_error="duplicate key value",
        constraint_name="post_slug_key",
        table="post",
        column="slug",
        sql="INSERT",
        params=["hello"],
    )
    assert (err.constraint, err.constraint_name, err.table, err.column) == (
        "unique",
        "post_slug_key",
        "post",
        "slug",
    )
    assert err.message == (
        "Database integrity error: unique constraint violated (constraint 'post_slug_key', "
        "table 'post', column 'slug'): duplicate key value"
    )
    assert err.details == {
        "constraint": "unique",
        "constraint_name": "post_slug_key",
        "table": "post",
        "column": "slug",
        "sql": "INSERT",
        "params": ["hello"],
        "original_error": "duplicate key value",
    }
    assert "hello" not in str(err)
    assert "already exists" in str(err)


@pytest.mark.parametrize(
    ("kind", "label", "hint"),
    [
        ("unique", "unique constraint", "already exists"),
        ("foreign_key", "foreign key constraint", "referenced row"),
        ("not_null", "not-null constraint", "required column"),
        ("check", "check constraint", "CHECK"),
        ("exclusion", "exclusion constraint", "exclusion constraint"),
    ],
)
def test_integrity_error_kinds(kind: str, label: str, hint: str) -> None:
    err = IntegrityError(constraint=kind)
    assert err.message == f"Database integrity error: {label} violated"
    assert len(err.hints()) == 1
    assert hint in err.hints()[0]


def test_integrity_error_other_constraint_text_is_kept() -> None:
    err = IntegrityError(model=Post, constraint="unique_email", original_error=Exception("dup"))
    assert err.message == "Database integrity error: unique_email violated: dup"
    assert err.hints() == []
    assert IntegrityError().message == "Database integrity error: constraint violated"


def test_transaction_error() -> None:
    err = TransactionError(model=Post, operation="commit", original_error=Exception("fail"))
    assert err.message == "Transaction failed during commit: fail"
    assert err.method_name == "commit"
    assert err.details == {"original_error": "fail"}
    assert TransactionError().message == "Transaction failed during an operation"
    assert TransactionError(message="m", details={"a": 1}).details == {"a": 1}


def test_configuration_error() -> None:
    err = ConfigurationError(config_key="host", reason="missing")
    assert err.message == "Configuration error for host: missing"
    assert err.details == {"config_key": "host", "reason": "missing"}
    assert ConfigurationError(reason="no driver").message == "no driver"
    assert ConfigurationError().message == "Invalid ORM configuration"
    assert ConfigurationError(message="m", config_key="k").message == "m"


def test_database_config_error() -> None:
    err = DatabaseConfigError("Database alias cannot be empty", config_key="alias")
    assert err.message == "Database alias cannot be empty"
    assert err.details == {"config_key": "alias", "reason": None}
    with pytest.raises(ConfigurationError, match="alias cannot be empty"):
        raise err


def test_cache_error() -> None:
    err = CacheError(model=Post, operation="get", original_error=Exception("timeout"))
    assert err.message == "Cache operation 'get' failed"
    assert err.details == {"original_error": "timeout"}
    assert err.method_name == "get"
    assert CacheError(operation="x", details={"k": 1}).details == {"k": 1}


def test_state_error() -> None:
    err = StateError(operation="register", reason="already exists", original_error="e")
    assert err.message == "State operation 'register' failed: already exists"
    assert err.details == {"reason": "already exists", "original_error": "e"}
    assert StateError(operation="x").message == "State operation 'x' failed"


def test_relationship_error() -> None:
    err = RelationshipError(
        model="Comment", related_model=Post, field="post_id", reason="not found"
    )
    assert err.message == "Relationship error: not found"
    assert err.details == {"related_model": "Post", "field": "post_id", "reason": "not found"}


def test_migration_error() -> None:
    err = MigrationError(migration="0001_init", original_error=Exception("bad SQL"))
    assert err.message == "Migration '0001_init' failed: bad SQL"
    assert err.details == {"migration": "0001_init", "original_error": "bad SQL"}
    assert MigrationError(migration="m", message="changed").message == "changed"


def test_parameter_error() -> None:
    err = ParameterError(query="SELECT $1", args=[1], reason="type mismatch")
    assert err.message == "Invalid query parameter: type mismatch"
    assert err.details == {"query": "SELECT $1", "args": [1], "reason": "type mismatch"}
    assert ParameterError().details["args"] == []
    assert f"  args:   [{REDACTED}]" in str(err)


def test_unknown_database_error() -> None:
    err = UnknownDatabaseError(
        operation="insert", query="INSERT", args=[1], traceback="frames", original_error="x"
    )
    assert err.message == "Unexpected database error during insert: x"
    assert err.details == {
        "query": "INSERT",
        "args": [1],
        "traceback": "frames",
        "original_error": "x",
    }
    assert "frames" not in str(err)
    assert UnknownDatabaseError().details["original_error"] == "Unknown"


def test_adapter_error() -> None:
    err = AdapterError(adapter_name="pg", original_error=Exception("crash"))
    assert err.message == "Error in pg adapter: crash"
    assert err.details == {"adapter": "pg", "original_error": "crash"}


def test_optimistic_lock_error() -> None:
    err = OptimisticLockError(model=Post, pk=7, expected_version=3)
    assert err.message == (
        "Optimistic lock conflict on Post (pk=7, expected version=3): the row was changed by "
        "someone else. Re-fetch it and retry."
    )
    assert err.details == {"pk": 7, "expected_version": 3}
    assert OptimisticLockError(message="m").message == "m"


def test_sync_context_error() -> None:
    msg = "get_sync() called in an async context. Use await get() instead."
    with pytest.raises(RuntimeError, match=r"Use await get\(\) instead"):
        raise SyncContextError(msg)
    assert SyncContextError(msg).message == msg


def test_empty_parameters_need_no_hint() -> None:
    text = str(ParameterError(reason="x"))
    assert "  args:   []" in text
    assert "MATRX_ORM_SHOW_PARAMS" not in text
    assert "MATRX_ORM_SHOW_PARAMS" in str(ParameterError(reason="x", args=[1]))
