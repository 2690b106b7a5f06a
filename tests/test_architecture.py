"""The layer rules of docs/ARCHITECTURE.md section 3, checked on the source text with stdlib ``ast``.

Nothing under test is imported: the import graph comes from tools/arch_report.py (``python -m tools.arch_report``
prints its numbers). Violations known today are listed by name below, each with what would end it; a new violation
fails, and so does a listed one that is gone (delete its line), so the lists only shrink.
"""

from __future__ import annotations

import ast
import re

import pytest
from tools.arch_report import (
    CFG_ALLOWED,
    FLOORS,
    PKG,
    ROOT,
    cycles,
    floor,
    import_graph,
    root_cfg_functions,
    root_cfg_parameters,
    unit,
)

MODULES, GRAPH = import_graph()
TREES = {m: ast.parse(path.read_text(), str(path)) for m, path in MODULES.items()}
EDGES = {(m, t): line for m, edges in GRAPH.items() for t, line, _ in edges}
F1 = {u for u, f in FLOORS.items() if f == 1}


def where(module: str, line: int | None = None) -> str:
    path = MODULES[module].relative_to(ROOT).as_posix()
    return f"{path}:{line}" if line else path


def check(found: set[str], known: set[str], rule: str) -> None:
    """Fail on violations that are not listed, and on listed ones that no longer occur."""
    new, gone = sorted(found - known), sorted(known - found)
    assert not new, f"{rule}: {len(new)} new violation(s):\n" + "\n".join(new)
    assert not gone, f"{rule}: fixed, delete from this test's list:\n" + "\n".join(gone)


def edge_names(found: dict[tuple[str, str], int]) -> tuple[set[str], str]:
    """``a -> b`` names (module names, stable across line edits) and a file:line listing for the message."""
    return {f"{a} -> {b}" for a, b in found}, "\n".join(f"{where(a, line)} {a} -> {b}" for (a, b), line in
                                                        sorted(found.items()))


def test_graph_is_read():
    """The walk sees the package and its imports (an empty graph would pass every rule)."""
    assert "rlpost.errors" in MODULES and len(MODULES) > 50 and len(EDGES) > 100


def test_every_module_has_a_floor():
    missing = sorted(where(m) for m in MODULES if floor(m) is None)
    assert not missing, "modules outside the floor table of docs/ARCHITECTURE.md section 1:\n" + "\n".join(missing)


# Rule 1: no module import cycle (function-level imports included).
KNOWN_CYCLES: set[str] = set()


def test_rule1_no_import_cycle():
    found = {" <-> ".join(group) for group in cycles(GRAPH)}
    check(found, KNOWN_CYCLES, "rule 1, import cycles")


# Rule 2: no import of a higher floor (floor table: tools/arch_report.py FLOORS = docs/ARCHITECTURE.md section 1).
# None left (the last ones were cut in phase 2); a listed edge that reappears fails too.
KNOWN_UPWARD: set[str] = set()


def test_rule2_no_import_of_a_higher_floor():
    found = {(a, b): line for (a, b), line in EDGES.items() if (floor(b) or 0) > (floor(a) or 0)}
    names, listing = edge_names(found)
    if names - KNOWN_UPWARD:
        pytest.fail(f"rule 2, upward imports:\n{listing}")
    check(names, KNOWN_UPWARD, "rule 2, upward imports")


def method_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "methods" else None


# Rule 3: no method imports another; no F1 package (runtime, data, checkpoint, tracking) imports another.
# The F1 edges that exist today, allowed explicitly (each is a real dependency, not a slip):
ALLOWED_F1_EDGES: set[str] = set()  # none after the phase-1 move: runtime, data, checkpoint, tracking are independent


def test_rule3_methods_do_not_import_each_other():
    found = {(a, b): line for (a, b), line in EDGES.items()
             if method_of(a) and method_of(b) and method_of(a) != method_of(b)}
    assert not found, "rule 3, a method imports another:\n" + edge_names(found)[1]


def test_rule3_f1_packages_do_not_import_each_other():
    found = {(a, b): line for (a, b), line in EDGES.items() if unit(a) in F1 and unit(b) in F1 and unit(a) != unit(b)}
    names, listing = edge_names(found)
    if names - ALLOWED_F1_EDGES:
        pytest.fail(f"rule 3, F1 packages import each other:\n{listing}")
    check(names, ALLOWED_F1_EDGES, "rule 3, F1 edges")


