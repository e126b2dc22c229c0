"""The house in the order data flows (README "Layout"): each package imports only the floors below
it, faces (`cli/`, `web/`) reach the rest through `services/` public names, and no module is part
of an import circle — lazy imports inside functions included, since that is where circles hide."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS = {"models": 0, "shouhu": 1, "notifications": 2, "tasks": 3, "flows": 4, "services": 5, "cli": 6, "web": 6}
FACES = {"cli", "web"}


def modules() -> dict[str, Path]:
    found = {}
    for package in FLOORS:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, known: dict[str, Path]) -> list[tuple[int, str, list[str]]]:
    """(line, module imported, names taken) for every import that runs (not under TYPE_CHECKING)."""
    out: list[tuple[int, str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for rest in child.orelse:
                    visit(rest)
                continue
            if isinstance(child, ast.Import):
                out.extend((child.lineno, a.name, []) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for a in child.names:  # `from services import cases` imports the module services.cases
                    sub = f"{child.module}.{a.name}"
                    out.append((child.lineno, sub, []) if sub in known else (child.lineno, child.module, [a.name]))
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return [(line, name, names) for line, name, names in out if name.split(".")[0] in FLOORS]


def test_each_package_imports_only_the_floors_below_it() -> None:
    known = modules()
    wrong = []
    for name, path in known.items():
        here = name.split(".")[0]
        for line, target, names in imports_of(path, known):
            there = target.split(".")[0]
            if there == here:
                continue
            if FLOORS[there] >= FLOORS[here]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target} (floor {there} is not below {here})")
            elif here in FACES and there != "services" and there != "shouhu":
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}: faces go through services/")
            elif here in FACES and any(n.startswith("_") for n in names):
                wrong.append(f"{path.relative_to(ROOT)}:{line} takes a private name {names} from {target}")
    assert not wrong, "\n".join(wrong)


def test_faces_use_only_public_names_of_services() -> None:
    known = modules()
    private = []
    for name, path in known.items():
        if name.split(".")[0] not in FACES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {
            a.asname or a.name: f"services.{a.name}"
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module == "services"
            for a in n.names
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
            ):
                private.append(f"{path.relative_to(ROOT)}:{node.lineno} {aliases[node.value.id]}.{node.attr}")
    assert not private, "\n".join(private)


def test_no_import_circles() -> None:
    known = modules()
    graph = {
        name: sorted({t for _, t, _ in imports_of(path, known) if t in known and t != name})
        for name, path in known.items()
    }
    circles = []
    state: dict[str, int] = {}

    def walk(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                circles.append(" → ".join(trail[trail.index(nxt) :] + [nxt]))
            elif nxt not in state:
                walk(nxt, trail + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert not circles, "\n".join(circles)


def test_the_checks_see_what_they_check() -> None:
    """The walk finds lazy imports and the floors of real modules (else the tests above pass on nothing)."""
    known = modules()
    assert {"services.tasks", "cli.main", "web.pages", "tasks.transition", "flows.runner", "shouhu.wording"} <= set(
        known
    )
    lazy = [t for line, t, _ in imports_of(known["services.deadlines"], known)]
    assert "flows.sweeper" in lazy and "flows.runner" in lazy
