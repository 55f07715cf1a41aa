"""Python values to JSON-ready values (sdk.md §4.3), and arguments to receipt fields.

The result of :func:`encode` holds only ``dict`` (``str`` keys), ``list``, ``str``, ``int``
within ±(2**53 - 1), finite ``float``, ``bool`` and ``None``, so the engine can canonicalize it
without a second conversion. Python never hashes or canonicalizes: byte digests and the ordering
of set elements come from ``heso._core``.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import sys
from collections.abc import Callable, Mapping
from datetime import date, time
from enum import Enum
from pathlib import PurePath
from typing import Any, TypeVar

from heso import _core

__all__ = [
    "MAX_DEPTH",
    "Binder",
    "bind_fields",
    "encode",
    "register_encoder",
    "target_host_of",
]

T = TypeVar("T")

MAX_DEPTH = 64
"""Arrays and objects nest at most this deep; a deeper one becomes ``"<too deep>"``."""

# RFC 8785 numbers are IEEE-754 doubles: integers beyond this are not exact in every
# implementation, so receipts carry them as decimal strings (receipts.md §3).
_MAX_SAFE_INT = 2**53 - 1
_TOO_DEEP = "<too deep>"
_CYCLE = "<cycle>"
# Recorded as `str(value)`. (`UUID`, `Decimal` and the `ipaddress` classes join them without
# being imported: see `_is_loaded`.)
_STRING_TYPES = (PurePath,)
# The `ipaddress` classes recorded as `str(value)`; its interface classes subclass the address
# classes.
_IPADDRESS_TYPES = ("IPv4Address", "IPv6Address", "IPv4Network", "IPv6Network")
# Exact JSON types are encoded by the rules above any registration: an encoder registered for
# them (or for `object`, which would catch them all) would change what every receipt means.
_UNREGISTRABLE = frozenset({object, type(None), bool, int, float, str, dict, list, tuple})

_encoders: dict[type, Callable[[Any], object]] = {}


def register_encoder(cls: type[T], fn: Callable[[T], object]) -> None:
    """Teach heso to record values of ``cls`` (and its subclasses) as ``fn(value)``.

    The returned value is encoded in turn. A registered encoder takes precedence over the
    built-in rules (a registered ``Enum`` or dataclass uses ``fn``), but not over the exact JSON
    types, which always encode as themselves. Registering ``cls`` again replaces its encoder.

    Raises:
        TypeError: ``cls`` is not a class or ``fn`` is not callable.
        ValueError: ``cls`` is ``object`` or a JSON type.
    """
    if not isinstance(cls, type):
        raise TypeError(f"register_encoder needs a class, not `{_type_name(type(cls))}`")
    if not callable(fn):
        raise TypeError(f"the encoder for `{_type_name(cls)}` is not callable")
    if cls in _UNREGISTRABLE:
        raise ValueError(f"cannot register an encoder for `{_type_name(cls)}`; heso encodes it")
    _encoders[cls] = fn


def encode(value: object, *, strict: bool = False) -> Any:
    """Return ``value`` as a JSON-ready value, by the rules of sdk.md §4.3.

    The conversion is deterministic: equal inputs give equal outputs, whatever their identity or
    the order of a set. An object no rule covers becomes the string ``"<module.QualName>"`` of its
    type, never its ``repr()``.

    Args:
        value: Any Python value.
        strict: Refuse lossy placeholders instead of writing them: an object no rule covers, a
            cycle or a value nested deeper than :data:`MAX_DEPTH` raise ``TypeError``. Durable
            calls need this because their arguments must be stored faithfully.

    Raises:
        TypeError: A mapping has a key that is not ``str``, ``int``, ``float``, ``bool``,
            ``None`` or an ``Enum``, or two keys of one mapping encode to the same string; in
            strict mode also the cases above.
    """
    return _Encoder(strict).value(value, 0)


class _Encoder:
    """One conversion: the strictness and the containers being encoded (to detect cycles)."""

    __slots__ = ("active", "strict")

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        # Ids of the containers and objects on the current path. An object seen twice side by
        # side is encoded twice; only one that contains itself is a cycle.
        self.active: set[int] = set()

    def value(self, value: object, depth: int) -> Any:
        # The common primitives first, by exact type: this path runs for every argument.
        kind = type(value)
        if kind is str or kind is bool or value is None:
            return value
        if kind is int:
            return _int(value)  # type: ignore[arg-type]
        if kind is float:
            return _float(value)  # type: ignore[arg-type]
        if kind is dict:
            return self.mapping(value, depth)  # type: ignore[arg-type]
        if kind is list or kind is tuple:
            return self.array(value, depth)  # type: ignore[arg-type]
        return self.other(value, kind, depth)

    def other(self, value: object, kind: type, depth: int) -> Any:
        # The owner's conversion (registered, then `__heso_encode__`) overrides the built-ins.
        custom = _registered(kind) or getattr(kind, "__heso_encode__", None)
        if custom is not None:
            return self.nested(value, depth, lambda: custom(value))
        for types, rule in _RULES:
            if isinstance(value, types):
                return rule(self, value, depth)
        return self.instance(value, kind, depth)

    def instance(self, value: object, kind: type, depth: int) -> Any:
        """The rows of the table after the built-in types, ending with the fallback."""
        if (
            _is_loaded(value, "uuid", "UUID")
            or _is_loaded(value, "decimal", "Decimal")
            or any(_is_loaded(value, "ipaddress", name) for name in _IPADDRESS_TYPES)
        ):
            return str(value)
        model_dump = getattr(kind, "model_dump", None)
        if callable(model_dump):
            return self.nested(value, depth, lambda: model_dump(value, mode="json"))
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = dataclasses.fields(value)
            return self.nested(
                value, depth, lambda: {f.name: getattr(value, f.name) for f in fields}
            )
        if self.strict:
            raise TypeError(
                f"cannot record a `{_type_name(kind)}` faithfully; convert it to JSON types, "
                "give it `__heso_encode__` or call heso.register_encoder"
            )
        return f"<{_type_name(kind)}>"

    def nested(self, value: object, depth: int, convert: Callable[[], object]) -> Any:
        """Encode what ``convert`` returns for ``value``, guarding against a self-reference."""
        key = id(value)
        if key in self.active:
            return self.placeholder(_CYCLE)
        self.active.add(key)
        result = self.value(convert(), depth)
        self.active.discard(key)
        return result

    def enter(self, container: object, depth: int) -> str | None:
        """Start a container; return the placeholder to record instead, if it must not nest."""
        if depth >= MAX_DEPTH:
            return self.placeholder(_TOO_DEEP)
        key = id(container)
        if key in self.active:
            return self.placeholder(_CYCLE)
        self.active.add(key)
        return None

    def placeholder(self, text: str) -> str:
        if not self.strict:
            return text
        if text == _CYCLE:
            raise TypeError("cannot record a value that contains itself faithfully")
        raise TypeError(f"cannot record a value nested more than {MAX_DEPTH} levels deep")

    def mapping(self, value: Mapping[Any, Any], depth: int) -> Any:
        stop = self.enter(value, depth)
        if stop is not None:
            return stop
        result: dict[str, Any] = {}
        for key, item in value.items():
            name = _key(key)
            if name in result:
                raise TypeError(
                    f"two keys of one mapping are both recorded as `{name}`; "
                    "give them distinct string keys"
                )
            result[name] = self.value(item, depth + 1)
        self.active.discard(id(value))
        return result

    def array(self, value: list[Any] | tuple[Any, ...], depth: int) -> Any:
        stop = self.enter(value, depth)
        if stop is not None:
            return stop
        result = [self.value(item, depth + 1) for item in value]
        self.active.discard(id(value))
        return result

    def set(self, value: set[Any] | frozenset[Any], depth: int) -> Any:
        stop = self.enter(value, depth)
        if stop is not None:
            return stop
        import json  # noqa: PLC0415 (sets are rare; `import heso` stays lean)

        items = [self.value(item, depth + 1) for item in value]
        # A set has no order of its own: sort by the engine's canonical bytes of each element,
        # so the same set always gives the same array.
        items.sort(key=lambda item: _core.canonicalize(json.dumps(item).encode()))
        self.active.discard(id(value))
        return items


_Rule = Callable[[_Encoder, Any, int], Any]

# The built-in rows of the sdk.md §4.3 table for values that are not of an exact JSON type, in
# order: an `IntEnum` is an `Enum` first. `int.__int__` and friends rather than `int()`: a
# subclass may override `__int__`, and the record must not depend on it.
_RULES: tuple[tuple[type | tuple[type, ...], _Rule], ...] = (
    (Enum, lambda encoder, value, depth: encoder.value(value.value, depth)),
    (int, lambda encoder, value, depth: _int(int.__int__(value))),
    (float, lambda encoder, value, depth: _float(float.__float__(value))),
    (str, lambda encoder, value, depth: str.__str__(value)),
    (Mapping, _Encoder.mapping),
    ((list, tuple), _Encoder.array),
    ((set, frozenset), _Encoder.set),
    ((bytes, bytearray, memoryview), lambda encoder, value, depth: _bytes(value)),
    ((date, time), lambda encoder, value, depth: value.isoformat()),
    (_STRING_TYPES, lambda encoder, value, depth: str(value)),
)


def _int(value: int) -> int | str:
    if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
        return value
    return _decimal_string(value)


def _float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _decimal_string(value: int) -> str:
    """Return ``str(value)``, also past the interpreter's limit on digits (Python 3.11+)."""
    try:
        return str(value)
    except ValueError:
        pass
    # Python 3.11+ refuses str() of an int with more than `sys.get_int_max_str_digits()`
    # digits; convert in 1000-digit chunks so the result does not depend on that setting.
    chunk = 10**1000
    magnitude, digits = abs(value), []
    while magnitude:
        magnitude, low = divmod(magnitude, chunk)
        digits.append(low)
    head, *rest = reversed(digits)
    text = str(head) + "".join(f"{part:01000d}" for part in rest)
    return "-" + text if value < 0 else text


