"""`heso.wrap` with the real openai, anthropic, httpx and requests packages (sdk.md §6).

Every client talks to `FakeServer` on 127.0.0.1, so a test can see what was sent (and that a
refused call sent nothing), and every gated call goes through the real engine into the store of
a fresh project (`gated_project`), where the test reads the receipts back.
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import inspect
import json
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import anthropic
import httpx
import openai
import pytest
import requests
from anthropic.types import MessageParam
from openai.types.chat import ChatCompletionMessageParam

import heso
from heso import _core

if TYPE_CHECKING:
    from conftest import GatedProject
    from fake_llm_server import FakeServer


def _load_server_module() -> Any:
    # `--import-mode=importlib` puts nothing on sys.path, so the helper is loaded by its path.
    path = Path(__file__).with_name("fake_llm_server.py")
    spec = importlib.util.spec_from_file_location("heso_tests_fake_llm_server", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fake = _load_server_module()

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
CLAUDE_MESSAGES: list[MessageParam] = [{"role": "user", "content": "hi"}]
BLOCK_RULES = """
[[rule]]
id = "wrap.llm.block"
order = 4
verb = "llm_call"
conditions = [{ field = "model", op = "eq", value = "forbidden" }]
decision = "block"

[[rule]]
id = "wrap.http.block"
order = 5
verb = "http_request"
conditions = [{ field = "method", op = "eq", value = "DELETE" }]
decision = "block"
"""


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with fake.FakeServer() as running:
        yield running


@pytest.fixture
def project(gated_project: GatedProject) -> GatedProject:
    """The gated project with two more rules: model `forbidden` and HTTP DELETE are blocked."""
    with (gated_project.root / "heso.toml").open("a", encoding="utf-8") as policy:
        policy.write(BLOCK_RULES)
    return gated_project


def action(receipt: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = receipt["content"]["action"]
    return value


def decision_path(receipt: dict[str, Any]) -> str:
    return str(receipt["content"]["policy"]["decision_path"])


def result_hash(value: object) -> str:
    return _core.blake3_hex(_core.canonicalize(json.dumps(value).encode()))


def gate_and_result(project: GatedProject) -> tuple[dict[str, Any], dict[str, Any]]:
    """The last two receipts of the test session: one call's gate and result."""
    *_, gate, result = project.receipts()
    assert action(result)["tool_name"] == action(gate)["tool_name"]
    return action(gate), action(result)


def openai_client(server: FakeServer, **options: Any) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test-secret", base_url=f"{server.url}/v1", **options)


def anthropic_client(server: FakeServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-ant-secret", base_url=server.url)


# --- what wrap accepts, and the proxy itself ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (object(), "builtins.object"),
        ({}, "builtins.dict"),
        (json, "json"),
        (openai, "openai"),
        (httpx.URL("http://x"), "httpx.URL"),
    ],
)
def test_anything_but_a_supported_client_is_a_type_error(value: object, shown: str) -> None:
    with pytest.raises(TypeError) as caught:
        heso.wrap(value)
    assert str(caught.value) == (f"heso.wrap cannot gate `{shown}`; use @heso.tool or heso.process")


def test_a_resource_namespace_alone_is_not_a_client() -> None:
    client = openai.OpenAI(api_key="sk", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(TypeError, match=r"`openai\.resources\.chat\.chat\.Chat`"):
        heso.wrap(client.chat)
    client.close()


def test_the_proxy_reports_the_client_class_and_unwraps() -> None:
    client = openai.OpenAI(api_key="sk", base_url="http://127.0.0.1:9/v1")
    wrapped = heso.wrap(client)
    assert isinstance(wrapped, openai.OpenAI)
    assert type(wrapped) is not openai.OpenAI
    assert repr(wrapped) == f"<heso.wrap of {client!r}>"
    assert heso.wrap(wrapped) is wrapped
    assert heso.unwrap(wrapped) is client
    assert heso.unwrap(client) is client
    # A namespace reached through the proxy is wrapped as well, and reports its own class.
    assert isinstance(wrapped.chat.completions, type(client.chat.completions))
    assert heso.unwrap(wrapped.chat.completions) is client.chat.completions
    client.close()


def test_wrapping_again_with_other_options_is_refused() -> None:
    wrapped = heso.wrap(requests, name="web")
    assert heso.wrap(wrapped) is wrapped
    assert heso.wrap(wrapped, name="web") is wrapped
    with pytest.raises(ValueError, match="already wrapped with other options"):
        heso.wrap(wrapped, name="other")


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"redact": "messages"}, TypeError),
        ({"redact": [1]}, TypeError),
        ({"redact_mode": "shred"}, ValueError),
        ({"name": ""}, ValueError),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        heso.wrap(requests, **options)


