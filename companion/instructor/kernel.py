"""The grader's side inside the kernel that runs a submission (see ``grade.py``).

The grader's first cell calls :func:`install` before any student code runs. It records
pristine copies of what a check relies on: the source text of the check modules
(``companion.exercises`` and the chapter's ``companion.exercises.chNN``), the attributes of
``builtins``, ``torch``, ``numpy`` and every loaded ``companion`` module (functions with their
code objects), the methods of the classes defined there and of ``torch.Tensor`` /
``torch.nn.Module``, and the IPython hooks. Each re-inserted check cell then calls
:func:`begin`, which puts all of that back (undoing monkey-patching by earlier cells) and
builds the check modules afresh from the recorded source (so neither a patched function
nor an edited file on disk is used); and, if no exception stopped the cell, :func:`end`,
which publishes a structured result carrying a nonce that only the grader knows. A verdict
comes from that result and from the cell's own error, never from printed prose.

In-process grading cannot stop every attack: code that registers IPython input
transformers or audit hooks aimed at the grader, or answer objects that patch modules while
a check inspects them, are beyond it; the grader flags such code for review.
"""

from __future__ import annotations

import ast
import copy
import importlib
import importlib.util
import sys
import types

MIME = "application/vnd.course-grader+json"
_NAME = "_course_grader_"
_state: dict = {}


def _protected_modules() -> list[types.ModuleType]:
    names = ["builtins", "math", "numbers", "operator", "functools", "json", "copy", "importlib"]
    names += ["torch", "torch.nn", "torch.nn.functional", "torch.testing", "numpy"]
    names += [n for n in sys.modules if n == "companion" or n.startswith("companion.")]
    return [sys.modules[n] for n in names if n in sys.modules]


def _snapshot_functions(ns: dict) -> dict:
    return {
        id(f): (f, f.__code__, f.__defaults__, f.__kwdefaults__)
        for f in ns.values()
        if isinstance(f, types.FunctionType)
    }


def install(session: str, check_modules: list[str]) -> None:
    """Record the pristine state; register this module under a name with the session nonce.

    ``check_modules`` are the modules the checks import (``companion.exercises``, parents
    first); they are rebuilt from the source recorded here before every check."""
    sources = {}
    for name in check_modules:
        module = importlib.import_module(name)
        with open(module.__file__, encoding="utf-8") as f:
            sources[name] = (module.__file__, f.read())
    modules = _protected_modules()
    classes = []
    for module in modules:
        if module.__name__.startswith("companion"):
            classes += [
                c
                for c in vars(module).values()
                if isinstance(c, type) and c.__module__ == module.__name__
            ]
    torch = sys.modules.get("torch")
    if torch is not None:
        classes += [torch.Tensor, torch.nn.Module]
    ip = _ipython()
    _state.update(
        session=session,
        sources=sources,
        modules=[(m, dict(vars(m)), _snapshot_functions(vars(m))) for m in modules],
        classes=[(c, dict(vars(c)), _snapshot_functions(vars(c))) for c in classes],
        sys={k: getattr(sys, k) for k in ("stdout", "stderr", "displayhook", "excepthook")},
        ipython=_ipython_state(ip) if ip is not None else None,
    )
    sys.modules[_NAME + session] = sys.modules[__name__]


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - the grader always runs in IPython
        return None
    return get_ipython()


def _ipython_state(ip) -> dict:
    return {
        "events": {k: list(v) for k, v in ip.events.callbacks.items()},
        "input_transformers_post": list(ip.input_transformers_post),
        "ast_transformers": list(ip.ast_transformers),
        "custom_exceptions": ip.custom_exceptions,
        "CustomTB": ip.CustomTB,
        "display_pub": ip.display_pub,
        "displayhook": ip.displayhook,
    }


def _restore_namespace(target, saved: dict, functions: dict, is_class: bool) -> None:
    current = vars(target)
    for key, value in saved.items():
        if current.get(key, _state) is not value:
            setattr(target, key, value)
    if is_class:  # a method added to a class shadows the inherited one
        for key in [k for k in current if k not in saved]:
            delattr(target, key)
    for f, code, defaults, kwdefaults in functions.values():
        if f.__code__ is not code:
            f.__code__ = code
        f.__defaults__, f.__kwdefaults__ = defaults, kwdefaults


