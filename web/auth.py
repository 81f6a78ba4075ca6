"""The identity of an HTTP request: a signed token, or a trusted proxy's header.

A token comes as ``Authorization: Bearer <token>``, as the ``crmstream_token`` cookie, or, for
a browser's ``EventSource`` (which cannot send headers), as ``?token=`` on a stream's URL;
give such a token a short life. With ``CRMSTREAM_IDENTITY_HEADER`` set (for example
``X-Auth-Request-User`` behind oauth2-proxy), the person comes from that header and the
role from ``CRMSTREAM_IDENTITY_ROLE_HEADER`` (the first listed group that is a role):
enable it only where every request reaches the worker through that proxy.
Tokens are never logged (Faust's web server keeps no access log; errors never quote them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from web.identity import ROLES, Identity, Unauthenticated, verify

COOKIE = "crmstream_token"


@dataclass(frozen=True, slots=True)
class Authenticator:
    secret: str
    identity_header: str | None = None
    role_header: str = "X-Auth-Request-Groups"

    def identify(self, headers: Mapping[str, str], cookies: Mapping[str, str],
                 query: Mapping[str, str], now: datetime | None = None) -> Identity:
        if self.identity_header is not None:
            return self._from_proxy(headers)
        token = _bearer(headers) or cookies.get(COOKIE) or query.get("token")
        if not token:
            raise Unauthenticated("no token: send Authorization: Bearer, the "
                                  f"{COOKIE} cookie, or ?token= on a stream")
        return verify(token, self.secret, now or datetime.now(UTC))

    def _from_proxy(self, headers: Mapping[str, str]) -> Identity:
        person = headers.get(self.identity_header or "")
        if not person:
            raise Unauthenticated(f"no {self.identity_header} header from the proxy")
        groups = [g.strip() for g in headers.get(self.role_header, "").split(",")]
        role = next((g for g in groups if g in ROLES), None)
        if role is None:
            raise Unauthenticated(f"{self.role_header} names none of the roles {ROLES}")
        return Identity(person, role)


def _bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