def test_pickling_a_wrapped_client_raises() -> None:
    with heso.wrap(requests.Session()) as session:
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(session)
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(heso.wrap(requests))


def test_copies_stay_wrapped() -> None:
    with heso.wrap(requests.Session()) as session:
        duplicate = copy.copy(session)
        assert type(duplicate) is type(session)
        assert heso.unwrap(duplicate) is not heso.unwrap(session)
        duplicate.close()


def test_attribute_reads_and_writes_reach_the_client() -> None:
    with openai.OpenAI(api_key="sk", base_url="http://127.0.0.1:9/v1") as client:
        wrapped = heso.wrap(client)
        assert wrapped.max_retries == client.max_retries
        wrapped.max_retries = 7
        assert client.max_retries == 7
        assert "chat" in dir(wrapped)


def test_attribute_chains_are_resolved_once() -> None:
    with heso.wrap(openai.OpenAI(api_key="sk", base_url="http://127.0.0.1:9/v1")) as wrapped:
        assert wrapped.chat is wrapped.chat
        assert wrapped.chat.completions.create is wrapped.chat.completions.create
        # The cache holds the resolved objects, so a repeated lookup is a plain dict hit.
        assert "chat" in vars(wrapped)


def test_with_yields_the_wrapped_client() -> None:
    client = openai.OpenAI(api_key="sk", base_url="http://127.0.0.1:9/v1")
    wrapped = heso.wrap(client)
    with wrapped as entered:
        assert entered is wrapped
    with heso.wrap(httpx.Client()) as http:
        assert isinstance(http, httpx.Client)
        assert heso.unwrap(http) is not http
    with pytest.raises(TypeError, match="context manager protocol"), cast(Any, heso.wrap(requests)):
        pass


def test_async_gated_methods_are_coroutine_functions() -> None:
    async def check() -> None:
        async with heso.wrap(openai.AsyncOpenAI(api_key="sk", base_url="http://x/v1")) as llm:
            assert inspect.iscoroutinefunction(llm.chat.completions.create)
            assert inspect.iscoroutinefunction(llm.with_raw_response.chat.completions.create)
            # `.stream()` and the streaming view return context managers without awaiting.
            assert not inspect.iscoroutinefunction(llm.chat.completions.stream)
            view = llm.with_streaming_response.chat.completions
            assert not inspect.iscoroutinefunction(view.create)
            # Methods passed through keep their kind too.
            assert inspect.iscoroutinefunction(llm.close)
        async with heso.wrap(httpx.AsyncClient()) as http:
            assert inspect.iscoroutinefunction(http.get)
            assert inspect.iscoroutinefunction(http.send)
            assert not inspect.iscoroutinefunction(http.stream)
        async with heso.wrap(anthropic.AsyncAnthropic(api_key="sk", base_url="http://x")) as msg:
            assert inspect.iscoroutinefunction(msg.messages.create)
            assert inspect.iscoroutinefunction(msg.messages.count_tokens)
            assert not inspect.iscoroutinefunction(msg.messages.stream)

    asyncio.run(check())