def _fresh_module(name: str, path: str, source: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    exec(compile(source, path, "exec"), module.__dict__)
    parent, _, child = name.rpartition(".")
    if parent in sys.modules:
        setattr(sys.modules[parent], child, module)
    return module


def restore() -> None:
    """Undo what earlier cells may have patched, then rebuild the check modules."""
    sys.settrace(None)
    sys.setprofile(None)
    for module, saved, functions in _state["modules"]:
        _restore_namespace(module, saved, functions, is_class=False)
    for cls, saved, functions in _state["classes"]:
        try:
            _restore_namespace(cls, saved, functions, is_class=True)
        except (TypeError, AttributeError):  # a C type whose dict cannot change: nothing to undo
            pass
    for key, value in _state["sys"].items():
        setattr(sys, key, value)
    ip, saved = _ipython(), _state["ipython"]
    if ip is not None and saved is not None:
        for event, callbacks in saved["events"].items():
            ip.events.callbacks[event] = list(callbacks)
        ip.input_transformers_post[:] = saved["input_transformers_post"]
        ip.ast_transformers[:] = saved["ast_transformers"]
        for key in ("custom_exceptions", "CustomTB", "display_pub", "displayhook"):
            setattr(ip, key, saved[key])
    for name, (path, source) in _state["sources"].items():
        _fresh_module(name, path, source)


class GivenValueChanged(AssertionError):
    """The answer code changed a value that the exercise gave (and its check relies on)."""


def loaded_names(source: str) -> list[str]:
    """Names that ``source`` reads (for a check cell: the helpers it calls)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    return sorted(found)


def given_names(source: str) -> list[str]:
    """Names bound by plain top-level assignments in an exercise's given lines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        for target in targets:
            elts = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
            names += [e.id for e in elts if isinstance(e, ast.Name)]
    return names


def _plain(value) -> bool:
    """Data an exercise hands over (numbers, strings, tensors without grad, arrays, and
    containers of them); models and optimisers are meant to change, so are not frozen."""
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return True
    if isinstance(value, (tuple, list)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    torch, numpy = sys.modules.get("torch"), sys.modules.get("numpy")
    if torch is not None and isinstance(value, torch.Tensor):
        return not value.requires_grad and type(value) is torch.Tensor
    return numpy is not None and type(value) is numpy.ndarray


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    torch, numpy = sys.modules.get("torch"), sys.modules.get("numpy")
    if torch is not None and isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and bool(torch.equal(a, b))
    if numpy is not None and isinstance(a, numpy.ndarray):
        return a.dtype == b.dtype and bool(numpy.array_equal(a, b, equal_nan=True))
    return a == b or (a != a and b != b)  # NaN equals NaN here


def freeze(label: str, names: list[str]) -> None:
    """Record the given values of exercise ``label`` right after its given lines ran."""
    ns = _ipython().user_ns
    frozen = _state.setdefault("given", {}).setdefault(label, {})
    for name in names:
        if name in ns and _plain(ns[name]):
            frozen[name] = copy.deepcopy(ns[name])


def begin(nonce: str, label: str, names: list[str]) -> None:
    """Called first in a re-inserted check cell: restore, rebind the check helpers that the
    cell uses (``names``) from the fresh check modules, refuse changed given values."""
    restore()
    _state["open"] = nonce
    ns = _ipython().user_ns
    fresh = [sys.modules[name] for name in reversed(list(_state["sources"]))]
    for name in names:
        for module in fresh:
            obj = getattr(module, name, None)
            if getattr(obj, "__module__", None) == module.__name__:
                ns[name] = obj
                break
    for name, value in _state.get("given", {}).get(label, {}).items():
        if name not in ns or not _same(ns[name], value):
            raise GivenValueChanged(
                f"`{name}` is given by the exercise and was changed by the answer code; "
                "keep the given lines as they are"
            )


def end(nonce: str) -> None:
    """Called last in a re-inserted check cell: reached only when no check raised."""
    if _state.get("open") != nonce:
        raise RuntimeError("grader: check cell out of order")
    _state["open"] = None
    from IPython.display import publish_display_data

    publish_display_data({MIME: {"nonce": nonce, "status": "passed"}, "text/plain": "checked"})
