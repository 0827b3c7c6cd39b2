"""What ``PANEL_SMTP_URL`` says, read in one place: the settings check the send lease against its
timeout, and ``outreach.channels.SmtpChannel`` connects with it.

``scheme://[user:password@]host[:port][?cafile=/path/ca.pem&timeout=SECONDS]``:

* ``smtp://`` plain SMTP, port 25 by default;
* ``smtp+starttls://`` STARTTLS required (never falls back to plain text), port 587;
* ``smtps://`` TLS from the first byte, port 465.

User and password are percent-decoded (percent-encode ``@ : / ? #`` in them). No error text
ever holds the password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from configuration.errors import SmtpUrlError

#: Seconds to wait for the server at each step of a send, unless the URL says otherwise.
DEFAULT_TIMEOUT = 30.0
SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
_QUERY_KEYS = {"cafile", "timeout"}


@dataclass(frozen=True)
class SmtpUrl:
    scheme: str
    host: str
    port: int
    user: str | None
    password: str | None = field(repr=False)
    timeout: float
    timeout_in_url: bool
    cafile: str | None


def parse_smtp_url(url: str, timeout: float = DEFAULT_TIMEOUT) -> SmtpUrl:
    """The parts of ``url``; a ``timeout`` in the URL takes precedence over ``timeout``.
    Raises ``SmtpUrlError`` (a ``ValueError``) naming the problem (never the password)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        known = ", ".join(f"{name}://" for name in SCHEMES)
        raise SmtpUrlError(f"SMTP URL: unknown scheme {scheme or '(none)'!r}; use {known}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise SmtpUrlError("SMTP URL: the port is not a number from 1 to 65535") from None
    if not host:
        raise SmtpUrlError("SMTP URL: no host name")
    if parts.path not in ("", "/") or parts.fragment:
        raise SmtpUrlError("SMTP URL: a path or #fragment is not allowed after the host")
    if parts.username is not None and parts.password is None:
        raise SmtpUrlError("SMTP URL: a user name without a password (use user:password@)")
    if parts.password is not None and not parts.username:
        raise SmtpUrlError("SMTP URL: a password without a user name")
    try:
        query = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        raise SmtpUrlError("SMTP URL: the query is not of the form key=value&...") from None
    unknown = sorted(set(query) - _QUERY_KEYS)
    if unknown:
        raise SmtpUrlError(f"SMTP URL: unknown parameter(s) {', '.join(unknown)}")
    if "timeout" in query:
        try:
            timeout = float(query["timeout"])
        except ValueError:
            raise SmtpUrlError("SMTP URL: timeout is not a number of seconds") from None
    if not 0 < timeout < float("inf"):
        raise SmtpUrlError("SMTP URL: timeout must be a positive number of seconds")
    cafile = query.get("cafile")
    if cafile is not None and scheme == "smtp":
        raise SmtpUrlError("SMTP URL: cafile needs smtp+starttls:// or smtps://")
    return SmtpUrl(
        scheme=scheme,
        host=host,
        port=port or SCHEMES[scheme],
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        timeout=timeout,
        timeout_in_url="timeout" in query,
        cafile=cafile,
    )
