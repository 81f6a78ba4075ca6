"""Who is asking: a person and a role, carried by a signed, expiring token.

Tokens are JWTs (HS256) signed with ``CRMSTREAM_CONSOLE_SECRET``: ``sub`` the person's id,
``role`` one of the roles below, ``exp`` and ``iat``. ``crmstream token`` issues one for
local use and tests; in production a login (an OIDC proxy in front, or the CRM) issues
them, or the proxy passes a verified identity header instead (``web.auth``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

import jwt

Role = Literal["rep", "manager", "admin", "ops"]
ROLES: tuple[Role, ...] = get_args(Role)
ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Identity:
    person: str
    role: Role


class Unauthenticated(Exception):
    """No identity, or one that cannot be trusted (bad signature, expired, malformed)."""


def issue(identity: Identity, secret: str, ttl: timedelta, now: datetime) -> str:
    claims = {"sub": identity.person, "role": identity.role, "iat": int(now.timestamp()),
              "exp": int((now + ttl).timestamp())}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(token: str, secret: str, now: datetime) -> Identity:
    """The identity a token carries, or ``Unauthenticated`` with why not (never the token)."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM],
                            options={"require": ["sub", "role", "exp"], "verify_exp": False})
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"invalid token ({type(exc).__name__})") from None
    if claims["exp"] <= now.timestamp():
        raise Unauthenticated("the token has expired")
    role = claims["role"]
    if role not in ROLES:
        raise Unauthenticated(f"unknown role {role!r}")
    person = claims["sub"]
    if not isinstance(person, str) or not person:
        raise Unauthenticated("the token names no person")
    return Identity(person, role)
