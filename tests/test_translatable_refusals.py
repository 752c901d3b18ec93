"""Every refusal of gridmap/ and geodata/ can be shown in the viewer's language: a typed error
is raised through ``gridmap.messages.fail`` with an ``N_`` template, never with a plain
(English-only) string.

``STILL_ENGLISH_ONLY`` lists the modules known to hold such raises; it may only shrink.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gridmap", "geodata")
TYPED = {"GridmapError", "InvalidInput", "NotFound", "PermissionDenied", "ConfigError", "Conflict"}

STILL_ENGLISH_ONLY: set[str] = set()


def english_only_raises(tree: ast.AST) -> list[int]:
    """Lines raising a typed error built from a plain string or f-string."""
    lines = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        func = node.exc.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        args = node.exc.args
        if name in TYPED and args and isinstance(args[0], (ast.JoinedStr, ast.Constant, ast.BinOp)):
            lines.append(node.lineno)
    return lines


def _found() -> dict[str, list[int]]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            lines = english_only_raises(ast.parse(path.read_text(encoding="utf-8")))
            if lines:
                found[path.relative_to(ROOT).as_posix()] = lines
    return found


def test_refusals_are_translatable():
    found = _found()
    new = {m: lines for m, lines in found.items() if m not in STILL_ENGLISH_ONLY}
    assert new == {}, "raise these through gridmap.messages.fail with an N_ template"
    assert sorted(STILL_ENGLISH_ONLY - set(found)) == [], (
        "these are translatable now: remove them from STILL_ENGLISH_ONLY"
    )


def test_the_check_sees_a_plain_refusal_and_passes_a_translatable_one():
    plain = ast.parse('raise InvalidInput(f"no grid {code}")')
    translatable = ast.parse('raise fail(InvalidInput, N_("no grid {code}"), code=code)')
    assert english_only_raises(plain) == [1]
    assert english_only_raises(translatable) == []
