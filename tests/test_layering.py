"""Imports flow one way: arraymath <- autograd <- ops <- nn <- (models, optim, data, train, inspect, cli).

A module may import convnp modules of its own layer or a lower one, never a higher one.
"""

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "convnp"

# lower number = lower layer
LAYERS = {
    "arraymath": 0,
    "autograd": 1,
    "kernels": 2,  # beside ops: the fast twins of the lecture Functions
    "ops": 2,
    "nn": 3,
    "serialization": 3,
    "data": 3,
    "optim": 4,
    "models": 4,
    "summary": 5,
    "explain": 5,
    "train": 6,
    "inspect": 6,
    "cli": 7,
}


TOP = 5


@functools.cache
def _imports(path: Path) -> tuple[ast.Import | ast.ImportFrom, ...]:
    """Every import statement of a file, at module level or inside a function (each file parsed once)."""
    return tuple(n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, (ast.Import, ast.ImportFrom)))


def _layer(module_path: str) -> int | None:
    parts = module_path.split(".")
    if parts[0] != "convnp":
        return None
    if len(parts) == 1:
        return TOP  # the top-level package re-exports everything up to summary
    return LAYERS.get(parts[1])


def test_imports_flow_one_way():
    problems = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        own = _layer(module)
        if own is None:
            continue
        for node in _imports(path):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                target = _layer(name)
                if target is not None and target > own:
                    problems.append(f"{module} (layer {own}) imports {name} (layer {target})")
    assert not problems, "\n".join(problems)


def test_kernels_never_import_the_lecture_tier():
    """ops/ calls the kernels' selectors; a kernel stands on arraymath and autograd alone."""
    problems = []
    for path in (PACKAGE / "kernels").rglob("*.py"):
        for node in _imports(path):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            )
            problems += [f"{path.name} imports {n}" for n in names if n.startswith(("convnp.ops", "convnp.nn"))]
    assert not problems, "\n".join(problems)


def test_the_lecture_tier_has_no_threads_workspaces_or_allocator():
    """convnp/ops is read as the lectures write it: threads (arraymath.parallel: worker pools, BLAS
    thread control, workspaces, raw gemm) and the allocator belong to convnp/kernels."""
    banned = ("convnp.arraymath.parallel", "convnp.arraymath.allocator", "threading", "concurrent", "ctypes")
    problems = []
    for path in (PACKAGE / "ops").rglob("*.py"):
        for node in _imports(path):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            )
            problems += [f"ops/{path.name} imports {n}" for n in names if n.startswith(banned)]
    assert not problems, "\n".join(problems)


def test_every_package_module_is_in_a_layer():
    unknown = sorted(
        {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.rglob("*.py")}
        - set(LAYERS)
        - {"__init__", "__main__"}
    )
    assert not unknown, f"modules not assigned to a layer in tests/test_layering.py: {unknown}"


def test_torch_is_never_imported_by_the_library():
    offenders = [
        str(p)
        for p in PACKAGE.rglob("*.py")
        if any(
            isinstance(n, (ast.Import, ast.ImportFrom))
            and any(
                (a.name if isinstance(n, ast.Import) else (n.module or "")).split(".")[0] == "torch"
                for a in (n.names if isinstance(n, ast.Import) else [n])
            )
            for n in _imports(p)
        )
    ]
    assert not offenders, offenders


# --- no import cycle ---------------------------------------------------------------------------------


def _module_name(path: Path, package: Path = PACKAGE) -> str:
    return ".".join(path.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__")


def _import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """convnp's modules and the convnp modules each imports (at module level or inside a function).

    ``import convnp.a.b`` and ``from convnp.a.b import name`` are edges to convnp.a.b, or to the
    submodule convnp.a.b.name when ``name`` is one. The edge Python adds from a submodule to the
    packages above it (it runs their __init__ first) is not counted, so a package's __init__ may import
    its own submodules; a submodule that imports its package (``from convnp.a import name`` inside
    convnp/a/b.py) is an edge to convnp.a like any other.
    """
    modules = {_module_name(p, package): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        home = module if path.name == "__init__.py" else module.rpartition(".")[0]  # what "." means here
        edges = set()
        for node in _imports(path):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # from .x import y / from .. import y
                    parent = home.split(".")[: len(home.split(".")) - (node.level - 1)]
                    base = ".".join(parent + ([base] if base else []))
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    edges.add(sub if sub in modules else base)
        graph[module] = {e for e in edges if e in modules and e != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a list of modules, first repeated at the end) per strongly connected group (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = []
    for group in groups:  # a shortest way back to the start, inside the group
        start = min(group)
        paths = {start: [start]}
        frontier = [start]
        while frontier and start not in {w for v in frontier for w in graph[v]}:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v] & group):
                    if w not in paths:
                        paths[w] = paths[v] + [w]
                        nxt.append(w)
            frontier = nxt
        last = min(v for v in frontier if start in graph[v])
        cycles.append(paths[last] + [start])
    return cycles


def test_the_cycle_finder_finds_cycles(tmp_path):
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    files = {
        "__init__.py": "from pkg.a import f\n",  # a package may import its submodules
        "a.py": "from pkg import b\n\ndef f():\n    from pkg.c import g\n",  # b: a submodule
        "b.py": "from .c import g\n",
        "c.py": "from pkg import VERSION\n\ndef g():\n    pass\n",
    }  # c imports pkg back
    (tmp_path / "pkg").mkdir()
    for name, text in files.items():
        (tmp_path / "pkg" / name).write_text(text)
    graph = _import_graph(tmp_path / "pkg")
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b", "pkg.c"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg"}}
    assert _cycles(graph) == [["pkg", "pkg.a", "pkg.c", "pkg"]]


def test_no_import_cycle():
    """No module of convnp imports, even inside a function, a module that imports it back."""
    cycles = _cycles(_import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)
