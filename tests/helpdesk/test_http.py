"""About internals: how a helpdesk's answer is read (``resolvekit.helpdesk._http``)."""

from __future__ import annotations

import pytest

from resolvekit.helpdesk import _http


def test_retry_after_as_a_date() -> None:
    assert _http.retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert _http.retry_after_seconds("120") == 120.0
    assert _http.retry_after_seconds("soon") is None and _http.retry_after_seconds(None) is None


@pytest.mark.parametrize(
    ("status", "kind"),
    [(500, _http.Transient), (503, _http.Transient), (429, _http.Transient),
     (409, _http.Transient), (408, _http.Transient), (400, _http.Permanent),
     (401, _http.Permanent), (422, _http.Permanent)],
)  # fmt: skip
def test_status_classes(status: int, kind: type[Exception]) -> None:
    with pytest.raises(kind):
        _http.check(status, {"retry-after": "3"}, "body", "test")
    _http.check(204, {}, "", "test")  # a 2xx is an acknowledgement
