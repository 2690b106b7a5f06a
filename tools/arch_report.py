"""Import-graph numbers of src/rlpost, read with stdlib ``ast`` (nothing is imported): ``python -m tools.arch_report``.

Prints modules, import edges (function-level imports included), cycles, floors (longest import chain), upward
imports against the floor table of docs/ARCHITECTURE.md section 1, library functions that take the root config
(rule 5 of section 3), and files and lines per package.
tests/test_architecture.py enforces the rules on the same graph.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "rlpost"

# docs/ARCHITECTURE.md section 1: the floor of each unit (first name under rlpost; "rlpost" is the package's __init__)
FLOORS = {
    "rlpost": 0, "errors": 0, "types": 0, "io": 0, "distributed": 0, "text": 0, "instantiate": 0,
    "runtime": 1, "data": 1, "checkpoint": 1, "tracking": 1,
    "rollout": 2,
    "rewards": 3,
    "eval": 4,
    "pipeline": 5,
    "methods": 6,
    "config": 7, "cli": 7, "train": 7, "evaluate": 7, "testing": 7,
}


def module_files(pkg: Path = PKG) -> dict[str, Path]:
    """Dotted module name -> file, e.g. ``rlpost.data.build``; a package is named by its ``__init__.py``."""
    out = {}
    for path in sorted(pkg.rglob("*.py")):
        parts = path.relative_to(pkg.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is a module of the package (None outside rlpost)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return None


def imports(module: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(imported rlpost module, first line, imported at module level) once per module ``path`` imports, nested too."""
    tree = ast.parse(path.read_text(), str(path))
    top = {id(node) for node in tree.body}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: dict[str, tuple[int, bool]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for name in names:
            target = _resolve(name, modules) if name.split(".")[0] == "rlpost" else None
            if target and target != module:
                line, at_top = found.get(target, (node.lineno, False))
                found[target] = (min(line, node.lineno), at_top or id(node) in top)
    return [(target, line, at_top) for target, (line, at_top) in sorted(found.items())]


def import_graph(pkg: Path = PKG) -> tuple[dict[str, Path], dict[str, list[tuple[str, int, bool]]]]:
    """Modules and, for each, its imports of other rlpost modules."""
    modules = module_files(pkg)
    return modules, {m: imports(m, p, modules) for m, p in modules.items()}


def cycles(graph: dict[str, list[tuple[str, int, bool]]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w, _, _ in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def levels(graph: dict[str, list[tuple[str, int, bool]]]) -> dict[str, int]:
    """Length of the longest import chain below each module (0: imports no rlpost module); a cycle counts once."""
    merged = {m: i for i, group in enumerate(cycles(graph)) for m in group}
    memo: dict[str, int] = {}

    def depth(m: str, seen: frozenset) -> int:
        if m not in memo:
            below = [t for t, _, _ in graph[m] if t not in seen and merged.get(t, t) != merged.get(m, m)]
            memo[m] = 1 + max((depth(t, seen | {t}) for t in below), default=-1)
        return memo[m]

    return {m: depth(m, frozenset({m})) for m in graph}


def unit(module: str) -> str:
    """The floor-table name of a module: ``rlpost.methods.grpo.trainer`` -> ``methods``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "rlpost"


def floor(module: str) -> int | None:
    return FLOORS.get(unit(module))


def upward(modules: dict[str, Path], graph: dict[str, list[tuple[str, int, bool]]]) -> list[str]:
    """``file:line a -> b (Fi -> Fj)`` for every import of a higher floor (or of a unit not in the floor table)."""
    out = []
    for m, edges in sorted(graph.items()):
        for t, line, _ in edges:
            fm, ft = floor(m), floor(t)
            if fm is None or ft is None or ft > fm:
                out.append(f"{modules[m].relative_to(ROOT)}:{line} {m} -> {t} (F{fm} -> F{ft})")
    return out


# rule 5: only the pipelines, the config package and the entry points may take the root config as ``cfg``
CFG_ALLOWED = re.compile(r"^(methods/\w+/(pipeline|config)\.py|pipeline\.py|config/.*|cli\.py|train\.py|"
                         r"evaluate\.py)$")


def root_cfg_parameters(tree: ast.AST) -> list[tuple[str, int]]:
    """(function name, line) for each function or lambda in ``tree`` that has a parameter named ``cfg``."""
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs, fn.args.vararg, fn.args.kwarg]
            if any(a is not None and a.arg == "cfg" for a in args):
                found.append((getattr(fn, "name", "<lambda>"), fn.lineno))
    return sorted(found, key=lambda f: f[1])


def root_cfg_functions(modules: dict[str, Path]) -> list[str]:
    """``file:line name(cfg)`` for every library function (outside :data:`CFG_ALLOWED`) taking the root config."""
    return [f"{path.relative_to(ROOT).as_posix()}:{line} {name}(cfg)" for path in modules.values()
            if not CFG_ALLOWED.match(path.relative_to(PKG).as_posix())
            for name, line in root_cfg_parameters(ast.parse(path.read_text(), str(path)))]


def main() -> None:
    modules, graph = import_graph()
    edges = [e for es in graph.values() for e in es]
    lv = levels(graph)
    deepest = max(lv, key=lambda m: (lv[m], m))
    print(f"modules {len(modules)}, import edges {len(edges)} ({sum(top for _, _, top in edges)} at module level)")
    print(f"cycles {len(cycles(graph))}: {cycles(graph)}")
    print(f"floors (longest chain) {max(lv.values()) + 1}; deepest {deepest} ({lv[deepest]})")
    up = upward(modules, graph)
    print(f"upward imports {len(up)}", *up, sep="\n  ")
    root_cfg = root_cfg_functions(modules)
    print(f"library functions taking the root cfg {len(root_cfg)}", *root_cfg, sep="\n  ")
    files, lines = Counter(), Counter()
    for m, p in modules.items():
        key = unit(m) + "/" if p.parent != PKG else "(top level)"
        files[key] += 1
        lines[key] += len(p.read_text().splitlines())
    print(f"files / lines per package ({sum(files.values())} / {sum(lines.values())}):")
    for key in sorted(files):
        print(f"  {key:14} {files[key]:3} / {lines[key]}")


if __name__ == "__main__":
    main()
