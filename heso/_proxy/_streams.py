"""Result receipts for what a wrapped call returns: values, raw responses and streams (sdk.md §6.4).

A stream's result value is the array of its chunks, added to the engine's incremental hash one at
a time; the result receipt is recorded once, when the stream is exhausted, closed or fails.

The SDKs' streams all pull from one iterator in ``_iterator`` (the helper streams of ``.stream()``
read a raw stream in ``_raw_stream``). Recording at that iterator sees every chunk, however the
caller consumes the stream (``for``, ``text_stream``, ``until_done()``, ``get_final_message()``).
A stream without one is recorded where the wrapper is iterated instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from heso import _core

if TYPE_CHECKING:
    from heso._gating import ResultStream, Ticket

__all__ = ["llm_result", "response_manager"]

_STREAM_PACKAGES = ("openai", "anthropic")


class _Recorder:
    """Records one stream's result receipt exactly once."""

    __slots__ = ("_done", "_stream")

    def __init__(self, stream: ResultStream) -> None:
        self._stream = stream
        self._done = False

    def add(self, item: object) -> None:
        if not self._done:
            self._stream.add(item)

    def exhausted(self) -> None:
        if not self._done:
            self._done = True
            self._stream.finish()

    def failed(self, error: BaseException) -> None:
        if not self._done:
            self._done = True
            self._stream.fail(error)

    def closed(self, error: BaseException | None = None) -> None:
        """The caller closed the stream, normally (``error`` None) or leaving on an exception."""
        if error is not None:
            self.failed(error)
        elif not self._done:
            self._done = True
            self._stream.close_early()


