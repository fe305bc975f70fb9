"""JSON for the E2 value types: a reflection-driven mapping from the codecs' dataclasses to JSON and back.

Theory of operation
-------------------
``to_json(value, tp)`` turns a value of type ``tp`` into plain JSON data (dicts, lists, str, int, float, bool,
None) and ``from_json(tp, data)`` validates such data and builds the value again, so that
``from_json(T, to_json(v, T)) == v`` for every value the codecs produce. Nothing is written per type: the
mapping reads the dataclass fields and their type hints (``typing.get_type_hints``) and builds, once per type,
a *plan* (a small object with a ``dump`` and a ``load`` method) that it caches; recursive types (RC RAN
parameter trees) reuse the plan being built.

The rules:

- a dataclass is an object with one member per field, in field order; a field whose value is None is left out,
  and on input a missing field takes its default (a field without a default is required); unknown members are
  refused;
- ``int``, ``bool`` and ``str`` are themselves; ``bytes`` (OCTET STRING) is a lower-case hex string (upper case
  is accepted on input);
- ``float`` keeps its type: it is written as a JSON number with a fraction or exponent (``1.0``), and the
  non-finite values as the strings ``"inf"``, ``"-inf"`` and ``"nan"``; an integer is accepted where only a
  float is allowed;
- an ``IntEnum`` (ENUMERATED) is its member name (``"REPORT"``); another ``Enum`` with string values is its value,
  which for :class:`~ricsdk.e2.kpm.Missing` is the spec name (``"noValue"``, ``"notSatisfied"``);
- a ``tuple[X, ...]`` (SEQUENCE OF) is a list;
- :class:`~ricsdk.e2.per.BitString` is the dataclass it is: ``{"value": n, "length": k}``;
- a union (a CHOICE) is written in the form of the alternative the value has. Alternatives must be told apart
  by the JSON alone, so: when several alternatives are dataclasses, each is wrapped in an object naming its
  class (``{"RicIndication": {...}}``); when the union also admits ``str``, ``bytes`` become ``{"hex": "..."}``,
  non-finite floats ``{"float": "inf"}`` and enum members ``{"<EnumName>": "<member>"}``; ``true``/``false``
  select a ``bool`` alternative, a number without fraction ``int`` before ``float``, ``null`` None.

``from_json`` raises :class:`~ricsdk.errors.ConfigError` whose ``field`` is the JSON path of the offending
element (``$.message.RicIndication.request_id.instance_id``, list items as ``[i]``) for anything wrong: a wrong
JSON type, an unknown member or enum name, a missing field, bad hex, and values the dataclass constructors refuse
(their :class:`~ricsdk.errors.E2ValueError` is chained, and its field is appended to the path when it names one).
A type the rules cannot map (a union whose alternatives the JSON could not tell apart, an annotation that is not
one of the above) raises ``TypeError`` when its plan is built: that is a programming error, not bad input.
"""

from __future__ import annotations

import abc
import dataclasses
import math
import re
import types
import typing
from collections.abc import Callable
from enum import Enum, IntEnum
from typing import Any, Final, TypeAlias, TypeVar, overload

from ricsdk.errors import ConfigError, E2ValueError

__all__ = ["JsonValue", "from_json", "to_json"]

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"

T = TypeVar("T")

_HEX: Final = re.compile(r"(?:[0-9a-fA-F]{2})*")
_FLOAT_NAMES: Final[dict[str, float]] = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _fail(path: str, message: str) -> ConfigError:
    return ConfigError(message, field=path)


def _kind(data: object) -> str:
    """The JSON name of a Python value's type, for error messages."""
    if data is None:
        return "null"
    if isinstance(data, bool):
        return "a boolean"
    if isinstance(data, int):
        return "an integer"
    if isinstance(data, float):
        return "a number"
    if isinstance(data, str):
        return "a string"
    if isinstance(data, list):
        return "an array"
    if isinstance(data, dict):
        return "an object"
    return type(data).__name__


# -- plans ------------------------------------------------------------------------------------------------


