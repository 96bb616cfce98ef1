"""Every domain event survives the event log: what is stored is what comes back, and nothing else does."""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest

from bot import domain
from bot.domain import EVENT_TYPES, UnknownEvent, decode

_SAMPLES: dict[type, object] = {int: 42, str: "x", bool: True}


def _sample(cls: type[domain.DomainEvent]) -> domain.DomainEvent:
    """An instance with every field set to a non-default value of its type."""
    hints = typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        kinds = typing.get_args(hints[field.name]) or (hints[field.name],)
        kind = next(k for k in kinds if k is not type(None))
        values[field.name] = _SAMPLES[kind]
    return cls(**values)


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_every_kind_round_trips_through_its_stored_json(kind: str) -> None:
    event = _sample(EVENT_TYPES[kind])
    stored = json.loads(json.dumps(event.payload()))
    assert decode(kind, stored) == event
    assert kind == type(event).KIND


def test_kinds_are_unique_and_every_concrete_event_is_registered() -> None:
    concrete = {
        cls
        for cls in vars(domain).values()
        if isinstance(cls, type) and issubclass(cls, domain.DomainEvent) and cls.__dict__.get("KIND")
    }
    assert concrete == set(EVENT_TYPES.values())


def test_an_unknown_kind_is_an_error_not_a_silent_skip() -> None:
    with pytest.raises(UnknownEvent, match=r"pr\.teleported"):
        decode("pr.teleported", {"repo": "a/b", "number": 1})


def test_keys_an_older_row_carries_are_ignored() -> None:
    event = decode("star.created", {**_sample(domain.Starred).payload(), "legacy": 1})
    assert isinstance(event, domain.Starred)
