"""gateway/accounts/admin.py over HTTP: LiteLLM's /key/* and /spend/logs, master key only, OpenAI-shaped errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.live import MASTER_KEY, GatewayThread, LiveGateway

MASTER = {"Authorization": f"Bearer {MASTER_KEY}"}


@pytest.fixture(scope="module")
def default_db_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveGateway, Path]]:
    """A master key and no database_url: the default SQLite file beside the config."""
    tmp = tmp_path_factory.mktemp("admin")
    thread = GatewayThread(tmp)
    yield thread.start(), tmp
    thread.stop()


@pytest.fixture
async def admin(default_db_gateway: tuple[LiveGateway, Path]) -> AsyncIterator[httpx.AsyncClient]:
    base = default_db_gateway[0].http_base.removesuffix("/v1")
    async with httpx.AsyncClient(base_url=base, headers=MASTER, timeout=10) as client:
        yield client


def assert_error(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """OpenAI's error shape: {"error": {message, type, param, code}}."""
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == code and error["message"]
    return dict(error)


def test_default_database_is_a_sqlite_file_beside_the_config(default_db_gateway: tuple[LiveGateway, Path]) -> None:
    """general_settings.database_url unset with a master key: livegate.db next to config.yaml."""
    assert (default_db_gateway[1] / "livegate.db").is_file()


async def test_key_lifecycle(admin: httpx.AsyncClient) -> None:
    """generate → info → list → update → block/unblock → delete, LiteLLM's field names throughout."""
    made = (await admin.post("/key/generate", json={"key_alias": "life", "models": ["gemini-live"],
                                                    "budget_duration": "30d", "metadata": {"app": "x"}})).json()
    key, token = made["key"], made["token"]
    assert made["key_name"] == f"sk-...{key[-4:]}" and made["budget_reset_at"] and made["metadata"] == {"app": "x"}
    info = (await admin.get("/key/info", params={"key": key})).json()
    assert info["key"] == token and info["info"]["key_alias"] == "life" and info["info"]["usage"]["responses"] == 0
    assert (await admin.get("/key/info", params={"key": token})).json()["info"]["token"] == token
    listed = (await admin.get("/key/list", params={"key_alias": "life"})).json()
    assert listed["keys"] == [token] and listed["total_count"] == 1 and listed["total_pages"] == 1
    full = (await admin.get("/key/list", params={"key_alias": "life", "return_full_object": "true"})).json()
    assert full["keys"][0]["models"] == ["gemini-live"]
    updated = (await admin.post("/key/update", json={"key": key, "rpm_limit": 7, "models": []})).json()
    assert updated["rpm_limit"] == 7 and updated["models"] == [] and updated["key_alias"] == "life"
    assert (await admin.post("/key/block", json={"key": token})).json()["blocked"] is True
    assert (await admin.post("/key/unblock", json={"key": key})).json()["blocked"] is False
    assert (await admin.post("/key/delete", json={"key_aliases": ["life"]})).json() == {"deleted_keys": [token]}
    assert_error(await admin.get("/key/info", params={"key": key}), 404, "key_not_found")


async def test_auth_errors(admin: httpx.AsyncClient) -> None:
    """No key or a wrong one: 401; a working virtual key: 403 (master key only)."""
    virtual = (await admin.post("/key/generate", json={})).json()["key"]
    for headers, status, code in (
        ({}, 401, "invalid_api_key"),
        ({"Authorization": "Bearer sk-wrong"}, 401, "invalid_api_key"),
        ({"Authorization": f"Bearer {virtual}"}, 403, "insufficient_permissions"),
        ({"api-key": virtual}, 403, "insufficient_permissions"),
    ):
        async with httpx.AsyncClient(base_url=str(admin.base_url), headers=headers) as other:
            for method, path in (("GET", "/key/list"), ("POST", "/key/generate"), ("GET", "/spend/logs")):
                error = assert_error(await other.request(method, path, json={}), status, code)
                assert virtual not in error["message"]
                if not headers:  # says what to send, not "bearer or basic" (basic auth is not taken)
                    assert error["message"] == "Missing the master key: send it as Authorization: Bearer <master_key>."


