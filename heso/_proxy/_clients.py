"""The client families ``heso.wrap`` knows, and what it captures from their calls (sdk.md §6).

Families are recognised by the top-level module of a class in the client's MRO, so heso never
imports ``openai``, ``anthropic``, ``httpx`` or ``requests`` itself. Everything here is computed
per call from the call's own arguments; caches are keyed by type.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from heso import _core
from heso._encode import encode

__all__ = [
    "HTTP_VERB",
    "LLM_VERB",
    "NOT_CAPTURED",
    "Binder",
    "Family",
    "client_family",
    "http_fields",
    "http_result",
    "is_coroutine_method",
    "llm_fields",
    "namespace_kind",
    "url_host",
]

LLM_VERB = "llm_call"
HTTP_VERB = "http_request"
NOT_CAPTURED = "[not captured]"

# Capture-time scrubbing (sdk.md §6.3): these values never reach the engine, so not even a
# commitment of them is recorded. Names compare case-insensitively.
SCRUBBED_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-goog-api-key"}
)
SCRUBBED_QUERY = frozenset(
    {"key", "api_key", "apikey", "access_token", "token", "sig", "signature", "password", "secret"}
)


@dataclass(frozen=True, slots=True)
class Family:
    """One client package: which classes are its clients and which method names are gated."""

    package: str
    verb: str
    clients: frozenset[str]
    gated: frozenset[str]

    @property
    def is_http(self) -> bool:
        """Whether calls are plain HTTP requests (fields of sdk.md §6.3, second item)."""
        return self.verb == HTTP_VERB


_HTTP_METHODS = ("request", "get", "post", "put", "patch", "delete", "head", "options")

OPENAI = Family(
    "openai",
    LLM_VERB,
    frozenset({"OpenAI", "AsyncOpenAI", "AzureOpenAI", "AsyncAzureOpenAI"}),
    frozenset({"create", "parse", "stream"}),
)
ANTHROPIC = Family(
    "anthropic",
    LLM_VERB,
    frozenset(
        {
            "Anthropic",
            "AsyncAnthropic",
            "AnthropicBedrock",
            "AsyncAnthropicBedrock",
            "AnthropicBedrockMantle",
            "AsyncAnthropicBedrockMantle",
            "AnthropicVertex",
            "AsyncAnthropicVertex",
        }
    ),
    # `parse` is gated as well: it sends the same request as `create`, and leaving it open would
    # let a call bypass a policy written for `anthropic.messages.create`.
    frozenset({"create", "stream", "count_tokens", "parse"}),
)
HTTPX = Family(
    "httpx",
    HTTP_VERB,
    frozenset({"Client", "AsyncClient"}),
    frozenset({*_HTTP_METHODS, "stream", "send"}),
)
REQUESTS = Family("requests", HTTP_VERB, frozenset({"Session"}), frozenset(_HTTP_METHODS))

_FAMILIES = {family.package: family for family in (OPENAI, ANTHROPIC, HTTPX, REQUESTS)}

_client_families: dict[type, Family | None] = {}
# Per type: None (not a namespace), "resource" or "streaming" (a with_streaming_response namespace,
# whose methods return context managers instead of sending the request).
_namespace_kinds: dict[tuple[type, str], str | None] = {}


def client_family(obj: object) -> Family | None:
    """The family of a supported client, or None.

    The ``requests`` module itself is a client: ``requests.get`` is as much a request as
    ``Session.get``.
    """
    if isinstance(obj, ModuleType):
        return REQUESTS if obj.__name__ == "requests" else None
    cls = type(obj)
    try:
        return _client_families[cls]
    except KeyError:
        pass
    found = None
    for klass in cls.__mro__:
        family = _FAMILIES.get(klass.__module__.partition(".")[0])
        if family is not None and klass.__name__ in family.clients:
            found = family
            break
    _client_families[cls] = found
    return found


def namespace_kind(obj: object, family: Family) -> str | None:
    """Whether ``obj`` is a resource namespace of ``family``'s package (``client.chat``, ...).

    Both LLM SDKs build every namespace on ``SyncAPIResource``/``AsyncAPIResource``, and the raw
    and streaming views as ``…WithRawResponse``/``…WithStreamingResponse`` classes.
    """
    cls = type(obj)
    key = (cls, family.package)
    try:
        return _namespace_kinds[key]
    except KeyError:
        pass
    kind = None
    if not family.is_http and cls.__module__.partition(".")[0] == family.package:
        name = cls.__name__
        if name.endswith(("WithStreamingResponse", "WithStreamedResponse")):
            kind = "streaming"
        elif name.endswith("WithRawResponse") or any(
            klass.__name__ in ("SyncAPIResource", "AsyncAPIResource") for klass in cls.__mro__
        ):
            kind = "resource"
    _namespace_kinds[key] = kind
    return kind


def is_coroutine_method(method: Callable[..., Any]) -> bool:
    """Whether calling ``method`` returns an awaitable that sends the request.

    The SDKs decorate async methods with plain ``def`` wrappers (``functools.wraps``), so the
    innermost function decides.
    """
    return inspect.iscoroutinefunction(inspect.unwrap(method))


class Binder:
    """Turns a call's positional and keyword arguments into one mapping by parameter name.

    Unlike the decorators' binding, defaults are not applied: a wrapped call records what the
    caller passed, not the dozens of ``NOT_GIVEN`` defaults of an SDK method. The signature is
    computed on the first call that needs it. Binding raises the same ``TypeError`` the real
    call would, before anything is recorded or sent.
    """

    __slots__ = ("_method", "_signature")

    def __init__(self, method: Callable[..., Any]) -> None:
        """Bind calls of ``method``."""
        self._method = method
        self._signature: inspect.Signature | None = None

    def __call__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Return the arguments by name; ``**kwargs`` merged at top level (sdk.md §4.3)."""
        signature = self._signature
        if signature is None:
            try:
                signature = inspect.signature(self._method)
            except (TypeError, ValueError):
                # No signature to bind against: keep the positional values under `args`.
                return {"args": list(args), **kwargs} if args else kwargs
            self._signature = signature
        bound = signature.bind(*args, **kwargs)
        merged: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                merged.update(value)
            elif signature.parameters[name].kind is inspect.Parameter.VAR_POSITIONAL:
                merged[name] = list(value)
            else:
                merged[name] = value
        return merged


