"""``@heso.tool``, ``@heso.destructive``, ``@heso.payment`` and ``@heso.action`` (sdk.md §4).

A decorated function is gated on every call: its arguments are captured, the gate records the
decision before the body may run, and after the body one more receipt records its result or
error. The wrapper has the kind of the function it wraps (sync, ``async def``, generator, async
generator), so ``inspect`` and frameworks that look at it see the original shape.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from typing import Any, TypeVar, cast, overload

from heso import _gating
from heso._context import redact_paths
from heso._encode import Binder, encode, target_host_of
from heso._types import RedactMode, Verb, redact_mode_value, verb_value

__all__ = ["action", "destructive", "payment", "tool"]

F = TypeVar("F", bound=Callable[..., Any])

TargetHost = str | Callable[[Mapping[str, Any]], str | None] | None
"""A fixed host, or a callable receiving the bound arguments and returning a host or ``None``."""


@overload
def tool(func: F, /) -> F: ...
@overload
def tool(
    *,
    verb: Verb | str = ...,
    name: str | None = ...,
    redact: Sequence[str] | None = ...,
    redact_mode: RedactMode | str = ...,
    target_host: TargetHost = ...,
) -> Callable[[F], F]: ...
def tool(
    func: F | None = None,
    /,
    *,
    verb: Verb | str = Verb.TOOL_CALL,
    name: str | None = None,
    redact: Sequence[str] | None = None,
    redact_mode: RedactMode | str = RedactMode.COMMIT_AND_REVEAL,
    target_host: TargetHost = None,
) -> F | Callable[[F], F]:
    """Gate every call of a function as a ``tool_call`` action, or as ``verb``.

    Use it bare (``@heso.tool``) or with options (``@heso.tool(verb="payment")``). The verb is
    authoritative: heso never guesses it from the function's name.

    Args:
        func: The function, when the decorator is used bare.
        verb: The kind of action (a :class:`heso.Verb` or its string).
        name: The recorded ``tool_name``; the function's ``__name__`` by default.
        redact: Field paths to redact in every receipt of this function (receipts.md §8.1).
        redact_mode: ``"commit_and_reveal"`` (default) or ``"destructive"``.
        target_host: A fixed host, or a callable receiving the bound arguments; by default the
            host of an argument named ``url``, else an argument named ``host``.

    Raises:
        ValueError: ``verb`` or ``redact_mode`` is unknown.
        TypeError: The decorated object is not a function, or an option has the wrong type.
    """
    decorator = _decorator(verb, name, redact, redact_mode, target_host)
    return decorator if func is None else decorator(_function(func, "tool"))


@overload
def destructive(func: F, /) -> F: ...
@overload
def destructive(
    *,
    name: str | None = ...,
    redact: Sequence[str] | None = ...,
    redact_mode: RedactMode | str = ...,
    target_host: TargetHost = ...,
) -> Callable[[F], F]: ...
def destructive(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    redact: Sequence[str] | None = None,
    redact_mode: RedactMode | str = RedactMode.COMMIT_AND_REVEAL,
    target_host: TargetHost = None,
) -> F | Callable[[F], F]:
    """Gate every call of a function as a ``delete`` action; options as :func:`tool`."""
    decorator = _decorator(Verb.DELETE, name, redact, redact_mode, target_host)
    return decorator if func is None else decorator(_function(func, "destructive"))


@overload
def payment(func: F, /) -> F: ...
@overload
def payment(
    *,
    name: str | None = ...,
    redact: Sequence[str] | None = ...,
    redact_mode: RedactMode | str = ...,
    target_host: TargetHost = ...,
) -> Callable[[F], F]: ...
def payment(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    redact: Sequence[str] | None = None,
    redact_mode: RedactMode | str = RedactMode.COMMIT_AND_REVEAL,
    target_host: TargetHost = None,
) -> F | Callable[[F], F]:
    """Gate every call of a function as a ``payment`` action; options as :func:`tool`."""
    decorator = _decorator(Verb.PAYMENT, name, redact, redact_mode, target_host)
    return decorator if func is None else decorator(_function(func, "payment"))


def action(
    verb: Verb | str,
    *,
    name: str | None = None,
    redact: Sequence[str] | None = None,
    redact_mode: RedactMode | str = RedactMode.COMMIT_AND_REVEAL,
    target_host: TargetHost = None,
) -> Callable[[F], F]:
    """Gate every call of a function as an action of ``verb``; options as :func:`tool`.

    Raises:
        ValueError: ``verb`` or ``redact_mode`` is unknown.
    """
    return _decorator(verb, name, redact, redact_mode, target_host)


def _function(func: object, decorator: str) -> Any:
    """Catch ``@heso.tool("payment")``: a positional argument must be the function."""
    if not callable(func) and not isinstance(func, classmethod):
        raise TypeError(
            f"heso.{decorator} takes its options as keywords: "
            f"use @heso.{decorator}(verb=...) or @heso.action(...)"
        )
    return func


def _decorator(
    verb: Verb | str,
    name: str | None,
    redact: Sequence[str] | None,
    redact_mode: RedactMode | str,
    target_host: TargetHost,
) -> Callable[[F], F]:
    # Every option is checked here, when the decorator line runs, not at the first call.
    verb_string = verb_value(verb)
    mode = redact_mode_value(redact_mode)
    paths = redact_paths(redact)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string, not `{type(name).__name__}`")
    if target_host is not None and not isinstance(target_host, str) and not callable(target_host):
        raise TypeError(
            f"target_host must be a host string or a callable, not `{type(target_host).__name__}`"
        )

    def decorate(func: F) -> F:
        if isinstance(func, (classmethod, staticmethod)):
            raise TypeError(
                "put @classmethod and @staticmethod above the heso decorator, outermost"
            )
        if inspect.isclass(func) or not callable(func):
            raise TypeError(f"heso decorators gate functions, not `{type(func).__name__}`")
        tool_name = name or getattr(func, "__name__", None)
        if not tool_name:
            raise TypeError(f"`{type(func).__name__}` has no __name__; pass name=")
        gate = _Gate(
            func,
            verb=verb_string,
            tool_name=tool_name,
            redact=paths,
            redact_mode=mode,
            target_host=target_host,
        )
        return cast("F", _wrap(func, gate))

    return decorate


class _Gate:
    """What one decorated function records, computed once at decoration time."""

    __slots__ = ("binder", "redact", "redact_mode", "signature", "target_host", "tool_name", "verb")

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        verb: str,
        tool_name: str,
        redact: tuple[str, ...],
        redact_mode: str,
        target_host: TargetHost,
    ) -> None:
        self.signature = inspect.signature(func)
        self.binder = Binder(self.signature)
        self.verb = verb
        self.tool_name = tool_name
        self.redact = redact
        self.redact_mode = redact_mode
        self.target_host = target_host

    def begin(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _gating.Ticket:
        """Capture the call and pass the gate; raises when the body must not run."""
        # A binding TypeError propagates unchanged, before anything is recorded.
        arguments = self.binder.arguments(args, kwargs)
        capture = _gating.Capture(
            verb=self.verb,
            tool_name=self.tool_name,
            fields=encode(arguments),
            target_host=target_host_of(arguments, self.target_host),
            redact=self.redact,
            redact_mode=self.redact_mode,
        )
        return _gating.begin(capture)


def _wrap(func: Callable[..., Any], gate: _Gate) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(func):
        wrapper = _async_generator_wrapper(func, gate)
    elif inspect.iscoroutinefunction(func):
        wrapper = _coroutine_wrapper(func, gate)
    elif inspect.isgeneratorfunction(func):
        wrapper = _generator_wrapper(func, gate)
    else:
        wrapper = _sync_wrapper(func, gate)
    functools.update_wrapper(wrapper, func)
    # INVARIANT: the Signature was computed once, by _Gate; tools that inspect the wrapper get
    # that same object without unwrapping.
    wrapper.__signature__ = gate.signature  # type: ignore[attr-defined]
    return wrapper


def _sync_wrapper(func: Callable[..., Any], gate: _Gate) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ticket = gate.begin(args, kwargs)
        try:
            result = func(*args, **kwargs)
        except BaseException as error:
            _record_failure(ticket.fail, error)
            raise
        # A result that cannot be recorded is an error of the call (EngineError propagates).
        ticket.succeed(result)
        return result

    return wrapper


def _coroutine_wrapper(func: Callable[..., Any], gate: _Gate) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        # The gate is synchronous and runs before the body's first await.
        ticket = gate.begin(args, kwargs)
        try:
            result = await func(*args, **kwargs)
        except BaseException as error:  # cancellation too: the body started and did not finish
            _record_failure(ticket.fail, error)
            raise
        ticket.succeed(result)
        return result

    return wrapper


def _generator_wrapper(func: Callable[..., Any], gate: _Gate) -> Callable[..., Any]:
    # Delegation is written out rather than `yield from`, which would hide each item and the
    # moment the consumer closes the generator. It forwards send(), throw() and close() as
    # PEP 380 specifies.
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        ticket = gate.begin(args, kwargs)  # at the first next(): the body starts there
        stream = ticket.stream()
        try:
            inner: Generator[Any, Any, Any] = func(*args, **kwargs)
            item = next(inner)
        except StopIteration as stop:
            stream.finish()
            return stop.value
        except BaseException as error:
            _record_failure(stream.fail, error)
            raise
        while True:
            try:
                stream.add(item)
            except BaseException as error:
                _record_failure(stream.fail, error)
                inner.close()
                raise
            try:
                sent = yield item
            except GeneratorExit:
                try:
                    inner.close()
                except BaseException as error:
                    _record_failure(stream.fail, error)
                    raise
                stream.close_early()
                raise
            except BaseException as thrown:
                try:
                    item = inner.throw(thrown)
                except StopIteration as stop:
                    stream.finish()
                    return stop.value
                except BaseException as error:
                    _record_failure(stream.fail, error)
                    raise
            else:
                try:
                    item = inner.send(sent)
                except StopIteration as stop:
                    stream.finish()
                    return stop.value
                except BaseException as error:
                    _record_failure(stream.fail, error)
                    raise

    return wrapper


def _async_generator_wrapper(func: Callable[..., Any], gate: _Gate) -> Callable[..., Any]:
    # As _generator_wrapper, with asend(), athrow() and aclose().
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        ticket = gate.begin(args, kwargs)  # at the first __anext__()
        stream = ticket.stream()
        try:
            inner: AsyncGenerator[Any, Any] = func(*args, **kwargs)
            item = await inner.__anext__()
        except StopAsyncIteration:
            stream.finish()
            return
        except BaseException as error:
            _record_failure(stream.fail, error)
            raise
        while True:
            try:
                stream.add(item)
            except BaseException as error:
                _record_failure(stream.fail, error)
                await inner.aclose()
                raise
            try:
                sent = yield item
            except GeneratorExit:
                try:
                    await inner.aclose()
                except BaseException as error:
                    _record_failure(stream.fail, error)
                    raise
                stream.close_early()
                raise
            except BaseException as thrown:
                try:
                    item = await inner.athrow(thrown)
                except StopAsyncIteration:
                    stream.finish()
                    return
                except BaseException as error:
                    _record_failure(stream.fail, error)
                    raise
            else:
                try:
                    item = await inner.asend(sent)
                except StopAsyncIteration:
                    stream.finish()
                    return
                except BaseException as error:
                    _record_failure(stream.fail, error)
                    raise

    return wrapper


def _record_failure(record: Callable[[BaseException], str], error: BaseException) -> None:
    """Record that the body raised ``error``, which the caller then re-raises.

    If the receipt cannot be recorded, the body's exception still wins: it is what the caller
    must handle, and replacing it with an EngineError would hide what the action did. The
    recording failure is logged to the ``heso`` logger and, on Python 3.11+, added to the body's
    exception as a note; its cause and context stay untouched.
    """
    try:
        record(error)
    except Exception as failure:
        import logging  # noqa: PLC0415 (only on this rare path; `import heso` stays lean)

        message = f"heso could not record the result receipt of this call: {failure}"
        logging.getLogger("heso").error(message, exc_info=failure)
        if sys.version_info >= (3, 11):
            error.add_note(message)
