"""The house's import arrows: schemas below translators below gateway, and no circle inside translators."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]


def imports_of(package: str) -> dict[str, set[str]]:
    """module → the first-party modules it imports, TYPE_CHECKING blocks included."""
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).glob("*.py")):
        module = f"{package}.{path.stem}"
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        graph[module] = {n for n in names if n.split(".")[0] in ("schemas", "translators", "gateway")}
    return graph


def test_schemas_import_nothing_above_them() -> None:
    """schemas/ never imports translators/ or gateway/ (ClientProtocolError lives in schemas/errors.py)."""
    upward = {m: sorted(n for n in deps if not n.startswith("schemas")) for m, deps in imports_of("schemas").items()}
    assert {m: deps for m, deps in upward.items() if deps} == {}


def test_translators_import_no_gateway() -> None:
    """translators/ are sans-I/O: they never import the gateway."""
    upward = {m: sorted(n for n in deps if n.startswith("gateway")) for m, deps in imports_of("translators").items()}
    assert {m: deps for m, deps in upward.items() if deps} == {}


def test_translators_have_no_import_circle() -> None:
    """No module of translators/ reaches itself through its imports (state → response/turns, never back)."""
    graph = {m: {n for n in deps if n.startswith("translators")} for m, deps in imports_of("translators").items()}

    def reaches(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(graph.get(start, ()))
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(graph.get(module, ()))
        return seen

    assert sorted(m for m in graph if m in reaches(m)) == []
