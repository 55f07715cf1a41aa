"""Arguments to JSON (sdk.md §4.3), argument binding and the target host (§4.2)."""

from __future__ import annotations

import array
import collections
import dataclasses
import datetime as dt
import enum
import inspect
import ipaddress
import json
import math
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import blake3
import pytest

import heso
from heso._encode import MAX_DEPTH, bind_fields, encode, register_encoder, target_host_of

MAX_SAFE = 2**53 - 1


def type_string(cls: type) -> str:
    return f"<{cls.__module__}.{cls.__qualname__}>"


class Color(enum.Enum):
    RED = "red"
    PAIR = (1, 2)


class Level(enum.IntEnum):
    HIGH = 3


# --- the rows of the table -------------------------------------------------------------------


def test_none_bool_and_str_are_as_is() -> None:
    assert encode(None) is None
    assert encode(True) is True
    assert encode(False) is False
    assert encode("grüße \n\u2028") == "grüße \n\u2028"


def test_str_subclass_becomes_a_plain_str() -> None:
    class Tag(str):
        def __str__(self) -> str:
            return "overridden"

    encoded = encode(Tag("abc"))
    assert encoded == "abc"
    assert type(encoded) is str


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (MAX_SAFE, MAX_SAFE),
        (-MAX_SAFE, -MAX_SAFE),
        (MAX_SAFE + 1, "9007199254740992"),
        (-MAX_SAFE - 1, "-9007199254740992"),
        (10**30, "1" + "0" * 30),
    ],
)
def test_int_is_a_number_only_within_2_53(value: int, expected: int | str) -> None:
    encoded = encode(value)
    assert encoded == expected
    assert type(encoded) is type(expected)


def test_int_longer_than_the_interpreter_digit_limit_is_still_a_decimal_string() -> None:
    # Python 3.11+ refuses str() of ints over 4300 digits by default; the record must not.
    assert encode(10**5000) == "1" + "0" * 5000
    assert encode(-(10**5000) - 7) == "-1" + "0" * 4999 + "7"


def test_int_subclass_uses_its_int_value_not_its_overrides() -> None:
    class Sneaky(int):
        def __int__(self) -> int:
            return 999

    encoded = encode(Sneaky(5))
    assert encoded == 5
    assert type(encoded) is int


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.5, 1.5),
        (-0.0, -0.0),
        (1e300, 1e300),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
    ],
)
def test_float_is_a_number_only_when_finite(value: float, expected: float | str) -> None:
    encoded = encode(value)
    assert encoded == expected
    assert type(encoded) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1000.50"), "1000.50"),
        (Decimal("-0.000001"), "-0.000001"),
        (Decimal("1E+3"), "1E+3"),
        (Decimal("NaN"), "NaN"),
    ],
)
def test_decimal_is_its_string(value: Decimal, expected: str) -> None:
    assert encode(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"card 4111 1111 1111 1111",
        bytearray(b"\x00\xff" * 100),
        memoryview(b"abcdef")[1:4],
        memoryview(array.array("i", [1, 2, 3])),
    ],
    ids=["empty", "bytes", "bytearray", "memoryview-slice", "memoryview-ints"],
)
def test_bytes_like_are_length_and_blake3(value: bytes | bytearray | memoryview) -> None:
    data = value.tobytes() if isinstance(value, memoryview) else bytes(value)
    # An independent BLAKE3 implementation, so the engine's digest is checked, not repeated.
    assert encode(value) == {"$bytes": len(data), "$blake3": blake3.blake3(data).hexdigest()}


def test_list_and_tuple_are_arrays() -> None:
    assert encode([1, (2, [3, ("four",)])]) == [1, [2, [3, ["four"]]]]
    point = collections.namedtuple("point", "x y")
    assert encode(point(1, 2)) == [1, 2]


def test_set_is_sorted_by_canonical_bytes() -> None:
    value = {10, 9, "b", "a", None, (1,), False, 2.5}
    # By RFC 8785 bytes: `"` < digits < `[` < `f` < `n`; numbers compare as text.
    assert encode(value) == ["a", "b", 10, 2.5, 9, [1], False, None]
    assert encode(frozenset({"z", "y"})) == ["y", "z"]


