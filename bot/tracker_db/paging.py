"""One page of a long list (the inbox, hand-offs, the NLU inbox), and which page to show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

T = TypeVar("T")


def clamp_page(requested: int, total: int, size: int) -> int:
    """`requested`, kept between the first and the last page (an empty list has page 1)."""
    return min(max(1, requested), max(1, -(-total // size)))


def select_page(
    connection: Connection, matching: Any, order_by: tuple[Any, ...], page: int, size: int
) -> tuple[list[Row], int, int]:
    """(the rows of page `page` of the subquery `matching` in `order_by` order, that page's
    number once kept within range, the number of rows in all)."""
    total = connection.execute(sa.select(sa.func.count()).select_from(matching)).scalar() or 0
    page = clamp_page(page, total, size)
    rows = connection.execute(
        sa.select(matching).order_by(*order_by).limit(size).offset((page - 1) * size)
    ).all()
    return list(rows), page, total


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages
