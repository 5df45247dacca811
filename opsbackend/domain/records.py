"""Small helpers every resource uses: fetch by id, apply changes, paginate."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from opsbackend.domain.errors import Invalid, NotFound


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    page_size: int


def get_or_404(session: Session, model, record_id: int, *, for_update: bool = False):
    record = session.scalars(_by_id(model, for_update), {"record_id": record_id}).first()
    if record is None:
        raise NotFound(f"{_label(model)} {record_id} does not exist")
    return record


@cache
def _by_id(model, for_update: bool):
    """Built once per model and lock: building a select and its cache key costs about
    0.1 ms, and most requests fetch by id; a statement built once keeps its cache key."""
    stmt = select(model).where(model.id == bindparam("record_id"))
    if for_update:
        # The row as it is once locked, even if this session loaded it before the lock.
        # FOR NO KEY UPDATE (key_share): writers of rows that only reference this one
        # (an alert naming the course, in the scheduler's transaction) do not hold us up.
        stmt = stmt.with_for_update(key_share=True).execution_options(populate_existing=True)
    return stmt


def require_reference(session: Session, model, record_id: int | None, field: str) -> None:
    """A foreign key given in a request must point at a record (422 naming the field)."""
    if record_id is not None and session.get(model, record_id) is None:
        raise Invalid(f"{_label(model)} {record_id} does not exist", field=field)


@contextmanager
def explained_refusal(session: Session, explain: Callable[[], None]) -> Iterator[None]:
    """Write first, ask why only when the database refuses.

    The foreign keys and unique constraints are what guarantee the data, even between
    two writers racing. When one refuses the block, the transaction is rolled back
    (nothing half-written stays) and ``explain()`` runs the checks that raise the
    error naming the field; the checks cost queries only when something is wrong.
    """
    try:
        yield
    except IntegrityError:
        session.rollback()
        explain()
        raise


def apply_changes(record, changes: dict) -> None:
    for name, value in changes.items():
        setattr(record, name, value)


def paginate(session: Session, stmt, page: int, page_size: int) -> Page:
    offset = (page - 1) * page_size
    items = list(session.scalars(stmt.limit(page_size).offset(offset)).all())
    if (items and len(items) < page_size) or (page == 1 and not items):
        total = offset + len(items)  # the last page: no count query needed
    else:
        total = session.scalar(select(func.count()).select_from(
            stmt.order_by(None).subquery())) or 0
    return Page(items=items, total=total, page=page, page_size=page_size)


def _label(model) -> str:
    return model.__tablename__.replace("_", " ").capitalize()