def test_set_of_numbers_sorts_by_canonical_form_not_value() -> None:
    # 1e21 canonicalizes as `1e+21`, 100.0 as `100`: bytewise `100` < `1e+21` < `2`.
    assert encode({2, 1e21, 100.0}) == [100.0, 1e21, 2]


def test_set_order_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    script = tmp_path / "encode_set.py"
    script.write_text(
        "import json\n"
        "from heso._encode import encode\n"
        "print(json.dumps(encode({f'item-{i}' for i in range(50)} | {1, 2.5, None})))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, str(script)],
            env={"PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


def test_mapping_keys() -> None:
    value = {"s": 1, 2: "int", 1.5: "float", True: "bool", None: "none", Color.RED: "enum"}
    assert encode(value) == {
        "s": 1,
        "2": "int",
        "1.5": "float",
        "True": "bool",
        "None": "none",
        "Color.RED": "enum",
    }


def test_enum_keys_are_their_str() -> None:
    # heso.Verb defines __str__ as its value; other enums show Class.MEMBER.
    assert encode({heso.Verb.PAYMENT: 1, Level.HIGH: 2}) == {"payment": 1, str(Level.HIGH): 2}


def test_big_int_key_is_its_full_decimal_string() -> None:
    assert encode({10**5000: 1}) == {"1" + "0" * 5000: 1}


def test_key_subclasses_cannot_change_their_record() -> None:
    class Loud(int):
        def __str__(self) -> str:
            return "loud"

    class Quiet(float):
        def __repr__(self) -> str:
            return "quiet"

        __str__ = __repr__

    assert encode({Loud(7): 1, Quiet(0.5): 2}) == {"7": 1, "0.5": 2}


@pytest.mark.parametrize("key", [(1, 2), frozenset(), b"raw", Decimal(1)])
def test_other_mapping_keys_are_a_type_error(key: object) -> None:
    with pytest.raises(TypeError) as caught:
        encode({"ok": {key: 1}})
    assert f"`{type(key).__module__}.{type(key).__qualname__}`" in str(caught.value)


def test_keys_that_encode_alike_are_a_type_error() -> None:
    with pytest.raises(TypeError, match="both recorded as `1`"):
        encode({1: "a", "1": "b"})


def test_other_mappings_are_objects() -> None:
    class Frozen(Mapping[str, int]):
        def __init__(self, data: dict[str, int]) -> None:
            self._data = data

        def __getitem__(self, key: str) -> int:
            return self._data[key]

        def __iter__(self) -> Iterator[str]:
            return iter(self._data)

        def __len__(self) -> int:
            return len(self._data)

    assert encode(Frozen({"a": 1})) == {"a": 1}
    assert encode(collections.OrderedDict(b=[1])) == {"b": [1]}
    assert encode(collections.defaultdict(int, c=2)) == {"c": 2}


def test_enum_is_its_value_encoded() -> None:
    assert encode(Color.RED) == "red"
    assert encode(Color.PAIR) == [1, 2]
    assert encode(Level.HIGH) == 3
    assert type(encode(Level.HIGH)) is int
    assert encode(heso.Verb.DELETE) == "delete"


def test_dates_and_times_are_isoformat() -> None:
    moment = dt.datetime(2026, 11, 24, 10, 2, 3, 500, tzinfo=dt.timezone.utc)
    assert encode(moment) == "2026-11-24T10:02:03.000500+00:00"
    assert encode(dt.datetime(2026, 1, 2, 3, 4)) == "2026-01-02T03:04:00"
    assert encode(dt.date(2026, 1, 2)) == "2026-01-02"
    assert encode(dt.time(23, 59, 1)) == "23:59:01"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (uuid.UUID(int=0x1234), "00000000-0000-0000-0000-000000001234"),
        (PurePosixPath("/srv/data/x.csv"), "/srv/data/x.csv"),
        (PureWindowsPath("C:/Users/a"), "C:\\Users\\a"),
        (ipaddress.ip_address("10.0.0.1"), "10.0.0.1"),
        (ipaddress.ip_address("::1"), "::1"),
        (ipaddress.ip_network("10.0.0.0/8"), "10.0.0.0/8"),
        (ipaddress.ip_interface("fe80::1/64"), "fe80::1/64"),
    ],
)
def test_uuid_paths_and_addresses_are_their_str(value: object, expected: str) -> None:
    assert encode(value) == expected


