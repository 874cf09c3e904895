"""Fixtures for the emulator tests: a plain server, and a TLS server with a throwaway CA (trustme)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import pytest
import trustme

from gateway.emulator import EmulatorServer


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_ssl(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


@pytest.fixture(scope="session")
def client_ssl(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer() as server:
        yield server


@pytest.fixture
async def tls_emulator(server_ssl: ssl.SSLContext) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(ssl_context=server_ssl, api_key="k") as server:
        yield server
