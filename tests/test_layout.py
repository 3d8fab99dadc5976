"""The layout shows the architecture: one folder per layer, dependencies pointing one way
(docs/architecture.md). Read from the code's own imports with `ast`, nothing is run."""

import ast
from collections import defaultdict
from pathlib import Path

from tests.harness import REPO

PACKAGE = REPO / "complaints"
#: Each layer may import its own and lower layers only (`cli → pipeline → agents → stages
#: → {store, messaging, classifier, routing, recovery} → schemas`; ops and local beside).
LAYERS = {
    "schemas": 0,
    "normalise": 1, "datafiles": 1, "settings": 1,
    "classifier": 2, "routing": 2, "recovery": 2, "store": 2, "messaging": 2,
    "stages": 3,
    "agents": 4, "ops": 4,
    "pipeline": 5, "local": 5,
    "cli": 6, "__main__": 6, "__init__": 6,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, list[tuple[str, list[str], int]]]:
    """module → (imported module, names taken from it, line), every import in the module
    (also those inside functions), except those only for type checkers."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    benchmarks = {_module_name(p): p for p in (REPO / "bench").glob("*.py")}
    found: dict[str, list[tuple[str, list[str], int]]] = {}
    for name, path in (modules | benchmarks).items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                     and "TYPE_CHECKING" in ast.unparse(node.test)
                     for n in ast.walk(node)}
        entries = []
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [alias.name for alias in node.names]
                submodules = [f"{node.module}.{n}" for n in names
                              if f"{node.module}.{n}" in modules]
                if submodules:  # `from complaints.cli import case`: the module itself
                    entries += [(m, [], node.lineno) for m in submodules]
                    names = [n for n in names if f"{node.module}.{n}" not in modules]
                if names or not submodules:
                    entries.append((node.module, names, node.lineno))
            elif isinstance(node, ast.Import):
                entries += [(alias.name, [], node.lineno) for alias in node.names]
        found[name] = [e for e in entries if e[0].split(".")[0] == "complaints"]
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "bench":  # benchmarks drive the whole product, as the CLI does
        return "cli"
    return parts[1] if len(parts) > 1 else "__init__"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_module_imports_a_module_that_imports_it_back() -> None:
    imports = _imports()
    graph = {module: {target for target, _, _ in entries if target in imports}
             for module, entries in imports.items()}
    assert _cycles(graph) == []


def test_no_layer_imports_a_layer_that_imports_it_back() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, entries in _imports().items():
        for target, _, _ in entries:
            if _layer(target) != _layer(module):
                graph[_layer(module)].add(_layer(target))
    assert _cycles(dict(graph)) == []


def test_every_import_points_down_the_layers() -> None:
    upward = [
        f"{module} → {target} (line {line})"
        for module, entries in _imports().items()
        for target, _, line in entries
        if LAYERS[_layer(target)] > LAYERS[_layer(module)]
    ]
    assert upward == []


def test_no_module_imports_a_private_name_from_another() -> None:
    private = [
        f"{module}:{line} takes {name} from {target}"
        for module, entries in _imports().items()
        for target, names, line in entries
        for name in names
        if name.startswith("_") and not name.startswith("__") and target != module
    ]
    assert private == []


def test_every_folder_of_the_package_is_a_known_layer() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert folders | modules <= set(LAYERS)
