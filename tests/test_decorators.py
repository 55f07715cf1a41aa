"""Decorated calls of every function kind against a real project (sdk.md §4.1, §4.5, §4.6, §9.1).

Each body has a side effect (`ran`), so a test proves the body did not run when the gate refused,
and reads the receipts back from the store.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

import heso
from heso import _core

if TYPE_CHECKING:
    from conftest import GatedProject

ran: list[str] = []


@pytest.fixture(autouse=True)
def _reset_side_effects() -> None:
    ran.clear()


def content(receipt: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = receipt["content"]
    return value


def action(receipt: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = receipt["content"]["action"]
    return value


def result_hash(value: object) -> str:
    """The hash a result receipt binds for an already JSON-ready value (receipts.md §15.5)."""
    return _core.blake3_hex(_core.canonicalize(json.dumps(value).encode()))


# --- sync -----------------------------------------------------------------------------------


def test_fields_bind_defaults_var_args_and_kwargs(gated_project: GatedProject) -> None:
    @heso.tool
    def query(table: str, *columns: str, limit: int = 10, **filters: object) -> int:
        ran.append("query")
        return 7

    assert query("users", "id", "email", active=True, since=Decimal("1.5")) == 7
    gate, result = gated_project.receipts()
    assert action(gate)["fields"] == {
        "table": "users",
        "columns": ["id", "email"],
        "limit": 10,
        "active": True,
        "since": "1.5",
    }
    assert action(result)["result_hash"] == result_hash(7)


def test_a_binding_error_records_nothing_and_skips_the_body(
    gated_project: GatedProject,
) -> None:
    @heso.tool
    def pair(a: int, b: int) -> None:
        ran.append("pair")

    with pytest.raises(TypeError, match="missing a required argument: 'b'"):
        pair(1)  # type: ignore[call-arg]
    assert ran == []
    assert gated_project.receipts() == []


def test_the_declared_verb_and_name_are_recorded(gated_project: GatedProject) -> None:
    @heso.action(heso.Verb.LLM_CALL, name="openai.chat")
    def wire_money(prompt: str) -> str:
        ran.append("llm")
        return "ok"

    wire_money("hi")
    gate, _ = gated_project.receipts()
    assert (action(gate)["verb"], action(gate)["tool_name"]) == ("llm_call", "openai.chat")


def test_the_exception_is_reraised_unchanged(gated_project: GatedProject) -> None:
    original = LookupError("no such row")

    @heso.tool
    def find() -> None:
        raise original

    with pytest.raises(LookupError) as caught:
        find()
    assert caught.value is original
    _, result = gated_project.receipts()
    assert action(result)["error"] == "builtins.LookupError: no such row"


@pytest.mark.parametrize(
    ("kwargs", "host"),
    [
        ({"url": "https://API.example.com:8443/v1"}, "api.example.com"),
        ({"host": "db.internal"}, "db.internal"),
    ],
)
def test_target_host_from_url_or_host(
    gated_project: GatedProject, kwargs: dict[str, str], host: str
) -> None:
    @heso.tool
    def call(url: str | None = None, host: str | None = None) -> None:
        pass

    call(**kwargs)
    gate, _ = gated_project.receipts()
    assert action(gate)["target_host"] == host


def test_target_host_callable_sees_the_raw_arguments(gated_project: GatedProject) -> None:
    seen: list[Mapping[str, Any]] = []

    def host_of(arguments: Mapping[str, Any]) -> str:
        seen.append(arguments)
        return "evil.example" if arguments["amount"] > Decimal(100) else "bank.example"

    @heso.tool(target_host=host_of)
    def transfer(amount: Decimal) -> None:
        ran.append("transfer")

    transfer(Decimal(5))
    with pytest.raises(heso.BlockedError):
        transfer(Decimal(500))
    assert ran == ["transfer"]
    assert [type(a["amount"]) for a in seen] == [Decimal, Decimal]
    gate, _, block = gated_project.receipts()
    assert action(gate)["target_host"] == "bank.example"
    assert action(block)["target_host"] == "evil.example"


# --- methods --------------------------------------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.sent: list[str] = []

    @heso.tool
    def send(self, to: str) -> str:
        self.sent.append(to)
        return to

    @classmethod
    @heso.tool
    def create(cls, owner: str) -> str:
        return owner

    @staticmethod
    @heso.tool
    def validate(address: str) -> bool:
        return "@" in address


def test_methods_do_not_capture_self_or_cls(gated_project: GatedProject) -> None:
    box = Mailbox()
    assert box.send("ada@example.com") == "ada@example.com"
    assert box.sent == ["ada@example.com"]
    assert Mailbox.create("bob") == "bob"
    assert Mailbox.validate("x@y")
    gates = gated_project.receipts()[::2]
    assert [(action(g)["tool_name"], action(g)["fields"]) for g in gates] == [
        ("send", {"to": "ada@example.com"}),
        ("create", {"owner": "bob"}),
        ("validate", {"address": "x@y"}),
    ]


# --- async def ------------------------------------------------------------------------------


def test_async_gates_when_awaited_and_records_the_result(gated_project: GatedProject) -> None:
    @heso.tool
    async def lookup(key: str) -> dict[str, str]:
        ran.append("lookup")
        await asyncio.sleep(0)
        return {"key": key}

    pending = lookup("a")
    assert gated_project.receipts() == []  # nothing runs until the coroutine is awaited
    assert asyncio.run(pending) == {"key": "a"}
    gate, result = gated_project.receipts()
    assert action(gate)["fields"] == {"key": "a"}
    assert action(result)["result_hash"] == result_hash({"key": "a"})


def test_async_block_never_runs_the_body(gated_project: GatedProject) -> None:
    @heso.tool(name="shell")
    async def run(cmd: str) -> None:
        ran.append("shell")

    with pytest.raises(heso.BlockedError):
        asyncio.run(run("rm -rf /"))
    assert ran == []
    (block,) = gated_project.receipts()
    assert content(block)["policy"]["decision_path"] == "block"


def test_async_cancellation_is_recorded_as_an_error(gated_project: GatedProject) -> None:
    @heso.tool
    async def slow() -> None:
        ran.append("slow")
        await asyncio.sleep(30)

    async def cancel_it() -> None:
        task = asyncio.create_task(slow())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_it())
    assert ran == ["slow"]
    _, result = gated_project.receipts()
    assert action(result)["error"] == "asyncio.exceptions.CancelledError"


# --- generators -----------------------------------------------------------------------------


@heso.tool
def countdown(n: int) -> Generator[int, None, None]:
    ran.append("countdown")
    yield from range(n, 0, -1)


def test_generator_gates_at_the_first_next(gated_project: GatedProject) -> None:
    items = countdown(3)
    assert gated_project.receipts() == []
    assert next(items) == 3
    assert ran == ["countdown"]
    (gate,) = gated_project.receipts()
    assert action(gate)["fields"] == {"n": 3}
    assert list(items) == [2, 1]
    _, result = gated_project.receipts()
    assert action(result)["result_hash"] == result_hash([3, 2, 1])
    assert "error" not in action(result)


def test_empty_generator_records_an_empty_array(gated_project: GatedProject) -> None:
    assert list(countdown(0)) == []
    _, result = gated_project.receipts()
    assert action(result)["result_hash"] == result_hash([])


def test_generator_closed_early(gated_project: GatedProject) -> None:
    items = countdown(5)
    assert [next(items), next(items)] == [5, 4]
    items.close()
    _, result = gated_project.receipts()
    assert action(result)["error"] == "GeneratorExit: closed after 2 items"
    assert "result_hash" not in action(result)


def test_generator_blocked_at_the_first_next_never_runs(gated_project: GatedProject) -> None:
    @heso.tool(name="shell")
    def lines(cmd: str) -> Iterator[str]:
        ran.append("shell")
        yield "never"

    items = lines("ls")
    with pytest.raises(heso.BlockedError):
        next(items)
    assert ran == []
    with pytest.raises(StopIteration):
        next(items)
    assert len(gated_project.receipts()) == 1


def test_generator_send_throw_and_return_value_are_forwarded(
    gated_project: GatedProject,
) -> None:
    @heso.tool
    def accumulate() -> Generator[int, int | None, int]:
        total = 0
        while True:
            try:
                received = yield total
            except ValueError:
                received = -total
            if received is None:
                return total
            total += received

    items = accumulate()
    assert next(items) == 0
    assert items.send(5) == 5
    assert items.send(2) == 7
    assert items.throw(ValueError("reset")) == 0
    with pytest.raises(StopIteration) as stopped:
        next(items)
    assert stopped.value.value == 0
    _, result = gated_project.receipts()
    assert action(result)["result_hash"] == result_hash([0, 5, 7, 0])


def test_generator_error_is_recorded_and_reraised(gated_project: GatedProject) -> None:
    @heso.tool
    def flaky() -> Iterator[int]:
        yield 1
        raise ConnectionError("peer went away")

    items = flaky()
    assert next(items) == 1
    with pytest.raises(ConnectionError, match="peer went away"):
        next(items)
    _, result = gated_project.receipts()
    assert action(result)["error"] == "builtins.ConnectionError: peer went away"


# --- async generators -----------------------------------------------------------------------


@heso.tool
async def tokens(text: str) -> AsyncGenerator[str, None]:
    ran.append("tokens")
    for word in text.split():
        await asyncio.sleep(0)
        yield word


def test_async_generator_gates_at_the_first_anext(gated_project: GatedProject) -> None:
    async def consume() -> list[str]:
        stream = tokens("a b c")
        assert gated_project.receipts() == []
        return [word async for word in stream]

    assert asyncio.run(consume()) == ["a", "b", "c"]
    gate, result = gated_project.receipts()
    assert action(gate)["fields"] == {"text": "a b c"}
    assert action(result)["result_hash"] == result_hash(["a", "b", "c"])


def test_async_generator_closed_early(gated_project: GatedProject) -> None:
    async def first() -> str:
        stream = tokens("x y z")
        word = await stream.__anext__()
        await stream.aclose()
        return word

    assert asyncio.run(first()) == "x"
    _, result = gated_project.receipts()
    assert action(result)["error"] == "GeneratorExit: closed after 1 items"


def test_async_generator_blocked_never_runs(gated_project: GatedProject) -> None:
    @heso.tool(name="shell")
    async def lines() -> AsyncIterator[str]:
        ran.append("shell")
        yield "never"

    async def consume() -> list[str]:
        return [line async for line in lines()]

    with pytest.raises(heso.BlockedError):
        asyncio.run(consume())
    assert ran == []


def test_async_generator_asend_and_athrow_are_forwarded(gated_project: GatedProject) -> None:
    @heso.tool
    async def echo() -> AsyncGenerator[str, str]:
        received = "start"
        while received != "stop":
            try:
                received = yield received
            except KeyError:
                received = "recovered"

    async def talk() -> list[str]:
        stream = echo()
        out = [await stream.__anext__(), await stream.asend("one")]
        out.append(await stream.athrow(KeyError("k")))
        with pytest.raises(StopAsyncIteration):
            await stream.asend("stop")
        return out

    assert asyncio.run(talk()) == ["start", "one", "recovered"]
    _, result = gated_project.receipts()
    assert action(result)["result_hash"] == result_hash(["start", "one", "recovered"])


# --- steps ----------------------------------------------------------------------------------


@heso.tool
def ping(n: int) -> int:
    return n


def test_steps_set_workflow_and_account(gated_project: GatedProject) -> None:
    with heso.step(workflow="payouts", account="acme"):
        ping(1)
        with heso.step(account="globex"):
            ping(2)
        ping(3)
    ping(4)
    payouts = [
        (action(r)["fields"]["n"], action(r)["account"]) for r in gated_project.receipts("payouts")
    ]
    assert payouts[::2] == [(1, "acme"), (2, "globex"), (3, "acme")]
    assert {action(r)["workflow"] for r in gated_project.receipts("payouts")} == {"payouts"}
    (last, _) = gated_project.receipts("test")
    assert (action(last)["workflow"], action(last)["account"]) == ("test", "default")


def test_asyncio_tasks_inherit_the_step_of_their_creator(gated_project: GatedProject) -> None:
    @heso.tool
    async def work(n: int) -> int:
        await asyncio.sleep(0)
        return n

    async def run_all() -> None:
        async with heso.step(workflow="batch"):
            first = asyncio.create_task(work(1))
        second = asyncio.create_task(work(2))  # created outside the step
        await asyncio.gather(first, second)

    asyncio.run(run_all())
    assert [action(r)["fields"]["n"] for r in gated_project.receipts("batch")] == [1, 1]
    assert [action(r)["fields"]["n"] for r in gated_project.receipts("test")] == [2, 2]
