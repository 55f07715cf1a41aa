"""Gating from many threads, asyncio tasks and processes into one store (issue 6).

Every gated call must leave exactly its two receipts, every chain must stay gap-free and verify,
and nothing may be lost or doubled under contention.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from typing import TYPE_CHECKING

import pytest

import heso

if TYPE_CHECKING:
    from conftest import GatedProject


@heso.tool
def lookup(worker: int, i: int) -> int:
    return worker * 1000 + i


@heso.tool
async def fetch_async(task: int, i: int) -> int:
    await asyncio.sleep(0)
    return task * 1000 + i


def assert_chain_complete(project: GatedProject, session: str, calls: int) -> None:
    receipts = project.receipts(session)
    assert len(receipts) == 2 * calls
    assert [r["content"]["seq"] for r in receipts] == list(range(2 * calls))
    report = heso.verify(*receipts)
    assert report.ok


def test_threads_gate_into_one_chain(gated_project: GatedProject) -> None:
    threads, calls = 8, 25
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(calls):
                assert lookup(worker, i) == worker * 1000 + i
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    started = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    assert errors == []
    assert_chain_complete(gated_project, "test", threads * calls)
    # Each call's gate receipt is followed, somewhere later, by its own result receipt.
    fields = Counter(
        (r["content"]["action"]["fields"]["worker"], r["content"]["action"]["fields"]["i"])
        for r in gated_project.receipts()
    )
    assert set(fields.values()) == {2}


def test_asyncio_tasks_gate_concurrently_and_keep_their_steps(
    gated_project: GatedProject,
) -> None:
    async def task(n: int) -> None:
        with heso.step(workflow=f"task-{n % 2}"):
            for i in range(10):
                assert await fetch_async(n, i) == n * 1000 + i

    async def main() -> None:
        await asyncio.gather(*(task(n) for n in range(6)))

    asyncio.run(main())
    assert_chain_complete(gated_project, "task-0", 30)
    assert_chain_complete(gated_project, "task-1", 30)
    assert gated_project.receipts("test") == []


def test_two_processes_gate_into_one_store(gated_project: GatedProject) -> None:
    script = textwrap.dedent(
        f"""
        import heso
        heso.init(project_root={str(gated_project.root)!r}, workflow="shared",
                  durability="normal")

        @heso.tool
        def work(n):
            return n

        for n in range(40):
            work(n)
        """
    )
    children = [
        subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE) for _ in range(2)
    ]
    for child in children:
        _, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr.decode()
    assert_chain_complete(gated_project, "shared", 80)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gates_on_its_own_connection(gated_project: GatedProject) -> None:
    # The parent's store connection is abandoned in the child (storage.md §6.5), never shared.
    assert lookup(0, 0) == 0
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child process
        code = 0
        try:
            lookup(1, 1)
        except BaseException:  # the parent sees the exit status
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert lookup(2, 2) == 2002
    assert_chain_complete(gated_project, "test", 3)