class _RecordingIterator:
    __slots__ = ("_inner", "_recorder")

    def __init__(self, inner: Iterator[Any], recorder: _Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    def __iter__(self) -> _RecordingIterator:
        return self

    def __next__(self) -> Any:
        try:
            item = next(self._inner)
        except StopIteration:
            self._recorder.exhausted()
            raise
        except BaseException as error:
            self._recorder.failed(error)
            raise
        self._recorder.add(item)
        return item


class _RecordingAsyncIterator:
    __slots__ = ("_inner", "_recorder")

    def __init__(self, inner: AsyncIterator[Any], recorder: _Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    def __aiter__(self) -> _RecordingAsyncIterator:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self._inner.__anext__()
        except StopAsyncIteration:
            self._recorder.exhausted()
            raise
        except BaseException as error:
            self._recorder.failed(error)
            raise
        self._recorder.add(item)
        return item


def _hook(stream: object, recorder: _Recorder, *, is_async: bool) -> bool:
    """Record at the stream's own iterator; False when it has none that can be replaced."""
    source = getattr(stream, "_raw_stream", stream)
    try:
        inner = source._iterator  # type: ignore[attr-defined]
        source._iterator = (  # type: ignore[attr-defined]
            _RecordingAsyncIterator(inner, recorder)
            if is_async
            else _RecordingIterator(inner, recorder)
        )
    except AttributeError:
        return False
    return True


class _Delegate:
    """Forwards attribute access to the wrapped object, which it reports as its class."""

    __slots__ = ("_heso_target",)

    _heso_target: Any

    def __init__(self, target: object) -> None:
        object.__setattr__(self, "_heso_target", target)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._heso_target, name)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return type(self._heso_target)

    def __repr__(self) -> str:
        return f"<heso.wrap of {self._heso_target!r}>"

    def __reduce_ex__(self, protocol: object) -> Any:
        raise TypeError("a stream returned by a heso.wrap client cannot be pickled")


class _Stream(_Delegate):
    """A synchronous stream: iteration, ``with`` and ``close()`` as the original."""

    __slots__ = ("_heso_iterator", "_heso_recorder")

    def __init__(self, target: Any, recorder: _Recorder) -> None:
        super().__init__(target)
        self._heso_recorder = recorder
        hooked = _hook(target, recorder, is_async=False)
        self._heso_iterator = None if hooked else _RecordingIterator(iter(target), recorder)

    def __iter__(self) -> Iterator[Any]:
        if self._heso_iterator is not None:
            return self._heso_iterator
        return iter(self._heso_target)

    def __next__(self) -> Any:
        if self._heso_iterator is not None:
            return next(self._heso_iterator)
        return next(self._heso_target)

    def __enter__(self) -> _Stream:
        self._heso_target.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Any:
        try:
            return self._heso_target.__exit__(exc_type, exc, traceback)
        finally:
            self._heso_recorder.closed(exc)

    def close(self) -> None:
        """Close the stream; one not read to its end records an early close."""
        try:
            self._heso_target.close()
        finally:
            self._heso_recorder.closed()


class _AsyncStream(_Delegate):
    """An asynchronous stream: ``async for``, ``async with`` and ``await close()``."""

    __slots__ = ("_heso_iterator", "_heso_recorder")

    def __init__(self, target: Any, recorder: _Recorder) -> None:
        super().__init__(target)
        self._heso_recorder = recorder
        hooked = _hook(target, recorder, is_async=True)
        self._heso_iterator = (
            None if hooked else _RecordingAsyncIterator(target.__aiter__(), recorder)
        )

    def __aiter__(self) -> AsyncIterator[Any]:
        if self._heso_iterator is not None:
            return self._heso_iterator
        return self._heso_target.__aiter__()  # type: ignore[no-any-return]

    async def __anext__(self) -> Any:
        if self._heso_iterator is not None:
            return await self._heso_iterator.__anext__()
        return await self._heso_target.__anext__()

    async def __aenter__(self) -> _AsyncStream:
        await self._heso_target.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Any:
        try:
            return await self._heso_target.__aexit__(exc_type, exc, traceback)
        finally:
            self._heso_recorder.closed(exc)

    async def close(self) -> None:
        """Close the stream; one not read to its end records an early close."""
        try:
            await self._heso_target.close()
        finally:
            self._heso_recorder.closed()


class _StreamManager(_Delegate):
    """``with client.messages.stream(...) as stream``: the request is sent on entry."""

    __slots__ = ("_heso_recorder", "_heso_ticket")

    def __init__(self, target: object, ticket: Ticket) -> None:
        super().__init__(target)
        self._heso_ticket = ticket
        self._heso_recorder: _Recorder | None = None

    def __enter__(self) -> _Stream:
        try:
            stream = self._heso_target.__enter__()
        except BaseException as error:
            self._heso_ticket.fail(error)
            raise
        self._heso_recorder = _Recorder(self._heso_ticket.stream())
        return _Stream(stream, self._heso_recorder)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Any:
        try:
            return self._heso_target.__exit__(exc_type, exc, traceback)
        finally:
            if self._heso_recorder is not None:
                self._heso_recorder.closed(exc)


class _AsyncStreamManager(_Delegate):
    """``async with client.messages.stream(...) as stream``."""

    __slots__ = ("_heso_recorder", "_heso_ticket")

    def __init__(self, target: object, ticket: Ticket) -> None:
        super().__init__(target)
        self._heso_ticket = ticket
        self._heso_recorder: _Recorder | None = None

    async def __aenter__(self) -> _AsyncStream:
        try:
            stream = await self._heso_target.__aenter__()
        except BaseException as error:
            self._heso_ticket.fail(error)
            raise
        self._heso_recorder = _Recorder(self._heso_ticket.stream())
        return _AsyncStream(stream, self._heso_recorder)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Any:
        try:
            return await self._heso_target.__aexit__(exc_type, exc, traceback)
        finally:
            if self._heso_recorder is not None:
                self._heso_recorder.closed(exc)


class _ResponseManager(_Delegate):
    """A context manager yielding an HTTP response whose body the caller streams.

    ``httpx`` ``stream()`` and the SDKs' ``with_streaming_response``: the result is the status,
    recorded on exit, with ``body_blake3`` null because heso never reads the body.
    """

    __slots__ = ("_heso_response", "_heso_ticket")

    def __init__(self, target: object, ticket: Ticket) -> None:
        super().__init__(target)
        self._heso_ticket = ticket
        self._heso_response: Any = None

    def __enter__(self) -> Any:
        try:
            self._heso_response = self._heso_target.__enter__()
        except BaseException as error:
            self._heso_ticket.fail(error)
            raise
        return self._heso_response

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Any:
        try:
            return self._heso_target.__exit__(exc_type, exc, traceback)
        finally:
            _record_streamed(self._heso_ticket, self._heso_response, exc)

    async def __aenter__(self) -> Any:
        try:
            self._heso_response = await self._heso_target.__aenter__()
        except BaseException as error:
            self._heso_ticket.fail(error)
            raise
        return self._heso_response

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Any:
        try:
            return await self._heso_target.__aexit__(exc_type, exc, traceback)
        finally:
            _record_streamed(self._heso_ticket, self._heso_response, exc)


def _record_streamed(ticket: Ticket, response: Any, error: BaseException | None) -> None:
    if response is None:
        return  # never entered, or entering failed (already recorded)
    if error is not None:
        ticket.fail(error)
    else:
        ticket.succeed({"status": int(response.status_code), "body_blake3": None})


def response_manager(ticket: Ticket, manager: object) -> object:
    """Wrap a context manager that yields a streamed HTTP response."""
    return _ResponseManager(manager, ticket)


# What an LLM call returned, by type: "value", "raw", "stream", "async_stream", "manager",
# "async_manager" or "response_manager".
_result_kinds: dict[type, str] = {}


def _result_kind(cls: type) -> str:
    try:
        return _result_kinds[cls]
    except KeyError:
        pass
    names = {
        klass.__name__
        for klass in cls.__mro__
        if klass.__module__.partition(".")[0] in _STREAM_PACKAGES
    }
    if "AsyncStream" in names:
        kind = "async_stream"
    elif "Stream" in names:
        kind = "stream"
    elif cls.__name__.endswith("StreamManager"):
        kind = "async_manager" if hasattr(cls, "__aenter__") else "manager"
    elif names & {"ResponseContextManager", "AsyncResponseContextManager"}:
        kind = "response_manager"
    elif names & {"LegacyAPIResponse", "BaseAPIResponse"}:
        kind = "raw"
    else:
        kind = "value"
    _result_kinds[cls] = kind
    return kind


def llm_result(ticket: Ticket, result: Any) -> Any:
    """Record (or arrange to record) the result of an LLM call; return what the caller gets."""
    kind = _result_kind(type(result))
    if kind == "value":
        ticket.succeed(result)
        return result
    if kind == "raw":
        ticket.succeed(_raw_result(result))
        return result
    if kind in ("stream", "async_stream"):
        wrapper = _Stream if kind == "stream" else _AsyncStream
        return wrapper(result, _Recorder(ticket.stream()))
    manager = {"manager": _StreamManager, "async_manager": _AsyncStreamManager}
    return manager.get(kind, _ResponseManager)(result, ticket)


def _raw_result(response: Any) -> dict[str, Any]:
    """``with_raw_response``: the HTTP response; its body was read unless the call streamed."""
    try:
        body = response.http_response.content
    except Exception:  # httpx raises ResponseNotRead for a streamed body, left for the caller
        body = None
    digest = None if body is None else _core.blake3_hex(bytes(body))
    return {"status": int(response.status_code), "body_blake3": digest}
