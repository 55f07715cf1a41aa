"""``heso.wrap`` and ``heso.unwrap``: gate an LLM or HTTP client without changing its code.

See sdk.md §6. The proxy lives in ``_proxy``, the client families and what is captured from
them in ``_clients``, and the recording of responses and streams in ``_streams``.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import TypeVar, cast

from heso._proxy._clients import client_family
from heso._proxy._proxy import Options, Wrapped, wrap_client
from heso._types import RedactMode, redact_mode_value

__all__ = ["unwrap", "wrap"]

T = TypeVar("T")


def wrap(
    client: T,
    *,
    name: str | None = None,
    redact: Sequence[str] | None = None,
    redact_mode: RedactMode | str = RedactMode.COMMIT_AND_REVEAL,
) -> T:
    """Return ``client`` with every request gated by the project's policy.

    Supported: ``openai`` and ``anthropic`` clients (sync and async, with their Azure, Bedrock
    and Vertex variants), ``httpx.Client``/``httpx.AsyncClient``, ``requests.Session`` and the
    ``requests`` module. Each gated call records a receipt before the request is sent and a result
    receipt after it; a refused call raises (enforce mode) and is never sent.

    Args:
        client: The client to wrap. An object that is already wrapped is returned unchanged.
        name: Replaces the first segment of the tool name (``openai.chat.completions.create``).
        redact: Field paths to redact in every receipt of this client (receipts.md §8.1).
        redact_mode: ``commit_and_reveal`` (default) or ``destructive``.

    Raises:
        TypeError: ``client`` is not a supported client.
        ValueError: an option is invalid, or ``client`` is already wrapped with other options.
    """
    options = _options(name, redact, redact_mode)
    if type(client) is Wrapped:
        current = cast("Wrapped", client)._heso_node.root.options
        if options != current and options != Options(None, (), RedactMode.COMMIT_AND_REVEAL.value):
            raise ValueError(
                "this client is already wrapped with other options; "
                "call heso.wrap(heso.unwrap(client), ...) to change them"
            )
        return client
    family = client_family(client)
    if family is None:
        if isinstance(client, ModuleType):
            what = client.__name__
        else:
            what = f"{type(client).__module__}.{type(client).__qualname__}"
        raise TypeError(f"heso.wrap cannot gate `{what}`; use @heso.tool or heso.process")
    return cast("T", wrap_client(client, family, options))


def unwrap(obj: T) -> T:
    """Return the original object behind a ``heso.wrap`` proxy; any other object as it is."""
    if type(obj) is Wrapped:
        return cast("T", cast("Wrapped", obj)._heso_target)
    return obj


def _options(
    name: str | None, redact: Sequence[str] | None, redact_mode: RedactMode | str
) -> Options:
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ValueError(f"invalid name `{name}`; give a non-empty tool name prefix")
    if isinstance(redact, (str, bytes)):
        raise TypeError("redact must be a list of field paths, not a single string")
    paths = tuple(redact or ())
    for path in paths:
        if not isinstance(path, str):
            raise TypeError(f"redact paths must be strings, not `{type(path).__name__}`")
    return Options(name, paths, redact_mode_value(redact_mode))
