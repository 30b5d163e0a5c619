"""Holders are one frozen type per kind: every kind has its type, and a holder cannot be changed
once the analysis has made it."""

from __future__ import annotations

import dataclasses

import pytest

from loopcheck.analysis.holders import Held, Holder
from tests.test_analysis import HOLDERS, analyse, holder_at


def concrete_types(cls: type[Holder]) -> list[type[Holder]]:
    found = []
    for sub in cls.__subclasses__():
        found.extend([sub] if "kind" in vars(sub) else [])
        found.extend(concrete_types(sub))
    return found


def test_every_kind_of_holder_has_a_type():
    assert {t.kind for t in concrete_types(Holder)} == set(Held)


def test_a_holder_cannot_be_changed():
    holder = holder_at(analyse(HOLDERS), 4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        holder.name = "other"
