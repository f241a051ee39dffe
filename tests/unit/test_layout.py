"""The house rules about who imports whom, read from the source with `ast`."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "scheduler"


def _imports(path: Path) -> set[str]:
    """The absolute module names `path` imports (relative imports resolved)."""
    package = list(path.relative_to(PACKAGE.parent).parent.parts)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def test_the_use_cases_never_import_the_text_pipeline() -> None:
    # The pipeline observes the use cases; they reach it through ServiceContext.texts only.
    offenders = {
        str(path.relative_to(PACKAGE.parent)): sorted(
            name for name in _imports(path) if name.startswith("scheduler.texts")
        )
        for path in _modules("services")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_domain_is_pure() -> None:
    # holidays: calendar arithmetic and data, no IO (calendar.py's federal and state holidays).
    allowed = set(sys.stdlib_module_names) | {"dateutil", "holidays", "scheduler"}
    offenders = {
        str(path.relative_to(PACKAGE.parent)): sorted(
            name
            for name in _imports(path)
            if name.split(".")[0] not in allowed
            or (name.startswith("scheduler.") and not name.startswith("scheduler.domain"))
        )
        for path in _modules("domain")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_shipped_package_never_imports_test_code() -> None:
    offenders = [
        str(path.relative_to(PACKAGE.parent))
        for path in PACKAGE.rglob("*.py")
        if any(name.split(".")[0] in ("tests", "bench") for name in _imports(path))
    ]
    assert offenders == []


def test_no_module_of_the_text_pipeline_exceeds_400_lines() -> None:
    lengths = {p.name: len(p.read_text().splitlines()) for p in _modules("texts")}
    assert {name: n for name, n in lengths.items() if n > 400} == {}