class _Plan(abc.ABC):
    """How one type maps to JSON. ``expects`` describes its JSON form for error messages."""

    __slots__ = ("expects",)

    def __init__(self, expects: str) -> None:
        self.expects = expects

    @abc.abstractmethod
    def dump(self, value: Any) -> JsonValue:
        """``value`` as JSON."""

    @abc.abstractmethod
    def load(self, data: object, path: str) -> Any:
        """The value ``data`` (found at ``path``) stands for; ConfigError naming ``path`` when it cannot."""

    def wrong(self, data: object, path: str) -> ConfigError:
        return _fail(path, f"expected {self.expects}, got {_kind(data)}")


class _IntPlan(_Plan):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("an integer")

    def dump(self, value: Any) -> JsonValue:
        return int(value)

    def load(self, data: object, path: str) -> Any:
        if type(data) is not int:
            raise self.wrong(data, path)
        return data


class _BoolPlan(_Plan):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("true or false")

    def dump(self, value: Any) -> JsonValue:
        return bool(value)

    def load(self, data: object, path: str) -> Any:
        if type(data) is not bool:
            raise self.wrong(data, path)
        return data


class _StrPlan(_Plan):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("a string")

    def dump(self, value: Any) -> JsonValue:
        return str(value)

    def load(self, data: object, path: str) -> Any:
        if type(data) is not str:
            raise self.wrong(data, path)
        return data


class _FloatPlan(_Plan):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__('a number or "inf", "-inf", "nan"')

    def dump(self, value: Any) -> JsonValue:
        v = float(value)
        if math.isfinite(v):
            return v
        return "nan" if v != v else ("inf" if v > 0 else "-inf")

    def load(self, data: object, path: str) -> Any:
        if isinstance(data, float) and not isinstance(data, bool):
            return data
        if isinstance(data, int) and not isinstance(data, bool):
            return float(data)
        if isinstance(data, str):
            special = _FLOAT_NAMES.get(data)
            if special is not None:
                return special
        raise self.wrong(data, path)


class _BytesPlan(_Plan):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("a hex string")

    def dump(self, value: Any) -> JsonValue:
        return bytes(value).hex()

    def load(self, data: object, path: str) -> Any:
        if type(data) is not str:
            raise self.wrong(data, path)
        if _HEX.fullmatch(data) is None:
            raise _fail(path, f"expected an even number of hex digits, got {data[:40]!r}")
        return bytes.fromhex(data)

    @staticmethod
    def matches(data: str) -> bool:
        return _HEX.fullmatch(data) is not None


class _EnumPlan(_Plan):
    """IntEnum members by name; other enums with string values by value."""

    __slots__ = ("cls", "by_value", "members")

    def __init__(self, cls: type[Enum]) -> None:
        self.cls = cls
        self.by_value = not issubclass(cls, IntEnum) and all(isinstance(m.value, str) for m in cls)
        self.members: dict[str, Enum] = {(m.value if self.by_value else m.name): m for m in cls}
        super().__init__("one of " + ", ".join(repr(n) for n in self.members))

    def dump(self, value: Any) -> JsonValue:
        out: str = value.value if self.by_value else value.name
        return out

    def load(self, data: object, path: str) -> Any:
        if type(data) is not str:
            raise self.wrong(data, path)
        member = self.members.get(data)
        if member is None:
            raise _fail(path, f"{data!r} is not a {self.cls.__name__}: expected {self.expects}")
        return member


class _NonePlan(_Plan):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("null")

    def dump(self, value: Any) -> JsonValue:
        return None

    def load(self, data: object, path: str) -> Any:
        if data is not None:
            raise self.wrong(data, path)
        return None


class _TuplePlan(_Plan):
    __slots__ = ("item",)

    def __init__(self, item: _Plan) -> None:
        super().__init__("an array")
        self.item = item

    def dump(self, value: Any) -> JsonValue:
        dump = self.item.dump
        return [dump(x) for x in value]

    def load(self, data: object, path: str) -> Any:
        if type(data) is not list:
            raise self.wrong(data, path)
        load = self.item.load
        return tuple(load(x, f"{path}[{i}]") for i, x in enumerate(data))


