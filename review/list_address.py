"""A candidate list's selection as addresses state it: parsed from a request, and written
back into links and form actions, so that filters, order and position go with the coordinator
from the list to a candidate, through decisions, and back."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from pydantic import ValidationError

from schemas.review import CandidateQuery

#: Where a page is on the list: not part of the selection itself.
_POSITION = {"page", "after", "before", "check"}


def list_query(request: Request) -> CandidateQuery:
    """The selection (filters, order, position) in the request's address; 400 if invalid."""
    try:
        return CandidateQuery.model_validate(dict(request.query_params))
    except ValidationError as problem:
        where = ", ".join(str(e["loc"][0]) for e in problem.errors() if e["loc"])
        raise HTTPException(400, f"These filters are not valid: {where}.") from None


def selection_address(query: CandidateQuery, *without: str) -> str:
    """The selection's filters and order as a query string (no position, none of
    ``without``): the same selection, wherever it is appended."""
    values = query.model_dump(mode="json", exclude_defaults=True, exclude=_POSITION)
    return urlencode({k: _said(v) for k, v in values.items() if k not in without})


def _said(value: object) -> object:
    return str(value).lower() if isinstance(value, bool) else value


def with_address(path: str, address: str, **more: str | int) -> str:
    """``path`` with the selection ``address`` and ``more`` parameters."""
    extra = urlencode(more)
    joined = "&".join(part for part in (address, extra) if part)
    return f"{path}?{joined}" if joined else path


def pager_link(
    base: str, address: str, secret: str, page: int, *, after: str = "", before: str = ""
) -> str:
    """A Next or Previous link: the page's number next to that candidate, signed with the
    session's ``secret`` so that the page it leads to need not count its way there."""
    cursor = {"after": after} if after else {"before": before}
    return with_address(
        base, address, page=page, **cursor, check=_signed(secret, address, page, after, before)
    )


def vouched(query: CandidateQuery, secret: str) -> bool:
    """Whether the app itself signed the page number in ``query`` (for this session and
    selection): a link edited or made elsewhere is not, and its number is worked out."""
    if query.check is None or not (query.after or query.before):
        return False
    expected = _signed(
        secret, selection_address(query), query.page, query.after or "", query.before or ""
    )
    return hmac.compare_digest(expected, query.check)


def _signed(secret: str, address: str, page: int, after: str, before: str) -> str:
    message = f"{address}|{page}|{after}|{before}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:16]
