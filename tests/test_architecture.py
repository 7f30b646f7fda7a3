"""The architecture as tests: packages meet only through their faces, no private name crosses."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

PACKAGE = ROOT / "ae_import"


def _room(module: str) -> str:
    """Return the room of a module: its subpackage (``mapping``), or the top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports() -> list[tuple[str, str, str, int]]:
    """Return (importing module, imported module, name, line) for every ``from x import y``."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.startswith("ae_import"):
                found += [(module, target, alias.name, node.lineno) for alias in node.names]
    return found


def test_no_private_name_crosses_a_package() -> None:
    """Nothing imports another room's ``_private`` name (a function, a class, a module)."""
    crossing = [
        f"{importer}:{line} imports {name} from {target}"
        for importer, target, name, line in _imports()
        if _room(importer) != _room(target)
        and (name.startswith("_") or any(p.startswith("_") for p in target.split(".")))
    ]
    assert crossing == []


def test_packages_meet_only_through_their_faces() -> None:
    """Another package is imported through its ``__init__`` (its face), never a module inside."""
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    reaching = [
        f"{importer}:{line} imports {target}"
        for importer, target, _name, line in _imports()
        if _room(importer) != _room(target) and _room(target) in packages and target.count(".") > 1
    ]
    assert reaching == []


def test_the_contracts_hold_and_would_catch_a_cycle(tmp_path: Path) -> None:
    """lint-imports keeps every contract; a copy with mapper -> headers again breaks one."""
    script = Path(sys.executable).with_name("lint-imports")
    kept = subprocess.run(
        [str(script), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert kept.returncode == 0, kept.stdout[-2000:]
    copy = tmp_path / "ae_import"
    subprocess.run(["cp", "-r", str(PACKAGE), str(copy)], check=True)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    mapper = copy / "mapping" / "mapper.py"
    mapper.write_text(mapper.read_text() + "\nfrom . import headers  # noqa\n")
    broken = subprocess.run(
        [str(script), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert broken.returncode == 1
    assert "No cycles" in broken.stdout and ".mapper -> .headers" in broken.stdout
