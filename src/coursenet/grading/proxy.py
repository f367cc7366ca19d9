"""The student's functions as the trusted check sees them: proxies.

A :class:`StudentFunction` has the name and signature of the function in the
sandbox; calling it sends the arguments there (as data, :mod:`.codec`), calls
the function, and brings back its return value and every argument it changed
in place, written back into the check's own objects (``sgd_step`` trains
``params`` in place, and the check's "changed its argument" diagnosis needs
the change). An exception comes back as its type name, text and the student's
line, and is raised again here from a frame named after the student's
function at that line, so the check's message reads as it does in the
workbook ("... raised KeyError: 'W' (line 3 of backward)"). ``__globals__``
is a :class:`Globals` view of the function's globals in the sandbox: a check
may put its own function there (a spy), which the sandbox then calls back.
"""

from __future__ import annotations

import builtins
import inspect

import numpy as np

from coursenet.grading.channel import Stopped

_NOT_RAISED_HERE = (KeyboardInterrupt, GeneratorExit)


class StudentFunction:
    def __init__(self, session, handle, name, params):
        self._session, self._handle = session, handle
        self.__name__ = self.__qualname__ = (
            name if isinstance(name, str) and name.isidentifier() else "function")
        signature = _signature(params)
        if signature is not None:
            self.__signature__ = signature

    def __call__(self, *args, **kwargs):
        return self._session.call(self, args, kwargs)

    @property
    def __globals__(self):
        return Globals(self._session, self._handle)

    def __repr__(self):
        return f"<function {self.__name__}>"


def _signature(params):
    if not isinstance(params, list):
        return None
    try:
        return inspect.Signature([
            inspect.Parameter(name, inspect._ParameterKind(kind))
            for name, kind in params if isinstance(name, str) and name.isidentifier()])
    except (TypeError, ValueError):
        return None


class Globals(dict):
    """The globals of a function in the sandbox, for a check's spy. A dict (the
    checks test ``isinstance(space, dict)``) whose own storage stays empty:
    every lookup and assignment goes to the sandbox."""

    def __init__(self, session, handle):
        super().__init__()
        self._session, self._handle = session, handle

    def _ask(self, op, **fields):
        return self._session.ask({"op": op, "fn": self._handle, **fields})

    def __contains__(self, name):
        return isinstance(name, str) and bool(self._ask("has", name=name))

    def __getitem__(self, name):
        if name not in self:
            raise KeyError(name)
        return self._ask("getglobal", name=name)

    def get(self, name, default=None):
        return self[name] if name in self else default

    def __setitem__(self, name, value):
        self._ask("setglobal", name=name, value=self._session.encode(value))

    def items(self):
        """The functions among the globals (a check looks for its target)."""
        pairs = self._ask("functions") or []
        return [(k, v) for k, v in pairs if isinstance(k, str)]

    def keys(self):
        return [k for k, _ in self.items()]

    def values(self):
        return [v for _, v in self.items()]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())


def write_back(target, value):
    """Make ``target`` (the check's argument) equal ``value``, in place."""
    if isinstance(target, np.ndarray) and isinstance(value, np.ndarray):
        try:
            if target.shape != value.shape:
                target.resize(value.shape, refcheck=False)
            np.copyto(target, value, casting="unsafe")
        except (ValueError, TypeError):
            pass  # not writeable, or not a resizable base: left as it was
    elif isinstance(target, list) and isinstance(value, list):
        target[:] = value
    elif isinstance(target, dict) and isinstance(value, dict):
        for key in [k for k in target if k not in value]:
            del target[key]
        for key, item in value.items():
            if key in target and type(target[key]) is type(item) and isinstance(
                    item, (np.ndarray, list, dict)):
                write_back(target[key], item)
            else:
                target[key] = item


def exception_from(reply, function_name):
    """The student's exception, rebuilt as data: its class by name, its args."""
    name = reply.get("type") if isinstance(reply.get("type"), str) else "Exception"
    cls = getattr(builtins, name, None) if reply.get("builtin") else None
    if not (isinstance(cls, type) and issubclass(cls, BaseException)) or issubclass(
            cls, _NOT_RAISED_HERE):
        cls = type(name if name.isidentifier() else "Exception", (Exception,), {})
    args = reply.get("args") if isinstance(reply.get("args"), list) else []
    try:
        exc = cls(*args)
    except Exception:  # noqa: BLE001 - e.g. a UnicodeError's five arguments
        exc = cls(str(reply.get("text", "")))
    where = reply.get("where")
    if not (isinstance(where, list) and len(where) == 2 and isinstance(where[0], int)
            and isinstance(where[1], str)):
        where = [1, function_name]
    return exc, where


def raise_at(exc, where):
    """Raise ``exc`` from a frame that names the student's line and function."""
    lineno, name = max(1, min(int(where[0]), 100_000)), str(where[1])[:100]
    source = ("def _raise(e): raise e\n" if lineno == 1 else
              "def _raise(e):\n" + "\n" * (lineno - 2) + "    raise e\n")
    space = {}
    exec(compile(source, "<your code>", "exec"), space)  # noqa: S102 - our source
    fn = space["_raise"]
    fn.__code__ = fn.__code__.replace(co_name=name, **(
        {"co_qualname": name} if hasattr(fn.__code__, "co_qualname") else {}))
    fn(exc)


def _compiled(source, name):
    space = {}
    exec(compile(source, "<your code>", "exec"), space)  # noqa: S102 - our source
    return space[name]


# made here, not while a check's tracer runs (its def line would count)
_REPLAY = _compiled("def _replay(n):\n    while n > 0: n -= 1\n", "_replay")


def replay_lines(count, name):
    """Run ``count`` line events in a frame named after the student's function,
    so that a tracer the check set (it counts the student's lines, not ours)
    sees the lines the sandbox counted: one line event per loop turn."""
    if count <= 0:
        return
    code = _REPLAY.__code__.replace(co_name=name, **(
        {"co_qualname": name} if hasattr(_REPLAY.__code__, "co_qualname") else {}))
    type(_REPLAY)(code, {})(count)


def stopped_error(reason):
    """What a call into a dead or runaway sandbox raises inside the check."""
    if reason.startswith("timeout"):
        return TimeoutError(reason)
    return RuntimeError(reason)


__all__ = ["StudentFunction", "Globals", "write_back", "exception_from", "raise_at",
           "stopped_error", "Stopped"]