def test_wrap_loads_no_client_package() -> None:
    # `import heso` itself is checked elsewhere; wrap must add none of these.
    code = (
        "import sys, heso\n"
        "before = set(sys.modules)\n"
        "try:\n"
        "    heso.wrap(object())\n"
        "except TypeError:\n"
        "    pass\n"
        "banned = {'openai', 'anthropic', 'httpx', 'requests', 'asyncio', 'urllib',"
        " 'urllib.parse', 'http.client', 'ssl'}\n"
        "print(sorted(banned & (set(sys.modules) - before)))\n"
        "print(sorted(banned & {'openai', 'anthropic', 'httpx', 'requests'} & before))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert ran.stdout.split() == ["[]", "[]"]


# --- openai -----------------------------------------------------------------------------------


def test_openai_chat_completion_is_gated_and_its_response_recorded(
    project: GatedProject, server: FakeServer
) -> None:
    with heso.wrap(openai_client(server)) as client:
        response = client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert response.choices[0].message.content == "hello"
    assert server.paths() == ["/v1/chat/completions"]
    gate, result = gate_and_result(project)
    assert gate["verb"] == "llm_call"
    assert gate["tool_name"] == "openai.chat.completions.create"
    assert gate["target_host"] == "127.0.0.1"
    assert gate["fields"] == {"model": "gpt-test", "messages": MESSAGES}
    assert result["result_hash"] == result_hash(response.model_dump(mode="json"))


def test_a_blocked_call_never_reaches_the_server(project: GatedProject, server: FakeServer) -> None:
    with heso.wrap(openai_client(server)) as client, pytest.raises(heso.BlockedError) as caught:
        client.chat.completions.create(model="forbidden", messages=MESSAGES)
    assert caught.value.rule_id == "wrap.llm.block"
    assert caught.value.tool_name == "openai.chat.completions.create"
    assert server.seen == []
    (gate,) = project.receipts()
    assert decision_path(gate) == "block"
    assert action(gate)["fields"]["model"] == "forbidden"


def test_an_api_error_is_recorded_and_reraised(project: GatedProject, server: FakeServer) -> None:
    client = heso.wrap(openai_client(server, max_retries=0))
    with client, pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="error-400", messages=MESSAGES)
    _, result = gate_and_result(project)
    assert result["error"].startswith("openai.BadRequestError: ")
    assert "result_hash" not in result


def test_embeddings_are_gated_under_their_own_path(
    project: GatedProject, server: FakeServer
) -> None:
    with heso.wrap(openai_client(server)) as client:
        response = client.embeddings.create(model="embed-test", input="text")
    assert response.data[0].embedding == [0.25, 0.5]
    gate, result = gate_and_result(project)
    assert gate["tool_name"] == "openai.embeddings.create"
    assert gate["fields"] == {"model": "embed-test", "input": "text"}
    assert result["result_hash"] == result_hash(response.model_dump(mode="json"))


def test_a_stream_records_every_chunk(project: GatedProject, server: FakeServer) -> None:
    with heso.wrap(openai_client(server)) as client:
        stream = client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
        assert isinstance(stream, openai.Stream)
        chunks = list(stream)
    assert [chunk.choices[0].delta.content for chunk in chunks] == ["", "hel", "lo", None]
    gate, result = gate_and_result(project)
    assert gate["fields"]["stream"] is True
    assert result["result_hash"] == result_hash([c.model_dump(mode="json") for c in chunks])


def test_a_stream_closed_early_records_how_far_it_got(
    project: GatedProject, server: FakeServer
) -> None:
    with (
        heso.wrap(openai_client(server)) as client,
        client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True) as stream,
    ):
        next(stream)
    _, result = gate_and_result(project)
    assert result["error"] == "GeneratorExit: closed after 1 items"
    stream.close()  # closing again records nothing more
    assert len(project.receipts()) == 2


def test_the_stream_helper_records_the_raw_chunks(
    project: GatedProject, server: FakeServer
) -> None:
    with heso.wrap(openai_client(server)) as client:
        with client.chat.completions.stream(model="gpt-test", messages=MESSAGES) as stream:
            final = stream.get_final_completion()
        raw = list(
            heso.unwrap(client).chat.completions.create(
                model="gpt-test", messages=MESSAGES, stream=True
            )
        )
    assert final.choices[0].message.content == "hello"
    gate, result = project.receipts()
    assert action(gate)["tool_name"] == "openai.chat.completions.stream"
    assert action(result)["result_hash"] == result_hash([c.model_dump(mode="json") for c in raw])


def test_with_options_and_copy_stay_gated(project: GatedProject, server: FakeServer) -> None:
    with heso.wrap(openai_client(server), name="gpt") as client:
        faster = client.with_options(timeout=5)
        assert type(faster) is type(client)
        faster.chat.completions.create(model="a", messages=MESSAGES)
        elsewhere = client.copy(base_url=f"http://localhost:{server.port}/v1")
        elsewhere.chat.completions.create(model="b", messages=MESSAGES)
        elsewhere.close()
    first, _, second, _ = (action(receipt) for receipt in project.receipts())
    assert (first["tool_name"], first["target_host"]) == (
        "gpt.chat.completions.create",
        "127.0.0.1",
    )
    assert (second["tool_name"], second["target_host"]) == (
        "gpt.chat.completions.create",
        "localhost",
    )
    assert len(server.seen) == 2


