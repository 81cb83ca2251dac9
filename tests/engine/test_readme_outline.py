"""README's outline of the calls a host makes names the public API as it is: every imported
name is exported, every ``engine.`` call exists on LearningEngine, and its keywords are the
method's own (a renamed method or argument fails here, not in a user's first script)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import ordinis.engines.learning as api
from ordinis.engines.learning import LearningEngine

README = Path(__file__).resolve().parents[2] / "README.md"


def _outline() -> ast.Module:
    text = README.read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    tree = compile(code, "README.md", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    assert isinstance(tree, ast.Module)
    return tree


def _target(node: ast.expr) -> object | None:
    """The object ``engine.a.b`` names (None when it is not rooted at ``engine``)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not (isinstance(node, ast.Name) and node.id == "engine"):
        return None
    obj: object = LearningEngine
    for name in reversed(parts):
        if name == "feedback":  # a property: its class is the collector's
            from ordinis.engines.learning.collectors import FeedbackCollector

            obj = FeedbackCollector
            continue
        assert hasattr(obj, name), f"README calls engine.{'.'.join(reversed(parts))}: no {name}"
        obj = getattr(obj, name)
    return obj


def test_the_outline_imports_exported_names_and_calls_real_methods_with_real_keywords() -> None:
    tree = _outline()
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                for a in n.names]
    assert imported and all(name in api.__all__ for name in imported), imported
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute)]
    checked = 0
    for call in calls:
        target = _target(call.func)
        if target is None:
            continue
        params = inspect.signature(target).parameters  # type: ignore[arg-type]
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        for kw in call.keywords:
            assert takes_any or kw.arg in params, f"{ast.unparse(call.func)}({kw.arg}=...)"
        checked += 1
    assert checked >= 8  # the outline's engine calls were all looked at
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Name) and n.func.id in api.__all__):
        cls = getattr(api, call.func.id)
        params = inspect.signature(cls).parameters
        for kw in call.keywords:
            assert kw.arg in params, f"{call.func.id}({kw.arg}=...)"
