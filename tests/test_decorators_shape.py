"""What decorating does to a function's shape (sdk.md §4.1, §4.5), without calling the engine.

The behaviour of decorated calls (gate before the body, result receipts) is in
test_decorators.py, which needs an initialised project.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

import heso


async def fetch(url: str, *, timeout: float = 5.0) -> bytes:
    """Fetch a page."""
    return b""


def delete_user(user_id: int, /, reason: str = "request") -> None:
    """Delete a user."""


def export_rows(table: str, *columns: str, **filters: Any) -> Iterator[dict[str, Any]]:
    """Yield the rows of a table."""
    yield {}


async def stream_tokens(prompt: str) -> AsyncIterator[str]:
    """Yield tokens."""
    yield prompt


FUNCTIONS = [fetch, delete_user, export_rows, stream_tokens]

DECORATORS: list[tuple[str, Callable[[Callable[..., Any]], Callable[..., Any]]]] = [
    ("tool", heso.tool),
    ("tool()", heso.tool()),
    ("tool(verb)", heso.tool(verb=heso.Verb.DATA_EXPORT, name="rows", redact=["customer.email"])),
    ("destructive", heso.destructive),
    ("destructive()", heso.destructive(target_host="db.internal")),
    ("payment", heso.payment),
    ("payment()", heso.payment(redact_mode="destructive")),
    ("action", heso.action("account_change")),
    ("action(Verb)", heso.action(heso.Verb.LLM_CALL, target_host=lambda _: None)),
]

KINDS: list[Callable[[Any], bool]] = [
    inspect.iscoroutinefunction,
    inspect.isgeneratorfunction,
    inspect.isasyncgenfunction,
    inspect.isfunction,
    callable,
]


@pytest.mark.parametrize("func", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("label", "decorator"), DECORATORS, ids=[d[0] for d in DECORATORS])
def test_metadata_is_preserved(
    func: Callable[..., Any],
    label: str,
    decorator: Callable[[Callable[..., Any]], Callable[..., Any]],
) -> None:
    wrapped = decorator(func)
    assert wrapped is not func
    assert wrapped.__wrapped__ is func  # type: ignore[attr-defined]
    for attribute in ("__name__", "__qualname__", "__doc__", "__module__", "__annotations__"):
        assert getattr(wrapped, attribute) == getattr(func, attribute), attribute
    assert wrapped.__signature__ == inspect.signature(func)  # type: ignore[attr-defined]
    assert inspect.signature(wrapped) == inspect.signature(func)


@pytest.mark.parametrize("func", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("label", "decorator"), DECORATORS, ids=[d[0] for d in DECORATORS])
def test_kind_is_preserved(
    func: Callable[..., Any],
    label: str,
    decorator: Callable[[Callable[..., Any]], Callable[..., Any]],
) -> None:
    wrapped = decorator(func)
    for kind in KINDS:
        assert kind(wrapped) == kind(func), kind.__name__


def test_function_attributes_are_copied() -> None:
    def tagged() -> None:
        pass

    tagged.owner = "payments-team"  # type: ignore[attr-defined]
    assert heso.tool(tagged).owner == "payments-team"  # type: ignore[attr-defined]


def test_signature_is_the_one_computed_at_decoration() -> None:
    def func(a: int) -> int:
        return a

    wrapped = heso.tool(func)
    assert inspect.signature(wrapped) is wrapped.__signature__  # type: ignore[attr-defined]
    assert inspect.signature(wrapped) is inspect.signature(wrapped)


def test_functools_partial_is_accepted_with_a_name() -> None:
    def charge(amount: int, currency: str) -> None:
        pass

    wrapped = heso.payment(name="charge_eur")(functools.partial(charge, currency="EUR"))
    assert inspect.signature(wrapped) == inspect.signature(
        functools.partial(charge, currency="EUR")
    )
    assert callable(wrapped)


def test_a_partial_without_a_name_is_refused() -> None:
    def charge(amount: int) -> None:
        pass

    with pytest.raises(TypeError, match="pass name="):
        heso.payment(functools.partial(charge))


class Account:
    @heso.tool
    def close(self, reason: str) -> str:
        """Close the account."""
        return reason

    @heso.tool
    async def refresh(self, force: bool = False) -> None:
        """Refresh."""

    @classmethod
    @heso.destructive
    def purge(cls, older_than: int) -> None:
        """Purge old accounts."""

    @staticmethod
    @heso.payment
    def refund(amount: int) -> None:
        """Refund."""

    @heso.tool
    def rows(self) -> Iterator[int]:
        yield 1


def test_methods_keep_their_shape() -> None:
    account = Account()
    assert Account.close.__qualname__ == "Account.close"
    assert list(inspect.signature(Account.close).parameters) == ["self", "reason"]
    assert list(inspect.signature(account.close).parameters) == ["reason"]
    assert inspect.iscoroutinefunction(account.refresh)
    assert inspect.isgeneratorfunction(account.rows)
    assert account.close.__self__ is account  # type: ignore[attr-defined]


def test_classmethod_and_staticmethod_outermost() -> None:
    assert isinstance(inspect.getattr_static(Account, "purge"), classmethod)
    assert isinstance(inspect.getattr_static(Account, "refund"), staticmethod)
    assert list(inspect.signature(Account.purge).parameters) == ["older_than"]
    assert Account.purge.__self__ is Account  # type: ignore[attr-defined]
    assert list(inspect.signature(Account.refund).parameters) == ["amount"]
    assert Account.purge.__doc__ == "Purge old accounts."
    assert Account.refund.__name__ == "refund"


@pytest.mark.parametrize("inner", [classmethod, staticmethod])
def test_classmethod_or_staticmethod_inside_is_refused(inner: Callable[[Any], Any]) -> None:
    def method(cls: type) -> None:
        pass

    with pytest.raises(TypeError, match="outermost"):
        heso.tool(inner(method))


@pytest.mark.parametrize(
    "make",
    [
        lambda: heso.tool(verb="payments"),
        lambda: heso.tool(verb="TOOL_CALL"),
        lambda: heso.action("send_email"),
        lambda: heso.action(""),
    ],
    ids=["tool-typo", "tool-name-not-value", "action-unknown", "action-empty"],
)
def test_unknown_verb_fails_at_decoration(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match=r"^unknown verb `.*`; use one of llm_call, tool_call"):
        make()


def test_unknown_verb_message() -> None:
    with pytest.raises(ValueError, match="payments") as caught:
        heso.action("payments")
    assert str(caught.value) == (
        "unknown verb `payments`; use one of llm_call, tool_call, http_request, payment, "
        "data_export, account_change, delete"
    )


def test_verb_as_enum_or_string_is_accepted() -> None:
    def body() -> None:
        pass

    for verb in (*heso.Verb, *(v.value for v in heso.Verb)):
        assert heso.action(verb)(body).__wrapped__ is body  # type: ignore[attr-defined]


def test_unknown_redact_mode_fails_at_decoration() -> None:
    with pytest.raises(ValueError, match="unknown redact_mode `erase`"):
        heso.tool(redact_mode="erase")
    with pytest.raises(ValueError, match="unknown redact_mode"):
        heso.payment(redact_mode="")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: heso.tool(redact="card"), "redact must be a list"),
        (lambda: heso.tool(redact=[1]), "redact paths must be strings"),  # type: ignore[list-item]
        (
            lambda: heso.tool(target_host=443),  # type: ignore[call-overload]
            "target_host must be a host string or a callable",
        ),
        (lambda: heso.tool(name=b"x"), "name must be a string"),  # type: ignore[call-overload]
        (
            lambda: heso.tool("payment"),  # type: ignore[call-overload]
            r"heso\.tool takes its options as keywords",
        ),
        (
            lambda: heso.destructive(3),  # type: ignore[call-overload]
            r"heso\.destructive takes its options as keywords",
        ),
    ],
    ids=["redact-str", "redact-int", "target-host-int", "name-bytes", "tool-positional", "int"],
)
def test_bad_options_fail_at_decoration(make: Callable[[], object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        make()


def test_a_class_is_refused() -> None:
    class Tool:
        pass

    with pytest.raises(TypeError, match="gate functions"):
        heso.tool(Tool)


def test_decorating_does_not_call_the_function() -> None:
    calls: list[int] = []

    def body() -> None:
        calls.append(1)

    heso.tool(body)
    heso.payment(name="p")(body)
    assert calls == []