def test_the_raw_response_view_is_gated_as_the_plain_call(
    project: GatedProject, server: FakeServer
) -> None:
    with heso.wrap(openai_client(server)) as client:
        raw = client.with_raw_response.chat.completions.create(model="m", messages=MESSAGES)
        assert raw.parse().choices[0].message.content == "hello"
    gate, result = gate_and_result(project)
    assert gate["tool_name"] == "openai.chat.completions.create"
    digest = _core.blake3_hex(raw.http_response.content)
    assert result["result_hash"] == result_hash({"status": 200, "body_blake3": digest})


def test_the_streaming_response_view_records_the_status(
    project: GatedProject, server: FakeServer
) -> None:
    with heso.wrap(openai_client(server)) as client:
        view = client.chat.completions.with_streaming_response
        with view.create(model="m", messages=MESSAGES) as response:
            assert server.paths() == ["/v1/chat/completions"]
            assert response.parse().choices[0].message.content == "hello"
    gate, result = gate_and_result(project)
    assert gate["tool_name"] == "openai.chat.completions.create"
    assert result["result_hash"] == result_hash({"status": 200, "body_blake3": None})


def test_credentials_in_extra_headers_are_not_captured(
    project: GatedProject, server: FakeServer
) -> None:
    headers = {"X-Api-Key": "hdr-secret", "Authorization": "Bearer hdr", "X-Trace": "t-1"}
    with heso.wrap(openai_client(server)) as client:
        client.chat.completions.create(
            model="m", messages=MESSAGES, extra_headers=headers, extra_query={"token": "q-secret"}
        )
    gate, _ = gate_and_result(project)
    assert gate["fields"]["extra_headers"] == {
        "X-Api-Key": "[not captured]",
        "Authorization": "[not captured]",
        "X-Trace": "t-1",
    }
    assert gate["fields"]["extra_query"] == {"token": "[not captured]"}
    stored = json.dumps(project.all_receipts())
    assert "hdr-secret" not in stored
    assert "q-secret" not in stored
    assert "sk-test-secret" not in stored
    # Scrubbing is capture-only: the request itself carries the real values.
    assert server.last().headers["x-api-key"] == "hdr-secret"


def test_redact_applies_to_every_call_of_the_client(
    project: GatedProject, server: FakeServer
) -> None:
    with heso.wrap(openai_client(server), redact=["messages"]) as client:
        client.chat.completions.create(model="m", messages=MESSAGES)
        client.with_options(timeout=3).chat.completions.create(model="n", messages=MESSAGES)
    for gate in project.receipts()[::2]:
        assert set(action(gate)["fields"]["messages"]) == {"_sd"}
        assert gate["content"]["redaction"]["mode"] == "commit_and_reveal"
    assert json.loads(server.last().body)["messages"] == MESSAGES


def test_async_openai(project: GatedProject, server: FakeServer) -> None:
    async def run() -> list[Any]:
        client = openai.AsyncOpenAI(api_key="sk", base_url=f"{server.url}/v1")
        async with heso.wrap(client) as wrapped:
            assert isinstance(wrapped, openai.AsyncOpenAI)
            await wrapped.chat.completions.create(model="m", messages=MESSAGES)
            stream = await wrapped.chat.completions.create(
                model="m", messages=MESSAGES, stream=True
            )
            chunks = [chunk async for chunk in stream]
            async with wrapped.chat.completions.stream(model="m", messages=MESSAGES) as helper:
                async for _ in helper:
                    pass
            raw = await wrapped.with_raw_response.chat.completions.create(
                model="m", messages=MESSAGES
            )
            assert raw.status_code == 200
            view = wrapped.chat.completions.with_streaming_response
            async with view.create(model="m", messages=MESSAGES) as response:
                await response.read()
            with pytest.raises(heso.BlockedError):
                await wrapped.chat.completions.create(model="forbidden", messages=MESSAGES)
        return chunks

    chunks = asyncio.run(run())
    receipts = [action(receipt) for receipt in project.receipts()]
    assert [a["tool_name"] for a in receipts] == [
        *["openai.chat.completions.create"] * 4,
        *["openai.chat.completions.stream"] * 2,
        *["openai.chat.completions.create"] * 5,
    ]
    streamed = result_hash([chunk.model_dump(mode="json") for chunk in chunks])
    assert receipts[3]["result_hash"] == streamed
    assert receipts[5]["result_hash"] == streamed
    assert receipts[9]["result_hash"] == result_hash({"status": 200, "body_blake3": None})
    assert len(server.seen) == 5