# Rule 4: nothing under src/ imports rlpost.testing or tests.
def test_rule4_src_never_imports_test_support():
    found = [f"{where(a, line)} {a} -> {b}" for (a, b), line in sorted(EDGES.items()) if b == "rlpost.testing"]
    for module, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            found += [f"{where(module, node.lineno)} {module} -> {n}" for n in names if n.split(".")[0] == "tests"]
    assert not found, "rule 4, src imports test support:\n" + "\n".join(found)


# Rule 5: library functions take the sub-config they need, never the root ``cfg`` (tools/arch_report.py: CFG_ALLOWED
# names the files that may, root_cfg_parameters finds the parameter).
def functions(module: str):
    return [n for n in ast.walk(TREES[module]) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_rule5_pattern_catches_a_root_cfg_parameter():
    stray = ast.parse("def a(model, cfg): ...\nclass T:\n    def b(self, *, cfg=None): ...\n"
                      "async def c(cfg, /): ...\nd = lambda cfg: cfg\ndef ok(model_cfg, eval_cfg): ...\n")
    assert root_cfg_parameters(stray) == [("a", 1), ("b", 3), ("c", 4), ("<lambda>", 5)]
    assert CFG_ALLOWED.match("methods/grpo/pipeline.py") and CFG_ALLOWED.match("config/validate.py")
    assert not CFG_ALLOWED.match("methods/grpo/guards/setup.py") and not CFG_ALLOWED.match("checkpoint/resume.py")


def test_rule5_no_root_cfg_parameter_in_library_functions():
    found = root_cfg_functions(MODULES)
    assert not found, (f"rule 5: {len(found)} library functions take the root cfg; pass the sub-configs or values "
                       "they read (docs/ARCHITECTURE.md section 6):\n" + "\n".join(found))


# Rule 6: a concept is written only in its home (docs/ARCHITECTURE.md section 4).
WRITE = "atomic write (os.replace/mkstemp/rename, write_text(json.dumps))"
VOTE = "majority vote (most_common, cluster_answers, def *majority*)"
EXTRACT = "answer extractor (EXTRACTORS, a '####' or boxed literal)"
HOMES = {
    WRITE: "io.py",
    "JSON file read (json.load, json.loads of a file)": "io.py",
    "padding side set": "runtime/modes.py",
    "eval() then restore": "runtime/modes.py",
    "private RNG (fork_rng)": "runtime/modes.py",
    "merge_and_unload": "runtime/adapters.py",
    VOTE: "rewards/vote.py",
    EXTRACT: "text/answers.py",
}


def attribute_calls(node: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]


def docstring_ids(tree: ast.AST) -> set[int]:
    """ids of the docstring constants (their examples may show a concept)."""
    bodies = [n.body for n in ast.walk(tree) if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                                                ast.AsyncFunctionDef))]
    return {id(b[0].value) for b in bodies
            if b and isinstance(b[0], ast.Expr) and isinstance(b[0].value, ast.Constant)}


def call_concepts(tree: ast.AST):
    for call in attribute_calls(tree):
        name, owner = call.func.attr, getattr(call.func.value, "id", "")
        first_arg = getattr(getattr(call.args[0], "func", None), "attr", "") if call.args else ""
        if ((owner, name) in {("os", "replace"), ("os", "rename"), ("shutil", "move"), ("json", "dump")}
                or name in ("mkstemp", "rename") or name == "write_text" and first_arg == "dumps"):
            yield WRITE, call.lineno
        if owner == "json" and (name == "load" or name == "loads" and first_arg == "read_text"):
            yield "JSON file read (json.load, json.loads of a file)", call.lineno
        if name == "merge_and_unload":
            yield "merge_and_unload", call.lineno
        if name == "fork_rng":
            yield "private RNG (fork_rng)", call.lineno
        if name == "most_common":
            yield VOTE, call.lineno


def node_concepts(tree: ast.AST):
    docs = docstring_ids(tree)
    for node in ast.walk(tree):
        targets = [e for t in getattr(node, "targets", []) for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
        if isinstance(node, ast.Assign) and any(getattr(t, "attr", "") in ("padding_side", "truncation_side")
                                                for t in targets):
            yield "padding side set", node.lineno
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "cluster_answers":
            yield VOTE, node.lineno
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and "majority" in node.name.lower():
            yield VOTE, node.lineno
        if isinstance(node, ast.Name) and node.id == "EXTRACTORS" and isinstance(node.ctx, ast.Store):
            yield EXTRACT, node.lineno
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
                and ("####" in node.value or "\\boxed" in node.value)):
            yield EXTRACT, node.lineno


