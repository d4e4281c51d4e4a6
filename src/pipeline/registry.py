"""Resolve an image tag to its digest once, straight from the registry API.

After this, only ``name@sha256:...`` is used: a tag can move (or collide:
``feat/a`` and ``feat-a``), a digest cannot.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from pipeline.errors import CheckFailed, InputError
from pipeline.grammar import DIGEST as PINNED
from pipeline.grammar import TAG, VERSION

if TYPE_CHECKING:
    from pipeline.settings import WaitBudget

_REFERENCE = re.compile(
    r"(?P<host>[A-Za-z0-9.-]+(?::[0-9]+)?)/(?P<path>[a-z0-9._/-]+)"
    rf"(?::(?P<tag>{TAG.pattern}))?(?:@(?P<digest>{PINNED.pattern}))?"
)
_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Reference:
    """``host/path[:tag][@digest]``."""

    host: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        """``host/path``."""
        return f"{self.host}/{self.path}"

    @property
    def pinned(self) -> str:
        """``host/path@sha256:...`` (requires a digest)."""
        return f"{self.name}@{self.digest}"


def parse_reference(text: str) -> Reference:
    """A fully qualified reference; anything else is a usage error."""
    match = _REFERENCE.fullmatch(text.strip())
    if not match or not (match["tag"] or match["digest"]):
        raise InputError(f"not a registry/name:tag or registry/name@sha256:... reference: {text[:120]!r}")
    return Reference(match["host"], match["path"], match["tag"] or "", match["digest"] or "")


def _scheme(host: str) -> str:
    """Plain HTTP only for a registry on this machine (the local platform)."""
    return "http" if host.split(":", maxsplit=1)[0] in {"127.0.0.1", "localhost"} else "https"


def _send(
    method: str,
    url: str,
    host: str,
    timeout: float,
    budget: WaitBudget | None,
    **kwargs: Any,  # noqa: ANN401
) -> requests.Response:
    """One request within the command's wait budget (``Settings.budget``) when one is given.

    Its socket timeout is at most what is left, its time is charged; a
    spent budget is one line naming the registry and the budget.
    """
    if budget is not None and budget.exhausted():
        raise CheckFailed(f"gave up waiting for the registry {host}: {budget.describe()} is used up")
    limit = timeout if budget is None else budget.timeout(timeout)
    try:
        with budget.waiting() if budget is not None else contextlib.nullcontext():
            return requests.request(method, url, timeout=limit, **kwargs)
    except requests.RequestException as error:
        if budget is not None and budget.exhausted():
            raise CheckFailed(
                f"gave up waiting for the registry {host} ({type(error).__name__}): {budget.describe()} is used up"
            ) from None
        raise


def resolve(ref: Reference, token: str = "", timeout: float = 30, *, budget: WaitBudget | None = None) -> Reference:
    """Return ``ref`` with the digest its tag points to right now."""
    if ref.digest:
        return ref
    url = f"{_scheme(ref.host)}://{ref.host}/v2/{ref.path}/manifests/{ref.tag}"
    headers = {"Accept": _ACCEPT}
    try:
        response = _send("HEAD", url, ref.host, timeout, budget, headers=headers)
        if response.status_code == 401:
            headers["Authorization"] = _bearer(response, ref, token, timeout, budget=budget)
            response = _send("HEAD", url, ref.host, timeout, budget, headers=headers)
    except requests.RequestException as error:
        raise CheckFailed(f"cannot reach the registry {ref.host}: {type(error).__name__}") from None
    if response.status_code == 404:
        raise CheckFailed(f"{ref.name}:{ref.tag} does not exist in the registry")
    if response.status_code >= 400:
        raise CheckFailed(f"registry {ref.host} answered HTTP {response.status_code} for {ref.name}:{ref.tag}")
    digest = response.headers.get("Docker-Content-Digest", "")
    if not PINNED.fullmatch(digest):
        raise CheckFailed(f"registry {ref.host} gave no usable digest for {ref.name}:{ref.tag}")
    return Reference(ref.host, ref.path, ref.tag, digest)


def _bearer(
    challenge: requests.Response,
    ref: Reference,
    token: str,
    timeout: float,
    actions: str = "pull",
    *,
    budget: WaitBudget | None = None,
) -> str:
    """The token dance of the distribution spec (GHCR: anonymous or GITHUB_TOKEN).

    The token is sent only to a realm on the registry's own host: a registry
    cannot redirect our credentials elsewhere by naming another realm.
    """
    fields = dict(_CHALLENGE.findall(challenge.headers.get("WWW-Authenticate", "")))
    realm = urlsplit(fields.get("realm", ""))
    if realm.scheme != _scheme(realm.netloc) or not realm.netloc:
        raise CheckFailed(f"registry {ref.host} asked for authentication at an unusable realm")
    params = {"service": fields.get("service", ""), "scope": f"repository:{ref.path}:{actions}"}
    same_host = realm.netloc == ref.host
    auth = ("token", token) if token and same_host else None
    reply = _send("GET", realm.geturl(), ref.host, timeout, budget, params=params, auth=auth)
    if reply.status_code >= 400:
        raise CheckFailed(f"registry {ref.host} refused a pull token (HTTP {reply.status_code})")
    try:
        body = reply.json()
        value = str(body.get("token") or body.get("access_token") or "")
    except (ValueError, AttributeError):
        raise CheckFailed(f"registry {ref.host} sent an unreadable token reply") from None
    if not value:
        raise CheckFailed(f"registry {ref.host} sent no token")
    return f"Bearer {value}"


def _call(
    method: str,
    url: str,
    ref: Reference,
    token: str,
    timeout: float,
    headers: dict[str, str],
    data: bytes | None = None,
    budget: WaitBudget | None = None,
) -> requests.Response:
    """One registry call with push rights, answering a 401 with the token dance once."""
    try:
        response = _send(method, url, ref.host, timeout, budget, headers=headers, data=data)
        if response.status_code == 401:
            bearer = _bearer(response, ref, token, timeout, "pull,push", budget=budget)
            headers = {**headers, "Authorization": bearer}
            response = _send(method, url, ref.host, timeout, budget, headers=headers, data=data)
    except requests.RequestException as error:
        raise CheckFailed(f"cannot reach the registry {ref.host}: {type(error).__name__}") from None
    return response


def promote(
    pinned: Reference,
    tags: tuple[str, ...],
    token: str = "",
    timeout: float = 30,
    *,
    budget: WaitBudget | None = None,
) -> dict[str, str]:
    """Point ``tags`` at the digest through the registry API: no rebuild, no layer copy.

    The manifest is read by digest (its bytes must hash to it) and written
    back under each tag, byte for byte, so the tag resolves to exactly that
    digest (checked after). A version tag (``grammar.VERSION``: ``X.Y.Z`` or a
    pre-release) that already names another digest is refused (a release with
    other content exists); moving tags (``X.Y``, ``latest``) move. Returns
    each tag's action: "created", "moved" or "unchanged" (a re-run changes
    nothing).
    """
    if not pinned.digest:
        raise InputError("promote needs name@sha256:...")
    for tag in tags:
        if not TAG.fullmatch(tag):
            raise InputError(f"not an image tag: {tag[:130]!r}")
    base = f"{_scheme(pinned.host)}://{pinned.host}/v2/{pinned.path}/manifests"
    got = _call("GET", f"{base}/{pinned.digest}", pinned, token, timeout, {"Accept": _ACCEPT}, budget=budget)
    if got.status_code >= 400:
        raise CheckFailed(f"{pinned.pinned} cannot be read from the registry (HTTP {got.status_code})")
    if f"sha256:{hashlib.sha256(got.content).hexdigest()}" != pinned.digest:
        # Written back under a tag, other bytes would be another image.
        raise CheckFailed(f"the registry sent a manifest for {pinned.pinned} whose bytes do not match that digest")
    media_type = got.headers.get("Content-Type", "").split(";")[0]
    actions = {}
    for tag in tags:
        current = ""
        try:
            current = resolve(Reference(pinned.host, pinned.path, tag), token, timeout, budget=budget).digest
        except CheckFailed as error:
            if "does not exist" not in str(error):
                raise
        if current == pinned.digest:
            actions[tag] = "unchanged"
            continue
        if current and VERSION.fullmatch(tag):
            raise CheckFailed(f"{pinned.name}:{tag} already names {current}, not {pinned.digest}: refusing to move it")
        put = _call(
            "PUT", f"{base}/{tag}", pinned, token, timeout, {"Content-Type": media_type}, got.content, budget=budget
        )
        if put.status_code >= 400:
            raise CheckFailed(f"the registry refused {pinned.name}:{tag} (HTTP {put.status_code})")
        if resolve(Reference(pinned.host, pinned.path, tag), token, timeout, budget=budget).digest != pinned.digest:
            raise CheckFailed(f"{pinned.name}:{tag} does not resolve to {pinned.digest} after promotion")
        actions[tag] = "moved" if current else "created"
    return actions