def test_observe_only_sends_a_blocked_call_and_records_both_receipts(
    project: GatedProject, server: FakeServer
) -> None:
    heso.init(project_root=project.root, workflow="test", durability="normal", blocking=False)
    with heso.wrap(openai_client(server)) as client:
        response = client.chat.completions.create(model="forbidden", messages=MESSAGES)
    assert server.paths() == ["/v1/chat/completions"]
    gate, result = project.receipts()
    assert decision_path(gate) == "block"
    assert action(result)["result_hash"] == result_hash(response.model_dump(mode="json"))


# --- anthropic --------------------------------------------------------------------------------


def test_anthropic_messages(project: GatedProject, server: FakeServer) -> None:
    with heso.wrap(anthropic_client(server)) as client:
        message = client.messages.create(model="claude", max_tokens=16, messages=CLAUDE_MESSAGES)
        with client.messages.stream(model="claude", max_tokens=16, messages=CLAUDE_MESSAGES) as s:
            text = "".join(s.text_stream)
        tokens = client.messages.count_tokens(model="claude", messages=CLAUDE_MESSAGES)
        raw_events = list(
            heso.unwrap(client).messages.create(
                model="claude", max_tokens=16, messages=CLAUDE_MESSAGES, stream=True
            )
        )
    assert (message.content[0].type, text, tokens.input_tokens) == ("text", "hello", 7)
    create, create_result, stream, stream_result, count, count_result = (
        action(receipt) for receipt in project.receipts()
    )
    assert create["tool_name"] == "anthropic.messages.create"
    assert create["target_host"] == "127.0.0.1"
    assert create["fields"] == {
        "model": "claude",
        "max_tokens": 16,
        "messages": CLAUDE_MESSAGES,
    }
    assert create_result["result_hash"] == result_hash(message.model_dump(mode="json"))
    assert stream["tool_name"] == "anthropic.messages.stream"
    # `text_stream` consumes the events inside the SDK; every raw event is still recorded.
    events = [event.model_dump(mode="json") for event in raw_events]
    assert stream_result["result_hash"] == result_hash(events)
    assert count["tool_name"] == "anthropic.messages.count_tokens"
    assert count_result["result_hash"] == result_hash({"input_tokens": 7})


def test_async_anthropic_stream(project: GatedProject, server: FakeServer) -> None:
    async def run() -> str:
        client = anthropic.AsyncAnthropic(api_key="sk", base_url=server.url)
        async with (
            heso.wrap(client) as wrapped,
            wrapped.messages.stream(model="c", max_tokens=8, messages=CLAUDE_MESSAGES) as stream,
        ):
            return await stream.get_final_text()

    assert asyncio.run(run()) == "hello"
    gate, result = gate_and_result(project)
    assert gate["tool_name"] == "anthropic.messages.stream"
    assert "result_hash" in result


# --- httpx ------------------------------------------------------------------------------------


def test_httpx_request_fields_and_result(project: GatedProject, server: FakeServer) -> None:
    base = f"http://user:pw@127.0.0.1:{server.port}/api"
    with heso.wrap(httpx.Client(base_url=base)) as client:
        response = client.post(
            "items?token=t-secret&a=1",
            params={"a": 2, "flag": True},
            headers={"Authorization": "Bearer b-secret", "X-Request": "r"},
            json={"amount": 5},
        )
    assert response.status_code == 200
    assert server.last().path == "/api/items"
    gate, result = gate_and_result(project)
    assert gate["verb"] == "http_request"
    assert gate["tool_name"] == "httpx.post"
    assert gate["target_host"] == "127.0.0.1"
    assert gate["fields"] == {
        "method": "POST",
        "url": f"http://127.0.0.1:{server.port}/api/items",
        "query": {"token": "[not captured]", "a": ["1", "2"], "flag": "true"},
        "headers": {"Authorization": "[not captured]", "X-Request": "r"},
        "json": {"amount": 5},
    }
    body_hash = _core.blake3_hex(fake.PLAIN_BODY)
    assert result["result_hash"] == result_hash({"status": 200, "body_blake3": body_hash})
    assert "b-secret" not in json.dumps(project.all_receipts())


