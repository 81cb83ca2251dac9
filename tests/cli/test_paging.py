"""The CLI's paging over the API's lists: every item, or the newest n reading only their pages."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ordinis.engines.learning.cli.commands import _all, _newest


class PagedList:
    """A list served as the API serves it (limit <= 1000, offset, total, next_offset)."""

    def __init__(self, n: int) -> None:
        self.items = [{"i": i} for i in range(n)]
        self.offsets: list[int] = []

    def get(self, path: str, /, limit: int, offset: int, **params: Any) -> dict[str, Any]:
        assert 1 <= limit <= 1000
        self.offsets.append(offset)
        chunk = self.items[offset: offset + limit]
        nxt = offset + limit if offset + limit < len(self.items) else None
        return {"items": chunk, "total": len(self.items), "limit": limit, "offset": offset,
                "next_offset": nxt}


@given(total=st.integers(0, 3500), n=st.integers(1, 4000))
def test_newest_is_the_tail_of_every_item(total: int, n: int) -> None:
    served = PagedList(total)
    newest = _newest(served, "/v1/x", n)  # type: ignore[arg-type]
    assert newest == _all(PagedList(total), "/v1/x")[-n:]  # type: ignore[arg-type]
    # one call for the total, then only the pages that hold the newest n
    assert len(served.offsets) == 1 + -(-min(n, total) // 1000)


def test_the_newest_two_of_2500_read_one_page_not_three() -> None:
    served = PagedList(2500)
    assert _newest(served, "/v1/x", 2) == [{"i": 2498}, {"i": 2499}]  # type: ignore[arg-type]
    assert served.offsets == [0, 2498]