class _Field:
    __slots__ = ("name", "plan", "required", "nullable")

    def __init__(self, name: str, plan: _Plan, required: bool, nullable: bool) -> None:
        self.name = name
        self.plan = plan
        self.required = required
        self.nullable = nullable


class _DataclassPlan(_Plan):
    """A dataclass as an object; fields are filled in after the plan is cached, so recursive types work."""

    __slots__ = ("cls", "fields", "names", "dumpers")

    def __init__(self, cls: type[Any]) -> None:
        super().__init__(f"an object ({cls.__name__})")
        self.cls = cls
        self.fields: tuple[_Field, ...] = ()
        self.names: frozenset[str] = frozenset()
        self.dumpers: tuple[tuple[str, Callable[[Any], JsonValue]], ...] = ()

    def build(self) -> None:
        hints = typing.get_type_hints(self.cls)
        fields = []
        for f in dataclasses.fields(self.cls):
            if not f.init:
                continue
            tp = hints[f.name]
            members = _union_members(tp)
            nullable = members is not None and type(None) in members
            if nullable:
                assert members is not None
                rest = tuple(m for m in members if m is not type(None))
                plan = _plan_for(rest[0]) if len(rest) == 1 else _union_plan(rest)
            else:
                plan = _plan_for(tp)
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            fields.append(_Field(f.name, plan, required, nullable))
        self.fields = tuple(fields)
        self.names = frozenset(f.name for f in fields)
        self.dumpers = tuple((f.name, f.plan.dump) for f in fields)

    def dump(self, value: Any) -> JsonValue:
        out: dict[str, JsonValue] = {}
        for name, dump in self.dumpers:
            v = getattr(value, name)
            if v is not None:
                out[name] = dump(v)
        return out

    def load(self, data: object, path: str) -> Any:
        if type(data) is not dict:
            raise self.wrong(data, path)
        unknown = [k for k in data if k not in self.names]
        if unknown:
            expected = ", ".join(f.name for f in self.fields)
            raise _fail(f"{path}.{unknown[0]}", f"unknown member of {self.cls.__name__} (expected {expected})")
        kwargs: dict[str, Any] = {}
        for f in self.fields:
            if f.name in data:
                v = data[f.name]
                if v is None and f.nullable:
                    kwargs[f.name] = None
                else:
                    kwargs[f.name] = f.plan.load(v, f"{path}.{f.name}")
            elif f.required:
                raise _fail(f"{path}.{f.name}", f"missing member of {self.cls.__name__}")
        try:
            return self.cls(**kwargs)
        except E2ValueError as exc:
            text = str(exc)
            if exc.field not in self.names:
                raise _fail(path, f"invalid {self.cls.__name__}: {text}") from exc
            text = text.removeprefix(f"{exc.field}: ")
            raise _fail(f"{path}.{exc.field}", f"invalid {self.cls.__name__}: {text}") from exc


class _Wrapped(_Plan):
    """An alternative written as ``{key: <inner form>}`` inside a union."""

    __slots__ = ("key", "inner")

    def __init__(self, key: str, inner: _Plan) -> None:
        super().__init__(f'{{"{key}": {inner.expects}}}')
        self.key = key
        self.inner = inner

    def dump(self, value: Any) -> JsonValue:
        return {self.key: self.inner.dump(value)}

    def load(self, data: object, path: str) -> Any:
        assert type(data) is dict and len(data) == 1
        return self.inner.load(data[self.key], f"{path}.{self.key}")


class _WrappedFloat(_Plan):
    """A float alternative of a union that also admits ``str``: non-finite values as ``{"float": "inf"}``."""

    __slots__ = ("inner",)

    def __init__(self) -> None:
        super().__init__('a number or {"float": "inf" | "-inf" | "nan"}')
        self.inner = _FloatPlan()

    def dump(self, value: Any) -> JsonValue:
        v = self.inner.dump(value)
        return {"float": v} if type(v) is str else v

    def load(self, data: object, path: str) -> Any:
        if isinstance(data, dict):
            return self.inner.load(data.get("float"), f"{path}.float")
        return self.inner.load(data, path)


