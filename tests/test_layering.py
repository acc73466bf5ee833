"""Imports flow one way: arraymath <- autograd <- ops <- nn <- (models, optim, data, train, inspect, cli).

A module may import convnp modules of its own layer or a lower one, never a higher one.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "convnp"

# lower number = lower layer
LAYERS = {
    "arraymath": 0,
    "autograd": 1,
    "kernels": 2,      # beside ops: the fast twins of the lecture Functions
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


def _layer(module_path: str) -> int | None:
    parts = module_path.split(".")
    if parts[0] != "convnp":
        return None
    if len(parts) == 1:
        return TOP          # the top-level package re-exports everything up to summary
    return LAYERS.get(parts[1])


def test_imports_flow_one_way():
    problems = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        own = _layer(module)
        if own is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
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
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            problems += [f"{path.name} imports {n}" for n in names if n.startswith(("convnp.ops", "convnp.nn"))]
    assert not problems, "\n".join(problems)


def test_every_package_module_is_in_a_layer():
    unknown = sorted({p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.rglob("*.py")}
                     - set(LAYERS) - {"__init__", "__main__"})
    assert not unknown, f"modules not assigned to a layer in tests/test_layering.py: {unknown}"


def test_torch_is_never_imported_by_the_library():
    offenders = [str(p) for p in PACKAGE.rglob("*.py")
                 if any(isinstance(n, (ast.Import, ast.ImportFrom)) and
                        any((a.name if isinstance(n, ast.Import) else (n.module or "")).split(".")[0] == "torch"
                            for a in (n.names if isinstance(n, ast.Import) else [n]))
                        for n in ast.walk(ast.parse(p.read_text())))]
    assert not offenders, offenders
