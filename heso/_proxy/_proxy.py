"""The transparent proxy behind ``heso.wrap`` (sdk.md §6.2).

A ``Wrapped`` object stands for one client or resource namespace. Attribute reads it does not
gate pass through to the target. What it does resolve (a gated method, a namespace, a client) is
stored in the proxy's own ``__dict__``, so the next ``wrapped.chat.completions.create`` is three
plain instance-dictionary hits: ``__getattr__`` runs once per attribute name and proxy.

Everything a gated call needs that does not depend on its arguments (tool name, family, how to
bind, whether it is async) is worked out when the attribute is first resolved. A name resolved
once keeps its resolution until it is written or deleted through the proxy; replacing an
attribute on the original client behind the proxy's back is not seen for such names.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass
from types import FunctionType, MethodType, TracebackType
from typing import Any

from heso import _gating
from heso._proxy import _clients, _streams
from heso._proxy._clients import Binder, Family

__all__ = ["Options", "Wrapped", "wrap_client"]

# The views that change how a response is returned, not which API is called: a policy for
# `openai.chat.completions.create` must also cover `with_raw_response.chat.completions.create`.
_VIEWS = ("with_raw_response", "with_streaming_response")


@dataclass(frozen=True, slots=True)
class Options:
    """What ``heso.wrap`` was given; every object reached from the client shares them."""

    name: str | None
    redact: tuple[str, ...]
    redact_mode: str


class _Root:
    """One wrapped client: its family, options and the host of its ``base_url``."""

    __slots__ = ("_host_of", "client", "family", "options", "prefix")

    def __init__(self, client: Any, family: Family, options: Options) -> None:
        self.client = client
        self.family = family
        self.options = options
        self.prefix = options.name or family.package
        # (base_url object, its host), replaced as one value so threads never see a mix.
        self._host_of: tuple[object, str | None] = (None, None)

    def target_host(self) -> str | None:
        """The host of the client's current ``base_url``, computed again only when it changed."""
        base_url = self.client.base_url
        known, host = self._host_of
        if base_url is not known:
            host = _clients.url_host(base_url)
            self._host_of = (base_url, host)
        return host


class _Node:
    """Where a proxy sits: its client, the attribute path from it, and the view it is in."""

    __slots__ = ("path", "root", "streaming")

    def __init__(self, root: _Root, path: tuple[str, ...], *, streaming: bool) -> None:
        self.root = root
        self.path = path
        self.streaming = streaming

    def child(self, name: str, kind: str) -> _Node:
        path = self.path if name in _VIEWS else (*self.path, name)
        return _Node(self.root, path, streaming=self.streaming or kind == "streaming")

    def wrap(self, value: object, name: str) -> tuple[object, bool]:
        """What the proxy returns for ``value`` found under ``name``, and whether to cache it."""
        root = self.root
        family = _clients.client_family(value)
        # Only clients of the wrapped family: the HTTP client inside an LLM SDK is its transport,
        # and gating it too would record every call twice.
        if family is root.family:
            return Wrapped(
                value, _Node(_Root(value, family, root.options), (), streaming=False)
            ), True
        kind = _clients.namespace_kind(value, root.family)
        if kind is not None:
            return Wrapped(value, self.child(name, kind)), True
        return value, False


class Wrapped:
    """A client or namespace whose gated methods go through heso before the request is sent."""

    __slots__ = ("__dict__", "_heso_node", "_heso_target")

    _heso_target: Any
    _heso_node: _Node

    def __init__(self, target: object, node: _Node) -> None:
        """Stand for ``target`` at ``node``."""
        object.__setattr__(self, "_heso_target", target)
        object.__setattr__(self, "_heso_node", node)

    def __getattr__(self, name: str) -> Any:
        """Resolve ``name`` on the target: gate, wrap, or pass it through."""
        value = getattr(self._heso_target, name)
        node = self._heso_node
        if name in node.root.family.gated and callable(value) and not isinstance(value, type):
            resolved: object = _gated(node, name, value)
            cache = True
        elif isinstance(value, (MethodType, FunctionType)):
            # A plain method may return a client (`with_options()`, `copy()`) or a namespace;
            # those come back wrapped. Its own results are never gated.
            resolved, cache = _passthrough(node, name, value), True
        else:
            resolved, cache = node.wrap(value, name)
        if cache:
            self.__dict__[name] = resolved
        return resolved

    def __setattr__(self, name: str, value: object) -> None:
        """Write to the target, forgetting what was resolved under that name."""
        setattr(self._heso_target, name, value)
        self.__dict__.pop(name, None)

    def __delattr__(self, name: str) -> None:
        """Delete on the target, forgetting what was resolved under that name."""
        delattr(self._heso_target, name)
        self.__dict__.pop(name, None)

    def __dir__(self) -> list[str]:
        """The target's attributes."""
        return dir(self._heso_target)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        # `isinstance(wrapped, openai.OpenAI)` holds; `type(wrapped)` is still `Wrapped`.
        return type(self._heso_target)

    def __repr__(self) -> str:
        """``<heso.wrap of …>`` around the target's own repr."""
        return f"<heso.wrap of {self._heso_target!r}>"

    def __reduce_ex__(self, protocol: object) -> Any:
        """Refuse: an unpickled copy would silently lose its gate."""
        raise TypeError(
            f"a heso.wrap `{_qualname(self._heso_target)}` cannot be pickled; "
            "pickle heso.unwrap(obj) and wrap it again after loading"
        )

    def __copy__(self) -> Wrapped:
        """A copy of the target, wrapped with the same options."""
        return self._heso_node_copy(copy.copy(self._heso_target))

    def __deepcopy__(self, memo: dict[int, Any]) -> Wrapped:
        """A deep copy of the target, wrapped with the same options."""
        return self._heso_node_copy(copy.deepcopy(self._heso_target, memo))

    def _heso_node_copy(self, target: object) -> Wrapped:
        node = self._heso_node
        if node.root.client is self._heso_target:
            root = node.root
            node = _Node(_Root(target, root.family, root.options), (), streaming=False)
        return Wrapped(target, node)

    def __enter__(self) -> Wrapped:
        """Enter the target's context; ``with`` yields the wrapped object."""
        _special(self._heso_target, "__enter__")()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Any:
        """Leave the target's context."""
        return _special(self._heso_target, "__exit__")(exc_type, exc, traceback)

    async def __aenter__(self) -> Wrapped:
        """Enter the target's async context; ``async with`` yields the wrapped object."""
        await _special(self._heso_target, "__aenter__")()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Any:
        """Leave the target's async context."""
        return await _special(self._heso_target, "__aexit__")(exc_type, exc, traceback)