@pytest.mark.parametrize(
    ("method", "path", "body", "params", "status", "code", "param"),
    [
        ("POST", "/key/generate", {"max_budgett": 1}, None, 400, "invalid_value", "max_budgett"),
        ("POST", "/key/generate", {"budget_duration": "soon"}, None, 400, "invalid_value", "budget_duration"),
        ("POST", "/key/generate", {"rpm_limit": 0}, None, 400, "invalid_value", "rpm_limit"),
        ("GET", "/key/info", None, {}, 400, "missing_required_parameter", "key"),
        ("GET", "/key/info", None, {"key": "sk-nope"}, 404, "key_not_found", "key"),
        ("POST", "/key/update", {"key": "sk-nope", "rpm_limit": 1}, None, 404, "key_not_found", "key"),
        ("POST", "/key/delete", {"keys": ["sk-nope"]}, None, 404, "key_not_found", "keys"),
        ("POST", "/key/delete", {}, None, 400, "missing_required_parameter", None),
        ("POST", "/key/delete", {"key_aliases": ["nobody"]}, None, 404, "key_not_found", "key_aliases"),
        ("POST", "/key/block", {}, None, 400, "invalid_value", "key"),
        ("GET", "/key/list", None, {"size": "0"}, 400, "invalid_value", "size"),
        ("GET", "/spend/logs", None, {"start_date": "yesterday"}, 400, "invalid_value", "start_date"),
        ("GET", "/spend/logs", None, {"key_alais": "bot"}, 400, "unknown_parameter", "key_alais"),
        ("GET", "/key/list", None, {"team": "support"}, 400, "unknown_parameter", "team"),
    ],
)
async def test_bad_requests(
    admin: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    params: dict[str, str] | None,
    status: int,
    code: str,
    param: str | None,
) -> None:
    """Each mistake gets its status, OpenAI error code and offending parameter."""
    error = assert_error(await admin.request(method, path, json=body, params=params), status, code)
    assert error["param"] == param


async def test_the_master_key_is_not_a_virtual_key(admin: httpx.AsyncClient) -> None:
    """/key/info with the master key (a newcomer's only key): 404, and the words say why."""
    error = assert_error(await admin.get("/key/info", params={"key": MASTER_KEY}), 404, "key_not_found")
    assert error["message"].startswith("No such key: the master key is not a virtual key")
    assert MASTER_KEY not in error["message"]


async def test_a_bad_duration_is_worded_without_pydantic_prefixes(admin: httpx.AsyncClient) -> None:
    error = assert_error(await admin.post("/key/generate", json={"duration": "5y"}), 400, "invalid_value")
    assert error["message"] == "Invalid 'duration': expected a duration such as 30s, 10m, 1h, 30d, 2w or 1mo, got '5y'"


async def test_duplicate_alias_and_bad_json(admin: httpx.AsyncClient) -> None:
    """A taken key_alias and a body that is not JSON are 400s with their own codes."""
    await admin.post("/key/generate", json={"key_alias": "dup"})
    assert_error(await admin.post("/key/generate", json={"key_alias": "dup"}), 400, "key_alias_exists")
    assert_error(await admin.post("/key/generate", content=b"{not json"), 400, "invalid_json")


async def test_spend_logs_page_shape(admin: httpx.AsyncClient) -> None:
    """/spend/logs answers a page with its total, even when empty for the filter."""
    page = (await admin.get("/spend/logs", params={"key_alias": "nobody", "page_size": "5",
                                                   "start_date": "2026-01-01", "end_date": "2026-01-02"})).json()
    assert page == {"data": [], "total": 0, "page": 1, "page_size": 5, "total_pages": 0}


async def test_no_database_means_no_virtual_keys(tmp_path: Path) -> None:
    """database_url: null turns storage off: the admin API says why (400), the master key still works."""
    thread = GatewayThread(tmp_path, general={"database_url": None})
    gateway = thread.start()
    try:
        async with httpx.AsyncClient(base_url=gateway.http_base.removesuffix("/v1"), headers=MASTER) as client:
            assert_error(await client.post("/key/generate", json={}), 400, "database_not_configured")
            assert (await client.get("/health/readiness")).json()["db"] == "none"
        assert not (tmp_path / "livegate.db").exists()
    finally:
        thread.stop()


async def test_litellm_fields_livegate_does_not_enforce_are_named(admin: httpx.AsyncClient) -> None:
    """A LiteLLM script sending tpm_limit learns why it is refused; a misspelt field stays 'unknown'."""
    error = assert_error(await admin.post("/key/generate", json={"tpm_limit": 1000}), 400, "invalid_value")
    assert error["param"] == "tpm_limit" and "LiteLLM key field livegate does not implement" in error["message"]
    error = assert_error(await admin.post("/key/generate", json={"rpm_limt": 5}), 400, "invalid_value")
    assert error["param"] == "rpm_limt" and error["message"] == "Invalid 'rpm_limt': Unknown parameter."


async def test_an_open_gateway_has_no_admin_api(tmp_path: Path) -> None:
    """No master_key: every admin route says a master key must be set (no key the client sends could pass)."""
    thread = GatewayThread(tmp_path, master_key=None)
    gateway = thread.start()
    try:
        async with httpx.AsyncClient(base_url=gateway.http_base.removesuffix("/v1")) as client:
            for method, path in (("GET", "/key/list"), ("POST", "/key/generate"), ("GET", "/spend/logs")):
                error = assert_error(await client.request(method, path), 400, "master_key_not_configured")
                assert "set general_settings.master_key" in error["message"]
    finally:
        thread.stop()