def test_model_dump_is_called_in_json_mode_and_encoded() -> None:
    calls: list[dict[str, Any]] = []

    class Model:
        def model_dump(self, **options: Any) -> dict[str, Any]:
            calls.append(options)
            return {"amount": Decimal("5.10"), "tags": {"b", "a"}}

    assert encode(Model()) == {"amount": "5.10", "tags": ["a", "b"]}
    assert calls == [{"mode": "json"}]


def test_real_pydantic_model() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Payment(pydantic.BaseModel):  # type: ignore[misc,name-defined]
        amount: Decimal
        when: dt.date

    assert encode(Payment(amount=Decimal("1.50"), when=dt.date(2026, 1, 1))) == {
        "amount": "1.50",
        "when": "2026-01-01",
    }


def test_dataclass_is_its_fields() -> None:
    @dataclasses.dataclass
    class Inner:
        note: bytes

    @dataclasses.dataclass(frozen=True)
    class Outer:
        amount: Decimal
        inner: Inner
        hidden: str = dataclasses.field(default="h", repr=False)

    assert encode(Outer(Decimal("2"), Inner(b"x"))) == {
        "amount": "2",
        "inner": {"note": {"$bytes": 1, "$blake3": blake3.blake3(b"x").hexdigest()}},
        "hidden": "h",
    }


def test_dataclass_class_itself_is_not_its_fields() -> None:
    @dataclasses.dataclass
    class Thing:
        x: int = 1

    assert encode(Thing) == "<builtins.type>"


def test_heso_encode_method() -> None:
    @dataclasses.dataclass
    class Card:
        number: str

        def __heso_encode__(self) -> object:
            return {"last4": self.number[-4:], "when": dt.date(2026, 1, 1)}

    # __heso_encode__ wins over the dataclass rule, and its result is encoded in turn.
    assert encode(Card("4111111111111111")) == {"last4": "1111", "when": "2026-01-01"}


def test_anything_else_is_its_type_name_never_its_repr() -> None:
    class Secretive:
        def __repr__(self) -> str:
            return "Secretive(api_key='sk-live-123')"

        __str__ = __repr__

    assert encode(Secretive()) == type_string(Secretive)
    assert encode(object()) == "<builtins.object>"
    assert encode(len) == "<builtins.builtin_function_or_method>"
    assert encode(dt.timedelta(1)) == "<datetime.timedelta>"
    assert encode(collections.deque([1])) == "<collections.deque>"


# --- register_encoder ------------------------------------------------------------------------


def test_registered_encoder_applies_to_subclasses() -> None:
    class Money:
        def __init__(self, cents: int) -> None:
            self.cents = cents

    class Euros(Money):
        pass

    register_encoder(Money, lambda money: {"cents": money.cents, "exact": Decimal("0.01")})
    assert encode(Money(5)) == {"cents": 5, "exact": "0.01"}
    assert encode([Euros(7)]) == [{"cents": 7, "exact": "0.01"}]


def test_nearest_registered_class_wins() -> None:
    class Base:
        pass

    class Child(Base):
        pass

    register_encoder(Base, lambda _: "base")
    register_encoder(Child, lambda _: "child")
    assert encode([Base(), Child()]) == ["base", "child"]


def test_registered_encoder_wins_over_built_in_rules() -> None:
    class Shade(enum.Enum):
        DARK = 1

    @dataclasses.dataclass
    class Point:
        x: int

    class Count(int):
        pass

    register_encoder(Shade, lambda shade: shade.name.lower())
    register_encoder(Point, lambda point: [point.x])
    register_encoder(Count, lambda count: f"count {int(count)}")
    assert encode([Shade.DARK, Point(3), Count(2)]) == ["dark", [3], "count 2"]


def test_registered_encoder_wins_over_heso_encode() -> None:
    class Both:
        def __heso_encode__(self) -> object:
            return "method"

    register_encoder(Both, lambda _: "registered")
    assert encode(Both()) == "registered"


def test_registering_again_replaces() -> None:
    class Thing:
        pass

    register_encoder(Thing, lambda _: 1)
    register_encoder(Thing, lambda _: 2)
    assert encode(Thing()) == 2


@pytest.mark.parametrize("cls", [object, int, str, float, bool, type(None), dict, list, tuple])
def test_json_types_cannot_be_registered(cls: type) -> None:
    with pytest.raises(ValueError, match="cannot register an encoder"):
        register_encoder(cls, lambda _: "x")