# --- LLM clients -------------------------------------------------------------------------------


def llm_fields(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Every argument encoded (sdk.md §4.3), with credentials scrubbed from the extras."""
    fields = {name: encode(value) for name, value in arguments.items()}
    headers = fields.get("extra_headers")
    if isinstance(headers, dict):
        fields["extra_headers"] = _scrub(headers, SCRUBBED_HEADERS)
    query = fields.get("extra_query")
    if isinstance(query, dict):
        # Not required by sdk.md §6.3, but the same query names are scrubbed from HTTP URLs, and
        # an API key passed as an extra query parameter is no less a secret.
        fields["extra_query"] = _scrub(query, SCRUBBED_QUERY)
    return fields


def url_host(url: object) -> str | None:
    """The host of a client's ``base_url`` (an ``httpx.URL`` or a string), or None."""
    host = getattr(url, "host", None)
    if host is None:
        from urllib.parse import urlsplit  # noqa: PLC0415 - `import heso` must not load urllib

        host = urlsplit(str(url)).hostname
    return host or None


# --- HTTP clients ------------------------------------------------------------------------------


def http_fields(
    family: Family, method_name: str, arguments: Mapping[str, Any], client: object
) -> tuple[dict[str, Any], str | None]:
    """The fields of sdk.md §6.3 for one HTTP request, and the request's host."""
    from urllib.parse import parse_qsl, urlsplit  # noqa: PLC0415 - as above

    body: dict[str, Any] = {}
    if method_name == "send":
        request = arguments["request"]
        method: object = request.method
        url: object = request.url
        params: object = None
        headers: object = request.headers
        try:
            content = request.content
        except Exception:  # an unread streaming body: reading it here would consume it
            body["content"] = request.stream
        else:
            if content:
                body["content"] = content
    else:
        method = arguments.get("method") if method_name in ("request", "stream") else method_name
        url = arguments.get("url")
        params = arguments.get("params")
        headers = arguments.get("headers")
        for name in ("data", "content", "files"):
            if arguments.get(name) is not None:
                body[name] = arguments[name]

    if isinstance(method, bytes):
        method = method.decode("ascii", "replace")
    url = _absolute_url(url, client) if family is HTTPX else url
    if isinstance(url, bytes):
        url = url.decode("utf-8", "replace")
    parts = urlsplit(str(url))
    # Scheme, host, port and path only: user info, query and fragment are dropped.
    netloc = parts.netloc.rpartition("@")[2]
    path = parts.path or ("/" if netloc else "")
    query = _merge_query(parse_qsl(parts.query, keep_blank_values=True), params, family)
    fields: dict[str, Any] = {
        "method": str(method).upper(),
        "url": f"{parts.scheme}://{netloc}{path}" if netloc else path,
        "query": _scrub(query, SCRUBBED_QUERY),
        "headers": _scrub(_header_object(headers), SCRUBBED_HEADERS),
    }
    json_body = arguments.get("json")
    if json_body is not None:
        fields["json"] = encode(json_body)
    if len(body) == 1:
        fields["body"] = encode(next(iter(body.values())))
    elif body:
        # Several body arguments at once (a multipart form with `data` and `files`).
        fields["body"] = encode(body)
    return fields, parts.hostname or None


def http_result(response: Any, *, streamed: bool) -> dict[str, Any]:
    """The result value of an HTTP response (sdk.md §6.4); a streamed body is not read."""
    digest = None if streamed else _core.blake3_hex(bytes(response.content))
    return {"status": int(response.status_code), "body_blake3": digest}


def _absolute_url(url: object, client: object) -> object:
    """Resolve a relative URL against ``client.base_url`` the way httpx does (a path prefix)."""
    base = getattr(client, "base_url", None)
    if base is None:
        return url
    url_type = type(base)
    parsed = url if isinstance(url, url_type) else url_type(url)
    if not parsed.is_relative_url:
        return parsed
    raw_path = base.raw_path + parsed.raw_path.lstrip(b"/")
    return base.copy_with(raw_path=raw_path)


def _merge_query(pairs: list[tuple[str, str]], params: object, family: Family) -> dict[str, Any]:
    """The URL's query pairs then ``params=``, repeated names as arrays."""
    from urllib.parse import parse_qsl  # noqa: PLC0415 - as above

    items: list[tuple[str, object]] = list(pairs)
    if params is not None:
        if isinstance(params, bytes):
            params = params.decode("utf-8", "replace")
        if isinstance(params, str):
            items.extend(parse_qsl(params, keep_blank_values=True))
        else:
            source = _pairs(params)
            for key, value in source:
                values = value if isinstance(value, (list, tuple)) else (value,)
                items.extend((str(key), item) for item in values)
    query: dict[str, Any] = {}
    for key, value in items:
        text = _query_text(value, family)
        if text is None:
            continue
        if key not in query:
            query[key] = text
        elif isinstance(query[key], list):
            query[key].append(text)
        else:
            query[key] = [query[key], text]
    return query


def _query_text(value: object, family: Family) -> str | None:
    """A query value as the client puts it on the wire; None when the client leaves it out."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if family is HTTPX:
        # httpx's own spelling: true/false, and an empty value for None.
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
    elif value is None:
        return None  # requests drops parameters whose value is None
    return str(value)


def _header_object(headers: object) -> dict[str, Any]:
    """Headers as an object; a name given more than once becomes an array."""
    if headers is None:
        return {}
    result: dict[str, Any] = {}
    for raw_name, raw_value in _pairs(headers):
        name = raw_name.decode("latin-1") if isinstance(raw_name, bytes) else str(raw_name)
        value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else encode(raw_value)
        if name not in result:
            result[name] = value
        elif isinstance(result[name], list):
            result[name].append(value)
        else:
            result[name] = [result[name], value]
    return result


def _pairs(values: Any) -> Any:
    """Name-value pairs of a mapping, a list of pairs, or httpx's multi-valued types."""
    multi_items = getattr(values, "multi_items", None)
    if callable(multi_items):
        return multi_items()
    if isinstance(values, Mapping):
        return values.items()
    return values


def _scrub(values: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    return {
        name: NOT_CAPTURED if name.lower() in names else value for name, value in values.items()
    }
