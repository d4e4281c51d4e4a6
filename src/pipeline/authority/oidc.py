"""The local OIDC issuer: tokens with GitHub Actions' claims, under its own issuer.

The issuer (``trust.LOCAL_ISSUER``) is in the reserved ``.invalid`` domain: a
policy pinned to it never accepts a real GitHub identity, nor a GitHub policy
a local one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jwt

from pipeline.errors import CheckFailed, InputError
from pipeline.trust import LOCAL_ISSUER

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

AUDIENCE = "sigstore"
LIFETIME = 600  # seconds, as GitHub's tokens are short-lived

# The claims a workflow's token carries that Fulcio turns into certificate
# extensions, with the shape each must have.
_CLAIMS = {
    "repository": re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"),
    "repository_id": re.compile(r"[0-9]{1,19}"),
    "repository_owner": re.compile(r"[A-Za-z0-9_.-]+"),
    "repository_owner_id": re.compile(r"[0-9]{1,19}"),
    "repository_visibility": re.compile(r"public|private|internal"),
    "ref": re.compile(r"refs/[^\s]+"),
    "sha": re.compile(r"[0-9a-f]{40}"),
    "event_name": re.compile(r"[a-z_]+"),
    "workflow_ref": re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/\.github/workflows/[^\s@]+@refs/[^\s]+"),
    "workflow_sha": re.compile(r"[0-9a-f]{40}"),
    "job_workflow_ref": re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/\.github/workflows/[^\s@]+@refs/[^\s]+"),
    "job_workflow_sha": re.compile(r"[0-9a-f]{40}"),
    "run_id": re.compile(r"[0-9]{1,19}"),
    "run_attempt": re.compile(r"[1-9][0-9]{0,5}"),
    "runner_environment": re.compile(r"github-hosted|self-hosted"),
}
CLAIM_NAMES = tuple(_CLAIMS)


def mint(key: ec.EllipticCurvePrivateKey, claims: Mapping[str, str], now: int) -> str:
    """A signed token for ``claims``; every claim is required and checked.

    ``iss``, ``aud`` and the times are the issuer's, never the caller's.
    """
    problems = [name for name in _CLAIMS if not isinstance(claims.get(name), str)]
    if problems:
        raise InputError(f"the token request lacks the claim(s): {', '.join(problems)}")
    bad = [name for name, shape in _CLAIMS.items() if not shape.fullmatch(claims[name])]
    if bad:
        raise InputError(f"the token request has malformed claim(s): {', '.join(bad)}")
    extra = sorted(set(claims) - set(_CLAIMS))
    if extra:
        raise InputError(f"the token request has claim(s) the issuer sets or does not know: {', '.join(extra)}")
    body: dict[str, Any] = {name: claims[name] for name in _CLAIMS}
    body.update(
        iss=LOCAL_ISSUER,
        aud=AUDIENCE,
        sub=f"repo:{claims['repository']}:ref:{claims['ref']}",
        iat=now,
        nbf=now,
        exp=now + LIFETIME,
    )
    return jwt.encode(body, key, algorithm="ES256")


def check(key: ec.EllipticCurvePrivateKey, token: str, now: int) -> dict[str, str]:
    """The claims of a token this issuer signed, still valid; otherwise refused.

    The issuer is compared exactly: a token that claims any other issuer
    (GitHub's above all) is refused even when its signature is good.
    """
    try:
        claims = jwt.decode(
            token,
            key.public_key(),
            algorithms=["ES256"],
            audience=AUDIENCE,
            # The times are checked below against the authority's clock (injectable).
            options={
                "require": ["iss", "aud", "exp", "iat", "sub"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as error:
        raise CheckFailed(f"the identity token is refused: {error}") from None
    if claims.get("iss") != LOCAL_ISSUER:
        raise CheckFailed(f"the identity token's issuer {str(claims.get('iss'))[:80]!r} is not {LOCAL_ISSUER}")
    if not (int(claims.get("nbf", claims["iat"])) <= now < int(claims["exp"])):
        raise CheckFailed("the identity token is outside its validity period")
    missing = [name for name in _CLAIMS if not isinstance(claims.get(name), str)]
    if missing:
        raise CheckFailed(f"the identity token lacks the claim(s): {', '.join(missing)}")
    return {name: str(claims[name]) for name in _CLAIMS}
