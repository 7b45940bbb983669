"""A throwaway PostgreSQL server for tests: TRACERD_TEST_PG_URL, or a private cluster
started from the installed server binaries (initdb + pg_ctl as the `postgres` user, on a
unix socket in a temp dir), or None when neither exists."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

START_TIMEOUT_S = 60


def _bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def _as_postgres(argv: list[str]) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *argv],
        check=True,
        capture_output=True,
        timeout=START_TIMEOUT_S,
    )


@contextmanager
def postgres_url() -> Iterator[str | None]:
    if os.environ.get("TRACERD_TEST_PG_URL"):
        yield os.environ["TRACERD_TEST_PG_URL"]
        return
    bindir = _bindir()
    if bindir is None or os.geteuid() != 0:
        yield None
        return
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        yield None
        return
    root = tempfile.mkdtemp(prefix="tdpg", dir="/tmp")
    os.chown(root, pw.pw_uid, pw.pw_gid)
    data = os.path.join(root, "data")
    try:
        _as_postgres([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres"])
        _as_postgres(
            [
                f"{bindir}/pg_ctl",
                "-D",
                data,
                "-w",
                "-l",
                os.path.join(root, "log"),
                "-o",
                f"-k {root} -h '' -c fsync=off",
                "start",
            ]
        )
        _as_postgres([f"{bindir}/createdb", "-h", root, "-U", "postgres", "tracerd"])
        yield f"postgresql+psycopg://postgres@/tracerd?host={root}"
    finally:
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            _as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"])
        shutil.rmtree(root, ignore_errors=True)


def reset_schema(url: str) -> None:
    """Empty the database at `url` (tests own it): its public schema dropped and made anew."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
