"""Each concept of docs/ARCHITECTURE.md section 4 is written only in its home module (static, stdlib ``ast``).

Adapter merge (``merge_and_unload``), tokenizer sides (``.padding_side =``), eval mode with a later restore
(``model.eval()`` and ``model.train(mode)`` / ``.training`` in one function), the private RNG (``fork_rng``), the
majority vote (``most_common``, ``cluster_answers``, a function named ``*majority*``) and the answer extractors
(a ``"####"`` or ``\\boxed`` literal, the ``EXTRACTORS`` table) each appear in one module.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "rlpost"
HOMES = {
    "merge_and_unload": "runtime/adapters.py",
    "tokenizer side set": "runtime/modes.py",
    "eval() then restore": "runtime/modes.py",
    "fork_rng": "runtime/modes.py",
    "majority vote": "rewards/vote.py",
    "answer extractor": "text/answers.py",
}


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants (docstrings may show the concept in examples)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def calls(node: ast.AST) -> list[tuple[str, ast.Call]]:
    """(called name, call) for every call, attribute or plain."""
    out = []
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            name = n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
            out.append((name, n))
    return out


def concepts(tree: ast.AST):
    """(concept, line) for each place a module writes one of the concepts of HOMES."""
    for name, call in calls(tree):
        if name in ("merge_and_unload", "fork_rng"):
            yield name, call.lineno
        if name in ("most_common", "cluster_answers"):
            yield "majority vote", call.lineno
    skip = docstrings(tree)
    for node in ast.walk(tree):
        targets = [e for t in getattr(node, "targets", []) for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
        if any(getattr(t, "attr", "") in ("padding_side", "truncation_side") for t in targets):
            yield "tokenizer side set", node.lineno
        if isinstance(node, ast.FunctionDef) and "majority" in node.name.lower():  # MajorityVoteReward calls it
            yield "majority vote", node.lineno
        if isinstance(node, ast.Name) and node.id == "EXTRACTORS" and isinstance(node.ctx, ast.Store):
            yield "answer extractor", node.lineno
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
                and ("####" in node.value or "\\boxed" in node.value)):
            yield "answer extractor", node.lineno
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found = calls(node)
            if any(n == "eval" and not c.args for n, c in found) and (
                    any(n == "train" and c.args for n, c in found)
                    or any(isinstance(a, ast.Attribute) and a.attr == "training" for a in ast.walk(node))):
                yield "eval() then restore", node.lineno


def places() -> list[str]:
    out = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        for concept, line in concepts(ast.parse(path.read_text(), str(path))):
            if HOMES[concept] != rel:
                out.append(f"src/rlpost/{rel}:{line} {concept} (home: {HOMES[concept]})")
    return out


def test_every_concept_is_found_in_its_home() -> None:
    found = {c for path in PKG.rglob("*.py") for c, _ in concepts(ast.parse(path.read_text()))
             if HOMES[c] == path.relative_to(PKG).as_posix()}
    assert found == set(HOMES)


def test_concepts_live_only_in_their_homes() -> None:
    assert places() == []


def test_the_check_sees_a_stray_copy() -> None:
    stray = ast.parse('def restore(m, tok):\n    was = m.training\n    m.eval()\n    tok.padding_side = "left"\n'
                      '    m.train(was)\n    return m.merge_and_unload(), Counter(x).most_common(1), "####"\n')
    assert sorted({c for c, _ in concepts(stray)}) == ["answer extractor", "eval() then restore", "majority vote",
                                                       "merge_and_unload", "tokenizer side set"]