def _bytes(value: bytes | bytearray | memoryview) -> dict[str, Any]:
    data = value.tobytes() if isinstance(value, memoryview) else bytes(value)
    return {"$bytes": len(data), "$blake3": _core.blake3_hex(data)}


def _key(key: object) -> str:
    """Return the object member name for a mapping key: ``str(key)`` (sdk.md §4.3)."""
    if type(key) is str:
        return key
    # Enum first: a `str` or `int` enum member is recorded as `str(member)`, like other enums.
    # Subclasses of the other types are read through the base type's own methods, so an
    # overridden `__str__` cannot change the record.
    if isinstance(key, (Enum, bool)) or key is None:
        return str(key)
    if isinstance(key, str):
        return str.__str__(key)
    if isinstance(key, int):
        return _decimal_string(int.__int__(key))
    if isinstance(key, float):
        return float.__repr__(key)
    raise TypeError(
        f"cannot record a mapping key of type `{_type_name(type(key))}`; "
        "use str, int, float, bool, None or Enum keys"
    )


def _registered(kind: type) -> Callable[[Any], object] | None:
    if not _encoders:
        return None
    for base in kind.__mro__:
        found = _encoders.get(base)
        if found is not None:
            return found
    return None


def _is_loaded(value: object, module: str, name: str) -> bool:
    """Whether ``value`` is a ``module.name`` instance, without importing ``module``.

    A value can only be an instance of a class whose module is already loaded, so modules the
    caller never imported (``uuid``, ``decimal``, ``ipaddress``) stay out of ``import heso``.
    """
    loaded = sys.modules.get(module)
    cls = getattr(loaded, name, None)
    return isinstance(cls, type) and isinstance(value, cls)


