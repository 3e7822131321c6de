"""Fixtures of the framework's own tests (the rig's fixtures come from its plugin).

PostgreSQL: one throwaway server per test session (tests/pg_server.py), started when
a test first asks for it, stopped at the end however the session ends; a fresh
database per test. Tests that use it are marked ``xdist_group("postgres")`` so that
under ``make test`` (-n 2 --dist loadgroup) one worker starts the one server.
$EVRIG_TEST_POSTGRES_URL (a superuser's URL) uses a server of your own instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg_server import Server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A superuser's URL of the session's server (with its password: never print it)."""
    if url := os.environ.get("EVRIG_TEST_POSTGRES_URL"):
        yield url
        return
    with Server() as url:
        yield url


def database_url(server_url: str, name: str) -> str:
    return server_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the session's server; dropped after."""
    import psycopg

    name = f"evrig_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        # FILE_COPY: copies the small template's files (PostgreSQL 15's default,
        # WAL_LOG, writes them through the WAL: seconds on a busy machine)
        admin.execute(f"CREATE DATABASE {name} STRATEGY = FILE_COPY")
    yield database_url(postgres_url, name)
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same store tests on both databases: a new SQLite file, a new PostgreSQL
    database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/reports/results.sqlite"
    return str(request.getfixturevalue("pg_database"))
