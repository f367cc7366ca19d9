"""Values across the sandbox wall: JSON with tags, decoded strictly, with caps.

Only data crosses: numbers, strings, None, lists, tuples, dicts, numpy arrays
and scalars of numeric dtypes, plus *handles* for functions (a function in the
sandbox is a number to the grader; a grader function is a number to the
sandbox). Never pickle: unpickling runs code the sandbox chose. Arrays travel
as base64 of their raw bytes with a whitelisted dtype and are rebuilt with
``np.frombuffer`` (what ``np.load(allow_pickle=False)`` does), so an ndarray
subclass or an object whose ``__eq__`` lies arrives in the grader as a plain
array of the numbers it held. Anything else becomes an :class:`Opaque` (its
type name and a cut ``repr``), which a check reports as "not numbers".
"""

from __future__ import annotations

import base64
import json
import numbers

import numpy as np

MAX_MESSAGE = 64 * 2**20  # bytes of one message
MAX_DEPTH = 40
MAX_ITEMS = 200_000  # list items + dict entries + array count in one message
MAX_TEXT = 2_000  # characters of one string (repr, exception text)
_DTYPES = {"?", "b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "e", "f", "d",
           "g", "F", "D"}


class DecodeError(ValueError):
    """A message from the sandbox broke the format or a cap."""


class Opaque:
    """Stands for a sandbox object that is not data: type name and repr only."""

    def __init__(self, type_name, text):
        self.type_name, self.text = type_name, text

    def __repr__(self):
        return self.text


def _cut(text, limit=MAX_TEXT):
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _safe_repr(value):
    try:
        return _cut(repr(value), 200)
    except BaseException:  # noqa: BLE001 - the student's object
        return f"<a {type(value).__name__} object>"


def encode(value, handle_of, depth=0):
    """``value`` as JSON-able data; ``handle_of(fn)`` gives a callable's tag."""
    if depth > MAX_DEPTH:
        raise ValueError("nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value if not isinstance(value, str) else _cut(value, 10**6)
    if type(value) in (int, float):
        return {"$int": str(value)} if type(value) is int else {"$float": repr(value)}
    if isinstance(value, np.generic) and value.dtype.char in _DTYPES:
        return {"$npscalar": value.dtype.str, "data": _b64(np.asarray(value))}
    if isinstance(value, np.ndarray) and value.dtype.char in _DTYPES:
        arr = np.ascontiguousarray(np.ndarray.view(value, np.ndarray))
        return {"$array": arr.dtype.str, "shape": list(arr.shape), "data": _b64(arr)}
    if type(value) in (list, tuple):
        tag = "$list" if type(value) is list else "$tuple"
        return {tag: [encode(v, handle_of, depth + 1) for v in value]}
    if type(value) is dict:
        return {"$dict": [[encode(k, handle_of, depth + 1),
                           encode(v, handle_of, depth + 1)] for k, v in value.items()]}
    if callable(value) and not isinstance(value, type):
        return handle_of(value)
    if isinstance(value, (numbers.Integral, numbers.Real)) and not isinstance(
            value, np.ndarray):
        try:  # e.g. a Fraction: a check may accept it as a number
            return {"$float": repr(float(value))}
        except BaseException:  # noqa: BLE001
            pass
    attrs = _attributes(value)
    if attrs is not None:
        return {"$object": _cut(type(value).__name__, 100),
                "attrs": [[k, encode(v, handle_of, depth + 1)] for k, v in attrs]}
    return {"$opaque": _cut(type(value).__name__, 100), "repr": _safe_repr(value)}


def _attributes(value):
    """A plain object's public data attributes (a History), or None."""
    try:
        space = object.__getattribute__(value, "__dict__")
    except AttributeError:
        return None
    if not isinstance(space, dict) or isinstance(value, BaseException):
        return None
    return [(k, v) for k, v in list(space.items())[:200]
            if isinstance(k, str) and not k.startswith("_")]


def _b64(arr):
    return base64.b64encode(arr.tobytes()).decode("ascii")


def dumps(message):
    return json.dumps(message, allow_nan=True).encode("utf-8")


def loads(data):
    if len(data) > MAX_MESSAGE:
        raise DecodeError(f"a message of {len(data)} bytes (the cap is {MAX_MESSAGE})")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DecodeError(f"not JSON: {exc}") from None


class Decoder:
    """Strict decoding of one message's values; ``handle(tag, body)`` makes
    callables from function tags (``$fn``/``$cb``/``$ref``)."""

    def __init__(self, handle):
        self.handle, self.items = handle, 0

    def decode(self, data, depth=0):
        if depth > MAX_DEPTH:
            raise DecodeError("nested too deeply")
        if data is None or isinstance(data, bool):
            return data
        if isinstance(data, str):
            return data
        if isinstance(data, (int, float)):
            return data
        if not isinstance(data, dict) or len(data) > 4:
            raise DecodeError(f"unexpected {type(data).__name__}")
        self.items += 1
        if self.items > MAX_ITEMS:
            raise DecodeError("too many items")
        tag = next((k for k in data if k.startswith("$")), None)
        body = data.get(tag)
        if tag == "$int":
            return int(_text(body, 4000))
        if tag == "$float":
            return float(_text(body, 60))
        if tag in ("$list", "$tuple"):
            items = [self.decode(v, depth + 1) for v in _items(body)]
            return items if tag == "$list" else tuple(items)
        if tag == "$dict":
            out = {}
            for pair in _items(body):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise DecodeError("a dict entry is not a pair")
                key = self.decode(pair[0], depth + 1)
                try:
                    out[key] = self.decode(pair[1], depth + 1)
                except TypeError:
                    raise DecodeError("an unhashable dict key") from None
            return out
        if tag == "$array":
            return _array(body, data.get("shape"), data.get("data"))
        if tag == "$npscalar":
            return _array(body, [], data.get("data"))[()]
        if tag == "$object":
            return _object(_text(body, 100), [
                (_text(k, 100), self.decode(v, depth + 1)) for k, v in
                (p if isinstance(p, list) and len(p) == 2 else ("?", None)
                 for p in _items(data.get("attrs")))])
        if tag == "$opaque":
            return Opaque(_text(body, 100), _text(data.get("repr"), 300))
        if tag in ("$fn", "$cb", "$ref"):
            return self.handle(tag, data)
        raise DecodeError(f"unknown tag {tag!r}")


def _text(value, limit):
    if not isinstance(value, str) or len(value) > limit:
        raise DecodeError("a malformed string")
    return value


def _items(value):
    if not isinstance(value, list):
        raise DecodeError("expected a list")
    return value


def _array(dtype, shape, data):
    dtype = np.dtype(_text(dtype, 8))
    if dtype.char not in _DTYPES or dtype.hasobject:
        raise DecodeError(f"dtype {dtype} is not allowed")
    if not isinstance(shape, list) or len(shape) > 32 or not all(
            isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in shape):
        raise DecodeError("a malformed shape")
    raw = base64.b64decode(_text(data, MAX_MESSAGE), validate=True)
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if count * dtype.itemsize != len(raw):
        raise DecodeError("the array's bytes do not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _object(type_name, attrs):
    name = type_name if type_name.isidentifier() else "Object"
    cls = type(name, (), {"__repr__": lambda self: f"<{name} object>"})
    obj = cls()
    for key, value in attrs:
        if key.isidentifier() and not key.startswith("_"):
            setattr(obj, key, value)
    return obj