def _type_name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


class Binder:
    """Binds call arguments to receipt fields for one signature, computed once per function.

    Fields are each parameter by name, ``*args`` as a list under its own name and ``**kwargs``
    merged at the top level. A first parameter named ``self`` or ``cls`` is not captured.
    """

    __slots__ = ("_signature", "_skip", "_var_keyword", "_var_positional")

    def __init__(self, signature: inspect.Signature) -> None:
        """Prepare to bind calls to ``signature``."""
        self._signature = signature
        parameters = list(signature.parameters.values())
        first = parameters[0] if parameters else None
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        self._skip = (
            first.name
            if first is not None and first.kind in positional and first.name in ("self", "cls")
            else None
        )
        self._var_positional: str | None = None
        self._var_keyword: str | None = None
        for parameter in parameters:
            if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
                self._var_positional = parameter.name
            elif parameter.kind is inspect.Parameter.VAR_KEYWORD:
                self._var_keyword = parameter.name

    def arguments(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Return the call's fields as the raw Python values (not yet encoded).

        Raises:
            TypeError: The arguments do not bind to the signature (Python's own error,
                unchanged), or a ``**kwargs`` key has the name of another field.
        """
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        fields: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if name == self._skip:
                continue
            if name == self._var_positional:
                fields[name] = list(value)
            elif name == self._var_keyword:
                for key, item in value.items():
                    # Only possible beside a positional-only parameter or `*args` of that name.
                    if key in fields:
                        raise TypeError(
                            f"keyword argument `{key}` has the name of another argument; "
                            "heso records arguments by name, so rename one"
                        )
                    fields[key] = item
            else:
                fields[name] = value
        return fields


def bind_fields(
    signature: inspect.Signature, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the encoded receipt fields of a call to a function with ``signature``.

    The fields object is encoded as one value, so :data:`MAX_DEPTH` counts it as the first level.

    Raises:
        TypeError: As :meth:`Binder.arguments` and :func:`encode`.
    """
    fields: dict[str, Any] = encode(Binder(signature).arguments(args, kwargs))
    return fields


def target_host_of(
    bound: Mapping[str, Any],
    target_host: str | Callable[[Mapping[str, Any]], str | None] | None,
) -> str | None:
    """Return the target host of a call (sdk.md §4.2), before the engine normalizes it.

    Args:
        bound: The call's fields as raw Python values (:meth:`Binder.arguments`).
        target_host: The decorator's setting: a fixed host, a callable receiving ``bound`` and
            returning a host or ``None``, or ``None`` to take the host of an argument named
            ``url`` or the string of an argument named ``host``.

    Raises:
        TypeError: The callable returned something other than a string or ``None``.
    """
    if isinstance(target_host, str):
        return target_host
    if target_host is not None:
        host = target_host(bound)
        if host is not None and not isinstance(host, str):
            raise TypeError(
                f"target_host returned a `{_type_name(type(host))}`; return a host string or None"
            )
        return host
    url = bound.get("url")
    if isinstance(url, str):
        # Deferred: `import heso` must not import urllib (sdk.md §1).
        from urllib.parse import urlsplit  # noqa: PLC0415

        try:
            hostname = urlsplit(url).hostname
        except ValueError:  # a malformed URL (an unclosed `[`) names no host
            hostname = None
        if hostname:
            return hostname
    host = bound.get("host")
    if isinstance(host, str) and host:
        return host
    return None
