"""`heso.step`: values, nesting, validation and context locality (sdk.md §9.1)."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

import heso
from heso._context import StepValues, current


def test_outside_any_step_everything_is_empty() -> None:
    assert current() == StepValues(None, None, ())


def test_nesting_innermost_wins_and_redact_is_unioned_in_order() -> None:
    with heso.step(workflow="outer", account="acme", redact=["card", "email"]):
        assert current() == StepValues("outer", "acme", ("card", "email"))
        with heso.step(account="globex", redact=["ssn", "card"]) as inner:
            assert isinstance(inner, heso.Step)
            assert current() == StepValues("outer", "globex", ("card", "email", "ssn"))
            with heso.step(workflow="inner"):
                assert current() == StepValues("inner", "globex", ("card", "email", "ssn"))
        assert current() == StepValues("outer", "acme", ("card", "email"))
    assert current() == StepValues(None, None, ())


def test_duplicates_within_one_step_are_removed() -> None:
    with heso.step(redact=["a", "b", "a"]):
        assert current().redact == ("a", "b")


def test_values_are_restored_when_the_block_raises() -> None:
    with pytest.raises(KeyError), heso.step(workflow="w"):
        raise KeyError
    assert current().workflow is None


def test_one_step_object_can_be_reused_and_nested() -> None:
    payouts = heso.step(workflow="payouts", redact=["iban"])
    with payouts:
        with payouts:
            assert current() == StepValues("payouts", None, ("iban",))
        assert current().workflow == "payouts"
    with payouts:
        assert current().workflow == "payouts"
    assert current().workflow is None


def test_async_with_and_tasks() -> None:
    shared = heso.step(workflow="shared")
    seen: dict[str, str | None] = {}

    async def worker(name: str, account: str) -> None:
        async with shared, heso.step(account=account):
            await asyncio.sleep(0.01)
            seen[name] = f"{current().workflow}/{current().account}"
        seen[name + "-after"] = current().workflow

    async def main() -> None:
        async with heso.step(workflow="parent"):
            child = asyncio.create_task(asyncio.sleep(0, result=current().workflow))
            inherited = asyncio.create_task(_read_workflow())
        await asyncio.gather(worker("a", "acme"), worker("b", "globex"))
        seen["child"] = await child
        seen["inherited"] = await inherited

    asyncio.run(main())
    assert seen == {
        "a": "shared/acme",
        "b": "shared/globex",
        "a-after": None,
        "b-after": None,
        "child": "parent",
        "inherited": "parent",
    }


async def _read_workflow() -> str | None:
    await asyncio.sleep(0)
    return current().workflow


def test_plain_threads_start_empty_and_copy_context_carries_values() -> None:
    results: dict[str, str | None] = {}
    with heso.step(workflow="main"):
        plain = threading.Thread(target=lambda: results.update(plain=current().workflow))
        context = contextvars.copy_context()
        copied = threading.Thread(
            target=lambda: context.run(lambda: results.update(copied=current().workflow))
        )
        plain.start()
        copied.start()
        plain.join()
        copied.join()
    assert results == {"plain": None, "copied": "main"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workflow": ""}, "workflow must be 1 to 128 characters"),
        ({"workflow": "x" * 129}, "workflow must be 1 to 128 characters"),
        ({"account": "a\nb"}, "account contains a control character"),
        ({"account": "tab\there"}, "account contains a control character"),
        ({"workflow": "del\x7f"}, "workflow contains a control character"),
        ({"workflow": " padded"}, "workflow has leading or trailing spaces"),
        ({"account": "padded "}, "account has leading or trailing spaces"),
    ],
)
def test_bad_names_are_value_errors(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=r"^\w+ (must|contains|has) ") as caught:
        heso.step(**kwargs)
    assert str(caught.value) == message


def test_longest_name_is_accepted() -> None:
    with heso.step(workflow="w" * 128, account="ünïcode ok"):
        assert current().workflow == "w" * 128


@pytest.mark.parametrize(
    "kwargs",
    [{"workflow": 5}, {"account": b"acme"}, {"redact": "card"}, {"redact": [1]}, {"redact": {"a"}}],
)
def test_wrong_types_are_type_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        heso.step(**kwargs)  # type: ignore[arg-type]
