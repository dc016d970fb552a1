"""Seeded random choices for the company generator: the same seed gives the same sequence of choices."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


class Dice:
    """Seeded random choices, a little faster than random.Random's own (this runs millions of times)."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed).random

    def chance(self, probability: float) -> bool:
        return self._random() < probability

    def number(self, low: int, high: int) -> int:
        return low + int(self._random() * (high - low + 1))

    def pick(self, values: Sequence[T]) -> T:
        return values[int(self._random() * len(values))]

    def sample(self, values: Sequence[T], count: int) -> list[T]:
        """`count` distinct values (or all of them), in random order."""
        if count >= len(values):
            return list(values)
        chosen: dict[int, None] = {}
        while len(chosen) < count:
            chosen[int(self._random() * len(values))] = None
        return [values[index] for index in chosen]

    def shuffle(self, values: list[T]) -> None:
        random.Random(self._random()).shuffle(values)