def test_httpx_stream_send_and_bodies(project: GatedProject, server: FakeServer) -> None:
    with heso.wrap(httpx.Client()) as client:
        with client.stream("PUT", f"{server.url}/upload", content=b"abc") as response:
            assert response.read() == fake.PLAIN_BODY
        request = client.build_request("PATCH", f"{server.url}/send", data={"k": "v"})
        assert client.send(request).status_code == 200
        assert client.get(f"{server.url}/status/404").status_code == 404
    stream, stream_result, send, _, get, get_result = (
        action(receipt) for receipt in project.receipts()
    )
    assert stream["tool_name"] == "httpx.stream"
    assert stream["fields"]["method"] == "PUT"
    assert stream["fields"]["body"] == {"$bytes": 3, "$blake3": _core.blake3_hex(b"abc")}
    assert stream_result["result_hash"] == result_hash({"status": 200, "body_blake3": None})
    assert send["tool_name"] == "httpx.send"
    assert send["fields"]["method"] == "PATCH"
    assert send["fields"]["body"] == {"$bytes": 3, "$blake3": _core.blake3_hex(b"k=v")}
    assert get["tool_name"] == "httpx.get"
    body_hash = _core.blake3_hex(b"status 404\n")
    assert get_result["result_hash"] == result_hash({"status": 404, "body_blake3": body_hash})


def test_async_httpx(project: GatedProject, server: FakeServer) -> None:
    async def run() -> None:
        async with heso.wrap(httpx.AsyncClient(base_url=server.url)) as client:
            assert (await client.get("/a")).status_code == 200
            async with client.stream("GET", "/b") as response:
                await response.aread()
            with pytest.raises(heso.BlockedError):
                await client.delete("/c")

    asyncio.run(run())
    assert server.paths() == ["/a", "/b"]
    tools = [action(receipt)["tool_name"] for receipt in project.receipts()]
    assert tools == ["httpx.get", "httpx.get", "httpx.stream", "httpx.stream", "httpx.delete"]


# --- requests ---------------------------------------------------------------------------------


def test_the_requests_module(project: GatedProject, server: FakeServer) -> None:
    web = heso.wrap(requests, name="web")
    response = web.get(f"{server.url}/search", params=[("q", "a"), ("q", "b"), ("api_key", "k")])
    assert response.status_code == 200
    assert server.last().query == {"q": ["a", "b"], "api_key": ["k"]}
    gate, result = gate_and_result(project)
    assert gate["tool_name"] == "web.get"
    assert gate["fields"]["query"] == {"q": ["a", "b"], "api_key": "[not captured]"}
    body_hash = _core.blake3_hex(fake.PLAIN_BODY)
    assert result["result_hash"] == result_hash({"status": 200, "body_blake3": body_hash})
    with pytest.raises(heso.BlockedError):
        web.delete(f"{server.url}/everything")
    assert server.paths() == ["/search"]
    # A client made by the wrapped module comes back wrapped, with the same options.
    with web.session() as session:
        assert heso.unwrap(session) is not session
        session.head(f"{server.url}/ping")
    assert action(project.receipts()[-1])["tool_name"] == "web.head"


def test_a_requests_session(project: GatedProject, server: FakeServer) -> None:
    with heso.wrap(requests.Session()) as session:
        session.post(f"{server.url}/form", b"raw-bytes", headers={"Cookie": "c=1"})
        streamed = session.request("GET", f"{server.url}/big", stream=True)
        assert streamed.raw.read() == fake.PLAIN_BODY
        streamed.close()
    post, _, get, get_result = (action(receipt) for receipt in project.receipts())
    assert post["tool_name"] == "requests.post"
    assert post["fields"]["headers"] == {"Cookie": "[not captured]"}
    assert post["fields"]["body"] == {"$bytes": 9, "$blake3": _core.blake3_hex(b"raw-bytes")}
    assert get["tool_name"] == "requests.request"
    assert get_result["result_hash"] == result_hash({"status": 200, "body_blake3": None})