def test_register_encoder_checks_its_arguments() -> None:
    with pytest.raises(TypeError, match="needs a class"):
        register_encoder("Money", lambda _: 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not callable"):
        register_encoder(Decimal, "str")  # type: ignore[arg-type]


def test_register_encoder_is_public() -> None:
    assert heso.register_encoder is register_encoder


# --- depth, cycles, determinism, strict ------------------------------------------------------


def nested_lists(levels: int) -> list[Any]:
    value: Any = "leaf"
    for _ in range(levels):
        value = [value]
    return value  # type: ignore[no-any-return]


def innermost(value: Any) -> tuple[int, Any]:
    """How many arrays deep the first non-array value sits, and that value."""
    levels = 0
    while isinstance(value, list):
        value, levels = value[0], levels + 1
    return levels, value


def test_depth_limit() -> None:
    assert MAX_DEPTH == 64
    assert innermost(encode(nested_lists(MAX_DEPTH))) == (MAX_DEPTH, "leaf")
    assert innermost(encode(nested_lists(MAX_DEPTH + 1))) == (MAX_DEPTH, "<too deep>")
    assert innermost(encode(nested_lists(500))) == (MAX_DEPTH, "<too deep>")


def test_depth_counts_mappings_too() -> None:
    value: Any = "leaf"
    for _ in range(MAX_DEPTH):
        value = {"k": value}
    wrapped = encode([value])
    for _ in range(MAX_DEPTH - 1):
        wrapped = wrapped[0] if isinstance(wrapped, list) else wrapped["k"]
    assert wrapped == {"k": "<too deep>"}


def test_cycles() -> None:
    looping: list[Any] = [1]
    looping.append(looping)
    assert encode(looping) == [1, "<cycle>"]

    mapping: dict[str, Any] = {"a": 1}
    mapping["self"] = [mapping]
    assert encode(mapping) == {"a": 1, "self": ["<cycle>"]}

    @dataclasses.dataclass
    class Node:
        name: str
        parent: Any = None

    node = Node("root")
    node.parent = node
    assert encode(node) == {"name": "root", "parent": "<cycle>"}


def test_shared_values_are_not_cycles() -> None:
    shared = [1, {"x": 2}]
    assert encode({"a": shared, "b": shared, "c": (shared, shared)}) == {
        "a": [1, {"x": 2}],
        "b": [1, {"x": 2}],
        "c": [[1, {"x": 2}], [1, {"x": 2}]],
    }


def test_encoding_is_deterministic_and_json_ready() -> None:
    @dataclasses.dataclass
    class Order:
        id: uuid.UUID
        lines: list[dict[str, Any]]

    def build() -> dict[str, Any]:
        return {
            "order": Order(uuid.UUID(int=7), [{"sku": "a", "qty": Decimal("2")}]),
            "tags": {"x", "y", "z"},
            "raw": b"\x01",
            "when": dt.date(2026, 5, 1),
            "huge": 2**64,
            "ratio": math.inf,
        }

    first, second = encode(build()), encode(build())
    assert first == second
    text = json.dumps(first, allow_nan=False)
    assert json.dumps(json.loads(text), allow_nan=False) == text


def test_strict_refuses_the_fallback() -> None:
    class Opaque:
        pass

    with pytest.raises(TypeError, match=r"cannot record a `.*Opaque` faithfully"):
        encode({"x": [Opaque()]}, strict=True)


def test_strict_refuses_cycles_and_excess_depth() -> None:
    looping: list[Any] = []
    looping.append(looping)
    with pytest.raises(TypeError, match="contains itself"):
        encode(looping, strict=True)
    with pytest.raises(TypeError, match="nested more than 64 levels deep"):
        encode(nested_lists(MAX_DEPTH + 1), strict=True)


def test_strict_accepts_everything_the_table_covers() -> None:
    value = {
        "n": [1, 2.5, None, True, "s", 2**60, math.nan],
        "d": Decimal("1"),
        "b": b"x",
        "s": {1, 2},
        "e": Color.RED,
        "t": dt.date(2026, 1, 1),
        "p": PurePosixPath("/x"),
    }
    assert encode(value, strict=True) == encode(value)


# --- bind_fields -----------------------------------------------------------------------------


def test_bind_fields_names_each_parameter_and_applies_defaults() -> None:
    def transfer(amount: Decimal, to: str, memo: str = "none", *, urgent: bool = False) -> None:
        pass

    fields = bind_fields(inspect.signature(transfer), (Decimal("10.00"), "acme"), {})
    assert fields == {"amount": "10.00", "to": "acme", "memo": "none", "urgent": False}


def test_bind_fields_var_args_and_kwargs() -> None:
    def call(name: str, *items: int, **options: Any) -> None:
        pass

    fields = bind_fields(
        inspect.signature(call), ("x", 1, 2), {"retries": 3, "when": dt.date(2026, 1, 1)}
    )
    assert fields == {"name": "x", "items": [1, 2], "retries": 3, "when": "2026-01-01"}
    assert bind_fields(inspect.signature(call), ("x",), {}) == {"name": "x", "items": []}


def test_bind_fields_skips_a_first_self_or_cls() -> None:
    def method(self: object, value: int) -> None:
        pass

    def class_method(cls: type, value: int) -> None:
        pass

    def not_first(value: int, self: object) -> None:
        pass

    assert bind_fields(inspect.signature(method), (object(), 1), {}) == {"value": 1}
    assert bind_fields(inspect.signature(class_method), (int, 2), {}) == {"value": 2}
    assert bind_fields(inspect.signature(not_first), (3, "me"), {}) == {"value": 3, "self": "me"}


def test_bind_fields_binding_error_is_pythons_own() -> None:
    def needs(a: int, b: int) -> None:
        pass

    signature = inspect.signature(needs)
    with pytest.raises(TypeError) as expected:
        signature.bind(1)
    with pytest.raises(TypeError) as caught:
        bind_fields(signature, (1,), {})
    assert str(caught.value) == str(expected.value)
    with pytest.raises(TypeError, match="unexpected keyword argument 'c'"):
        bind_fields(signature, (1, 2), {"c": 3})


def test_bind_fields_refuses_a_keyword_that_shadows_a_field() -> None:
    def positional_only(a: int, /, **options: int) -> None:
        pass

    with pytest.raises(TypeError, match="keyword argument `a`"):
        bind_fields(inspect.signature(positional_only), (1,), {"a": 2})


def test_bind_fields_propagates_key_errors_of_arguments() -> None:
    def take(mapping: dict[Any, int]) -> None:
        pass

    with pytest.raises(TypeError, match=r"builtins\.tuple"):
        bind_fields(inspect.signature(take), ({(1, 2): 3},), {})


# --- target_host_of --------------------------------------------------------------------------


def test_fixed_target_host() -> None:
    assert target_host_of({"url": "https://other.example/"}, "api.example.com") == "api.example.com"


def test_callable_target_host_receives_the_raw_arguments() -> None:
    seen: list[Mapping[str, Any]] = []

    def pick(arguments: Mapping[str, Any]) -> str | None:
        seen.append(arguments)
        return "bank.example" if arguments["amount"] > Decimal(100) else None

    bound = {"amount": Decimal("250.00")}
    assert target_host_of(bound, pick) == "bank.example"
    assert seen == [bound]
    assert type(seen[0]["amount"]) is Decimal
    assert target_host_of({"amount": Decimal(1)}, pick) is None


def test_callable_target_host_must_return_a_string_or_none() -> None:
    with pytest.raises(TypeError, match=r"target_host returned a `builtins\.int`"):
        target_host_of({}, lambda _: 42)  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize(
    ("bound", "expected"),
    [
        ({"url": "https://API.Example.com:8443/v1?q=1"}, "api.example.com"),
        ({"url": "http://user:pw@10.0.0.1/x"}, "10.0.0.1"),
        ({"url": "http://[::1]:8080/"}, "::1"),
        ({"url": "https://a.example/", "host": "b.example"}, "a.example"),
        ({"url": "no-scheme.example/path", "host": "b.example"}, "b.example"),
        ({"url": "http://[::1/broken"}, None),
        ({"url": b"https://bytes.example/"}, None),
        ({"host": "db.internal"}, "db.internal"),
        ({"host": ""}, None),
        ({"host": 5432}, None),
        ({"hostname": "x.example", "endpoint": "https://y.example"}, None),
        ({}, None),
    ],
)
def test_target_host_from_url_or_host(bound: dict[str, Any], expected: str | None) -> None:
    assert target_host_of(bound, None) == expected
