"""Every public function of gridmap/ and geodata/ has a numpy-style docstring: a summary
line, a ``Parameters`` section naming each parameter (with its unit where it has one) and a
``Returns`` (or ``Yields``) section when it returns something.

``STILL_UNDOCUMENTED`` lists the modules known to miss some; it may only shrink (a module that
now passes fails the test until it is removed).
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gridmap", "geodata")

STILL_UNDOCUMENTED: set[str] = set()


def _public_functions(tree: ast.Module):
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"{node.name}.{item.name}", item


def _parameters(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = fn.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return [n for n in names if n not in ("self", "cls")]


def _returns_something(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    if fn.returns is not None:
        return not (isinstance(fn.returns, ast.Constant) and fn.returns.value is None)
    return any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(fn))


def problems(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """What a function's docstring misses of the numpy layout (empty when it is complete)."""
    if any(isinstance(d, ast.Name) and d.id in ("property", "overload") for d in fn.decorator_list):
        return [] if ast.get_docstring(fn) else ["no docstring"]
    doc = ast.get_docstring(fn)
    if not doc:
        return ["no docstring"]
    found = []
    params = _parameters(fn)
    if params:
        if "Parameters\n----------" not in doc:
            found.append("no Parameters section")
        else:
            section = doc.split("Parameters\n----------", 1)[1]
            described = {
                name.strip().lstrip("*")
                for line in section.splitlines()
                if line and not line[0].isspace()
                for name in line.split(" :")[0].split(",")
            }
            found += [f"parameter {p} not described" for p in params if p not in described]
    sections = (f"{s}\n{'-' * len(s)}" for s in ("Returns", "Yields"))
    if _returns_something(fn) and not any(s in doc for s in sections):
        found.append("no Returns section")
    return found


def _undocumented() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name.startswith("_") and path.name != "__init__.py":
                continue
            name = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for qualname, fn in _public_functions(tree):
                if fn.name.startswith("_"):
                    continue
                for problem in problems(fn):
                    found.setdefault(name, []).append(f"{qualname}: {problem}")
    return found


def test_public_functions_have_numpy_docstrings():
    found = _undocumented()
    new = {m: p for m, p in found.items() if m not in STILL_UNDOCUMENTED}
    assert new == {}, "document these (numpy style, units named)"
    assert sorted(STILL_UNDOCUMENTED - set(found)) == [], (
        "these are documented now: remove them from STILL_UNDOCUMENTED"
    )


def test_the_check_tells_a_numpy_docstring_from_prose():
    good = ast.parse('''def f(radius_m, *, crs=None):
    """Buffer.

    Parameters
    ----------
    radius_m : float
        Radius in metres.
    crs : str, optional
        Target CRS.

    Returns
    -------
    float
        Area in square metres.
    """
    return 1.0
''').body[0]
    prose = ast.parse(
        'def f(radius_m):\n    """Buffer by radius_m metres."""\n    return 1\n'
    ).body[0]
    assert problems(good) == []
    assert problems(prose) == ["no Parameters section", "no Returns section"]