def concepts(tree: ast.AST):
    """(concept, line) for each place a module tree writes one of the concepts of HOMES."""
    yield from call_concepts(tree)
    yield from node_concepts(tree)
    for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
        calls = attribute_calls(fn)  # model.eval() and, in the same function, model.train(mode) or a read of .training
        if any(c.func.attr == "eval" and not c.args for c in calls) and (
                any(c.func.attr == "train" and c.args for c in calls)
                or any(isinstance(n, ast.Attribute) and n.attr == "training" for n in ast.walk(fn))):
            yield "eval() then restore", fn.lineno


def rule6_found(homes: set[str]) -> list[str]:
    return sorted({f"{where(m, line)} {concept} (home: {HOMES[concept]})" for m, path in MODULES.items()
                   for concept, line in concepts(TREES[m])
                   if HOMES[concept] in homes and HOMES[concept] != path.relative_to(PKG).as_posix()})


def test_rule6_pattern_catches_concepts():
    stray = ast.parse('def restore(m, tok):\n    was = m.training\n    m.eval()\n    tok.padding_side = "left"\n'
                      '    m.train(was)\n    torch.random.fork_rng()\n    cluster_answers(xs)\n    json.load(f)\n'
                      '    os.replace(a, b)\n    return m.merge_and_unload(), Counter(x).most_common(1), "####"\n')
    assert {c for c, _ in concepts(stray)} == set(HOMES)
    homes = {c for m, path in MODULES.items() for c, _ in concepts(TREES[m])
             if HOMES[c] == path.relative_to(PKG).as_posix()}
    # every concept is found in its home (io.py parses text it read itself: json.loads of a variable)
    assert homes == set(HOMES) - {"JSON file read (json.load, json.loads of a file)"}


def test_rule6_io_is_the_one_reader_and_atomic_writer():
    found = rule6_found({"io.py"})
    assert not found, "use rlpost.io (read_json, write_json, write_file, write_dir...):\n" + "\n".join(found)


def test_rule6_concepts_live_in_their_homes():
    found = rule6_found(set(HOMES.values()) - {"io.py"})
    assert not found, f"rule 6: {len(found)} places outside their home (docs/ARCHITECTURE.md section 4):\n" + (
        "\n".join(found))


# Rule 7: no file over 300 lines, no function over 60 (src/rlpost).
MAX_FILE, MAX_FUNCTION = 300, 60
# Known today (after the phase-1 move), to be split:
KNOWN_LONG: set[str] = set()


def test_rule7_files_and_functions_are_short():
    found = {}
    for module, path in MODULES.items():
        n = len(path.read_text().splitlines())
        if n > MAX_FILE:
            found[module] = f"{where(module)}: {n} lines"
        for fn in functions(module):
            length = fn.end_lineno - fn.lineno + 1
            if length > MAX_FUNCTION:
                found[f"{module}.{fn.name}"] = f"{where(module, fn.lineno)} {fn.name}: {length} lines"
    if set(found) - KNOWN_LONG:
        pytest.fail("rule 7, too long:\n" + "\n".join(sorted(found.values())))
    check(set(found), KNOWN_LONG, "rule 7, too long")


# Rule 8: comments, docstrings, docs and recipes cite papers and the repository's own files, never documents beside it.
# The data root default (``../shared/data``, overridden by RLPOST_DATA) is a data location, not a document: allowed,
# unless the path ends in a document (``.md``).
POINTER = re.compile(r"\.\./shared(?!/data(?![\w/.-]*\.md)\b)|MACHINE-NOTES|STYLE\.md|PAPERS\.md|\bthe issue\b", re.I)
SCANNED = ["src/**/*.py", "docs/**/*.md", "conf/**/*.yaml", "recipes/**/*.yaml", "README.md", "bench/**/*.py",
           "bench/**/*.md", "bench/**/*.sh", "launch/**/*"]


def test_rule8_pattern_catches_pointers():
    assert POINTER.search("see ../shared/PAPERS.md (DivPO)") and POINTER.search("(MACHINE-NOTES)")
    assert POINTER.search("the upstream file, see `../shared/data/tallrec/README.md`")
    assert POINTER.search("The issue's target") and POINTER.search("STYLE.md section 6")
    assert not POINTER.search("${oc.env:RLPOST_DATA,../shared/data}/gsm8k/test.jsonl")
    assert not POINTER.search("the prompt file ``../shared/data/divpo/prompts.json``")


def test_rule8_no_pointer_outside_the_repository():
    found = []
    for pattern in SCANNED:
        for path in sorted(ROOT.glob(pattern)):
            if not path.is_file():
                continue
            for i, text in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if POINTER.search(text):
                    found.append(f"{path.relative_to(ROOT).as_posix()}:{i}: {text.strip()[:100]}")
    assert not found, f"rule 8, {len(found)} pointers outside the repository:\n" + "\n".join(found)