def wrap_client(client: object, family: Family, options: Options) -> Wrapped:
    """A new proxy for a supported client."""
    return Wrapped(client, _Node(_Root(client, family, options), (), streaming=False))


def _special(target: object, name: str) -> Callable[..., Any]:
    """A special method looked up on the type, as the ``with`` statement does."""
    method = getattr(type(target), name, None)
    if method is None:
        protocol = "asynchronous " if name.startswith("__a") else ""
        raise TypeError(
            f"`{_qualname(target)}` does not support the {protocol}context manager protocol"
        )
    return functools.partial(method, target)


def _qualname(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _passthrough(node: _Node, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    if not node.streaming and _clients.is_coroutine_method(method):

        @functools.wraps(method)
        async def call_async(*args: Any, **kwargs: Any) -> Any:
            return node.wrap(await method(*args, **kwargs), name)[0]

        return call_async

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        return node.wrap(method(*args, **kwargs), name)[0]

    return call


def _gated(node: _Node, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """The gated version of ``method``: capture, gate, call, record the result."""
    root = node.root
    family = root.family
    options = root.options
    tool_name = ".".join((root.prefix, *node.path, name))
    bind = Binder(method)
    verb = family.verb
    redact = options.redact
    redact_mode = options.redact_mode
    capture_type = _gating.Capture

    if family.is_http:
        client = root.client

        def begin(
            args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> tuple[_gating.Ticket, dict[str, Any]]:
            arguments = bind(args, kwargs)
            fields, host = _clients.http_fields(family, name, arguments, client)
            capture = capture_type(
                verb=verb,
                tool_name=tool_name,
                fields=fields,
                target_host=host,
                redact=redact,
                redact_mode=redact_mode,
            )
            return _gating.begin(capture), arguments

        streamed_call = name == "stream"

        def finish(ticket: _gating.Ticket, result: Any, arguments: dict[str, Any]) -> Any:
            if streamed_call:
                return _streams.response_manager(ticket, result)
            streamed = bool(arguments.get("stream"))
            ticket.succeed(_clients.http_result(result, streamed=streamed))
            return result

    else:

        def begin(
            args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> tuple[_gating.Ticket, dict[str, Any]]:
            # The SDKs' methods are keyword-only; binding is only needed for path parameters.
            arguments = bind(args, kwargs) if args else kwargs
            capture = capture_type(
                verb=verb,
                tool_name=tool_name,
                fields=_clients.llm_fields(arguments),
                target_host=root.target_host(),
                redact=redact,
                redact_mode=redact_mode,
            )
            return _gating.begin(capture), arguments

        def finish(ticket: _gating.Ticket, result: Any, arguments: dict[str, Any]) -> Any:
            return _streams.llm_result(ticket, result)

    # Inside a `with_streaming_response` view every method returns a context manager at once,
    # even on an async client; otherwise the innermost function says whether it is async.
    if not node.streaming and _clients.is_coroutine_method(method):

        @functools.wraps(method)
        async def gated_async(*args: Any, **kwargs: Any) -> Any:
            ticket, arguments = begin(args, kwargs)
            try:
                result = await method(*args, **kwargs)
            except BaseException as error:
                ticket.fail(error)
                raise
            return finish(ticket, result, arguments)

        return gated_async

    @functools.wraps(method)
    def gated(*args: Any, **kwargs: Any) -> Any:
        ticket, arguments = begin(args, kwargs)
        try:
            result = method(*args, **kwargs)
        except BaseException as error:
            ticket.fail(error)
            raise
        return finish(ticket, result, arguments)

    return gated