class _UnionPlan(_Plan):
    """A union: dumped by the runtime type of the value, loaded by the JSON type of the data."""

    __slots__ = (
        "by_type",
        "nullable",
        "bool_plan",
        "int_plan",
        "float_plan",
        "str_plan",
        "list_plan",
        "str_forms",
        "keyed",
        "untagged",
    )

    def __init__(self, members: tuple[Any, ...]) -> None:
        self.by_type: dict[type, _Plan] = {}
        self.nullable = False
        self.bool_plan: _Plan | None = None
        self.int_plan: _Plan | None = None
        self.float_plan: _Plan | None = None
        self.str_plan: _Plan | None = None
        self.list_plan: _Plan | None = None
        self.str_forms: list[_Plan] = []  # plain-string alternatives other than str: tried in order
        self.keyed: dict[str, _Plan] = {}  # single-key object alternatives
        self.untagged: _Plan | None = None  # the one dataclass alternative, when there is only one
        untagged_cls: type[Any] | None = None
        has_str = str in members
        classes: list[type[Any]] = [m for m in members if isinstance(m, type) and dataclasses.is_dataclass(m)]
        names = [c.__name__ for c in classes]
        if len(set(names)) != len(names):
            raise TypeError(f"union alternatives with the same class name: {names}")
        expects = []
        for m in members:
            plan: _Plan
            if m is type(None):
                self.nullable = True
                expects.append("null")
                continue
            if m is bool:
                plan = self.bool_plan = _plan_for(m)
            elif m is int:
                plan = self.int_plan = _plan_for(m)
            elif m is float:
                plan = self.float_plan = _WrappedFloat() if has_str else _plan_for(m)
                if not has_str:
                    self.str_forms.append(plan)
                else:
                    self.keyed["float"] = plan
            elif m is str:
                plan = self.str_plan = _plan_for(m)
            elif m is bytes:
                if has_str:
                    plan = _Wrapped("hex", _plan_for(m))
                    self.keyed["hex"] = plan
                else:
                    plan = _plan_for(m)
                    self.str_forms.append(plan)
            elif isinstance(m, type) and issubclass(m, Enum):
                if has_str:
                    plan = _Wrapped(m.__name__, _plan_for(m))
                    self.keyed[m.__name__] = plan
                else:
                    plan = _plan_for(m)
                    self.str_forms.append(plan)
            elif dataclasses.is_dataclass(m):
                assert isinstance(m, type)
                if len(classes) > 1:
                    self.by_type[m] = self.keyed[m.__name__] = _Wrapped(m.__name__, _plan_for(m))
                    continue
                plan = self.untagged = _plan_for(m)
                untagged_cls = m
            elif typing.get_origin(m) is tuple:
                if self.list_plan is not None:
                    raise TypeError(f"union with two tuple alternatives: {members}")
                plan = self.list_plan = _plan_for(m)
                self.by_type[tuple] = plan
                expects.append(plan.expects)
                continue
            else:
                raise TypeError(f"no JSON mapping for union alternative {m!r}")
            self.by_type[m] = plan
            expects.append(plan.expects)
        if len(classes) > 1:
            expects.append('{"<alternative>": {...}} with <alternative> one of ' + ", ".join(names))
        self._check_strings(members)
        if untagged_cls is not None and self.keyed:
            clash = set(self.keyed) & {f.name for f in dataclasses.fields(untagged_cls)}
            if clash:
                raise TypeError(f"union {members}: dataclass fields {clash} clash with wrapper keys")
        super().__init__(" or ".join(expects))

    def _check_strings(self, members: tuple[Any, ...]) -> None:
        """Plain-string alternatives must not be able to read the same string."""
        seen: set[str] = set()
        has_bytes = False
        for p in self.str_forms:
            if isinstance(p, _EnumPlan):
                names = set(p.members)
            elif isinstance(p, _FloatPlan):
                names = set(_FLOAT_NAMES)
            else:
                has_bytes = True
                continue
            if seen & names:
                raise TypeError(f"union {members}: ambiguous string forms {seen & names}")
            seen |= names
        if has_bytes and any(_BytesPlan.matches(n) for n in seen):
            raise TypeError(f"union {members}: a string form reads as hex")

    def dump(self, value: Any) -> JsonValue:
        if value is None and self.nullable:
            return None
        plan = self.by_type.get(type(value))
        if plan is None:
            for t, p in self.by_type.items():
                if isinstance(value, t):
                    plan = p
                    break
            else:
                raise TypeError(f"{type(value).__name__} value does not fit {self.expects}")
        return plan.dump(value)

    def load(self, data: object, path: str) -> Any:
        plan: _Plan | None = None
        if data is None:
            if self.nullable:
                return None
        elif isinstance(data, bool):
            plan = self.bool_plan
        elif isinstance(data, int):
            plan = self.int_plan or self.float_plan
        elif isinstance(data, float):
            plan = self.float_plan
        elif isinstance(data, str):
            if self.str_plan is not None:
                return data
            plan = next((p for p in self.str_forms if _reads_string(p, data)), None)
        elif isinstance(data, list):
            plan = self.list_plan
        elif isinstance(data, dict):
            if len(data) == 1:
                plan = self.keyed.get(next(iter(data)))
            if plan is None:
                plan = self.untagged
                if plan is None and self.keyed:
                    keys = ", ".join(self.keyed)
                    raise _fail(path, f"expected an object with exactly one member named {keys}")
        if plan is None:
            raise self.wrong(data, path)
        return plan.load(data, path)


