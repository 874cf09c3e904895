"""A client's session as every transport starts it (WebSocket, seed 003, WebRTC calls): metered to its caller
(spend rows, budgets), watched (metrics, log lines) and listed among the live sessions (the limits sweep, the
graceful drain). The transport runs it and takes it off the list when it ends."""

from __future__ import annotations

from starlette.datastructures import State
from starlette.requests import HTTPConnection

from gateway.accounts.access import Caller
from gateway.accounts.meter import SessionMeter
from gateway.config import Deployment
from gateway.ids import new_ids
from gateway.ops.watch import SessionWatch, Upstream
from gateway.session import Session
from gateway.transports.channel import ClientChannel
from schemas.openai import Dialect
from translators.context import SessionKind
from translators.session_config import SessionConfig


def client_address(connection: HTTPConnection) -> str | None:
    """`host:port` of the peer, for log lines."""
    client = connection.client
    return f"{client.host}:{client.port}" if client else None


def watched_session(
    state: State,
    channel: ClientChannel,
    caller: Caller,
    deployments: list[Deployment],
    dialect: Dialect,
    kind: SessionKind,
    client: str | None,
    preset: SessionConfig | None = None,
) -> Session:
    """A new session on `channel`, metered to `caller` (a secret's minting key), added to the live sessions."""
    session_id = new_ids().new("sess")
    meter = SessionMeter(
        caller,
        deployments[0].alias,
        session_id,
        ledger=state.accounts.ledger,
        queue=state.spend_queue,
        store_transcripts=state.config.accounts.store_transcripts,
    )
    watch = SessionWatch(state.metrics, meter, Upstream(deployments[0]), dialect.value, client)
    session = Session(
        channel,
        deployments,
        state.upstream,
        dialect,
        state.limits,
        kind,
        session_id=session_id,
        hooks=watch,
        preset=preset,
    )
    state.live_sessions.add(session)
    return session
