"""The layout keeps its promises: no import cycles among feedwatch's modules, and the libraries
that do I/O stay in their adapters (import-linter checks the layers in `make test` as well)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "feedwatch"


def modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(SRC).with_suffix("")
        if "migrations" in rel.parts:
            continue
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out[".".join(parts)] = path
    return out


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(name: str, path: Path, known: frozenset[str]) -> Iterator[str]:
    """Imported module names of statements run when the module is imported (not in functions,
    not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def walk(body: list[ast.stmt]) -> Iterator[str]:
        for node in body:
            if isinstance(node, ast.Import):
                yield from (a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from pkg import sub` imports the module pkg.sub; `from pkg import name`, pkg
                names = [f"{base}.{a.name}" for a in node.names]
                submodules = [n for n in names if n in known]
                yield from submodules
                if len(submodules) < len(names):
                    yield base
            elif isinstance(node, ast.If) and not _type_checking(node):
                yield from walk(node.body)
                yield from walk(node.orelse)
            elif isinstance(node, ast.Try):
                yield from walk(node.body)
                for handler in node.handlers:
                    yield from walk(handler.body)

    yield from walk(tree.body)


def graph() -> dict[str, set[str]]:
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for target in module_level_imports(name, path, frozenset(mods)):
            if target in mods and target != name:
                edges[name].add(target)
    # importing a.b.c runs a/__init__ and a/b/__init__ first
    for name in list(edges):
        for target in list(edges[name]):
            parts = target.split(".")
            for i in range(1, len(parts)):
                parent = ".".join(parts[:i])
                if parent in mods and parent != name and not name.startswith(parent + "."):
                    edges[name].add(parent)
    return edges


def strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            out.append(component)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    cycles = [c for c in strongly_connected(graph()) if len(c) > 1]
    assert cycles == [], f"import cycles: {cycles}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert strongly_connected({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [{"a", "b"}, {"c"}]


def test_io_libraries_only_in_their_adapters() -> None:
    homes = {
        "sqlalchemy": ("feedwatch.edges.store",),
        "alembic": ("feedwatch.edges.store",),
        "httpx": ("feedwatch.edges.http",),
        "httpcore": ("feedwatch.edges.http",),
        "smtplib": ("feedwatch.edges.mail",),
        "apscheduler": ("feedwatch.app.daemon", "feedwatch.config.digests"),
    }
    found = []
    mods = modules()
    for name, path in mods.items():
        for target in module_level_imports(name, path, frozenset(mods)):
            top = target.split(".")[0]
            if top in homes and not name.startswith(homes[top]):
                found.append(f"{name} imports {target}")
    assert found == []


def function_level_imports(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line, module, has a comment on its line or the line above) of imports inside functions."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import | ast.ImportFrom):
                    module = sub.module if isinstance(sub, ast.ImportFrom) else sub.names[0].name
                    # a comment on the line, or above the block of imports it belongs to
                    n = sub.lineno - 1
                    while n > 0 and lines[n - 1].strip().startswith(("from ", "import ")):
                        n -= 1
                    commented = "#" in lines[sub.lineno - 1] or lines[n - 1].strip().startswith("#")
                    yield sub.lineno, module or "", commented


def test_imports_inside_functions_have_a_reason_and_hide_no_cycle() -> None:
    """An import inside a function is only for a heavy or optional library, loaded when it is
    needed, with a comment saying so; and it never hides an import cycle."""
    mods = modules()
    edges = graph()
    found = []
    for name, path in mods.items():
        for line, module, commented in function_level_imports(path):
            if not commented:
                found.append(f"{name}:{line} imports {module} inside a function without a reason")
            if module in mods and module != name:
                edges[name].add(module)
    assert found == []
    cycles = [c for c in strongly_connected(edges) if len(c) > 1]
    assert cycles == [], f"import cycles through imports inside functions: {cycles}"


def test_every_module_docs_architecture_names_exists() -> None:
    import re

    text = (SRC.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    mods = modules()
    named_files = set(re.findall(r"`([\w/]+\.py)`", text))
    named_modules = set(re.findall(r"\b((?:app|core|edges|config|cli)(?:\.\w+)+)\b", text))
    assert len(named_files) > 30 and len(named_modules) > 10  # the page still names them
    roots = (PACKAGE, SRC, SRC.parent)
    missing = [f for f in named_files if not any((root / f).exists() for root in roots)]
    # a module, or a function of one (core.decide.process)
    missing += [
        m
        for m in named_modules
        if f"feedwatch.{m}" not in mods and f"feedwatch.{m.rpartition('.')[0]}" not in mods
    ]
    assert missing == []