def _reads_string(plan: _Plan, data: str) -> bool:
    if isinstance(plan, _EnumPlan):
        return data in plan.members
    if isinstance(plan, _FloatPlan):
        return data in _FLOAT_NAMES
    return _BytesPlan.matches(data)


# -- plan cache ---------------------------------------------------------------------------------------------

_PLANS: dict[object, _Plan] = {}
_LEAVES: Final[dict[type, Callable[[], _Plan]]] = {
    int: _IntPlan,
    bool: _BoolPlan,
    str: _StrPlan,
    float: _FloatPlan,
    bytes: _BytesPlan,
    type(None): _NonePlan,
}


def _union_members(tp: object) -> tuple[Any, ...] | None:
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        return typing.get_args(tp)
    return None


def _union_plan(members: tuple[Any, ...]) -> _Plan:
    key = ("union", members)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _UnionPlan(members)
    return plan


def _plan_for(tp: object) -> _Plan:
    plan = _PLANS.get(tp)
    if plan is not None:
        return plan
    members = _union_members(tp)
    if members is not None:
        plan = _union_plan(members)
    elif isinstance(tp, type) and tp in _LEAVES:
        plan = _LEAVES[tp]()
    elif isinstance(tp, type) and issubclass(tp, Enum):
        plan = _EnumPlan(tp)
    elif isinstance(tp, type) and dataclasses.is_dataclass(tp):
        dc = _DataclassPlan(tp)
        _PLANS[tp] = dc
        try:
            dc.build()
        except BaseException:
            del _PLANS[tp]
            raise
        return dc
    elif typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"only homogeneous tuples (tuple[X, ...]) map to JSON, not {tp!r}")
        plan = _TuplePlan(_plan_for(args[0]))
    else:
        raise TypeError(f"no JSON mapping for {tp!r}")
    _PLANS[tp] = plan
    return plan


# -- public API ----------------------------------------------------------------------------------------------


def to_json(value: object, tp: object = None) -> JsonValue:
    """``value`` as JSON data, following the rules of ``tp`` (default: the value's own class).

    Pass ``tp`` when the value sits in a union, e.g. ``to_json(msg, E2apMessage)`` gives
    ``{"RicIndication": {...}}``.
    """
    return _plan_for(type(value) if tp is None else tp).dump(value)


@overload
def from_json(tp: type[T], data: object, path: str = "$") -> T: ...


@overload
def from_json(tp: object, data: object, path: str = "$") -> Any: ...


def from_json(tp: object, data: object, path: str = "$") -> Any:
    """Validate JSON ``data`` and build the value of type ``tp`` it describes.

    ``path`` names where ``data`` sits in a larger document; every :class:`~ricsdk.errors.ConfigError`
    carries the path of the offending element in its ``field``.
    """
    return _plan_for(tp).load(data, path)
