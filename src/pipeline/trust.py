"""Which Sigstore instance signs and verifies: chosen by configuration, never by a bundle.

GitHub's public-good instance is the default everywhere. The local test
authority (``pipeline.authority``) is used only when ``LOCAL_SIGSTORE`` names
it, and then alone: the two trust roots are never merged, so a locally signed
bundle fails the production path and a real GitHub bundle fails the local one.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from pipeline.errors import CheckFailed, InputError, one_line

if TYPE_CHECKING:
    from pipeline.settings import Settings

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# The local authority's issuer, in the reserved .invalid domain: it can never
# be GitHub's and never resolves.
LOCAL_ISSUER = "https://oidc.local-sigstore.invalid"
TIMEOUT = 30
# The libraries that log to stderr through logging's last-resort handler when
# nothing is configured: sigstore's TUF client warns on every offline load
# ("TUF repository is loaded in offline mode"), a line the user chose with
# --offline and that reports already state (``describe``).
_QUIET = ("sigstore", "tuf")


def quiet_libraries() -> None:
    """Give sigstore's and tuf's loggers a handler that drops records: no line of theirs on stderr.

    Every verdict and every failure is reported by this package, in one line;
    a library's log record is never part of the output. A handler of the
    caller's own (a test's log capture, a configured root logger) still sees
    the records.
    """
    for name in _QUIET:
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())


@dataclass(frozen=True)
class Trust:
    """One Sigstore instance: its trust root for verifying, its services for signing."""

    local_url: str = ""  # the local authority; "" means GitHub's public-good instance
    offline: bool = False  # production only: the root inside the sigstore wheel, no TUF update

    @property
    def is_local(self) -> bool:
        """True for the local test authority."""
        return bool(self.local_url)

    @property
    def issuer(self) -> str:
        """The OIDC issuer this instance's certificates name, pinned in every policy."""
        return LOCAL_ISSUER if self.is_local else GITHUB_ISSUER

    def describe(self) -> str:
        """For reports: which root a verdict was reached against."""
        if self.is_local:
            return f"the local test authority at {self.local_url} (trusted nowhere else)"
        return "Sigstore's public-good instance" + (" (offline root)" if self.offline else "")

    def _client_config(self) -> Any:  # noqa: ANN401 - sigstore's ClientTrustConfig
        from sigstore.models import ClientTrustConfig  # noqa: PLC0415

        if not self.is_local:
            return ClientTrustConfig.production(offline=self.offline)
        try:
            reply = requests.get(f"{self.local_url}/trust_config.json", timeout=TIMEOUT)
        except requests.RequestException as error:
            raise CheckFailed(
                f"the local Sigstore authority at {self.local_url} does not answer ({type(error).__name__}); "
                "start it with: bash scripts/local-platform.sh up"
            ) from None
        if reply.status_code != 200:
            raise CheckFailed(f"the local Sigstore authority answered HTTP {reply.status_code} for its trust root")
        try:
            # pydantic checks the whole document: its errors are ValueErrors.
            return ClientTrustConfig.from_json(reply.text)
        except ValueError as error:
            raise CheckFailed(f"the local Sigstore authority's trust root is malformed: {one_line(error)}") from None

    def verifier(self) -> Any:  # noqa: ANN401 - sigstore Verifier
        """The verifier of this instance and no other."""
        from sigstore.errors import Error as SigstoreError  # noqa: PLC0415
        from sigstore.verify import Verifier  # noqa: PLC0415

        quiet_libraries()
        if not self.is_local:
            return _production_verifier(offline=self.offline)
        config = self._client_config()
        try:
            # Well-formed is not enough: a root without a log's or a CT log's key
            # is refused here, by sigstore, before any bundle is looked at.
            return Verifier(trusted_root=config.trusted_root)
        except SigstoreError as error:
            raise CheckFailed(f"the local Sigstore authority's trust root is unusable: {one_line(error)}") from None

    def signing_context(self) -> Any:  # noqa: ANN401 - sigstore SigningContext
        """Fulcio and Rekor of this instance, for sigstore's own signer."""
        from sigstore.sign import SigningContext  # noqa: PLC0415

        quiet_libraries()
        return SigningContext.from_trust_config(self._client_config())

    def identity_token(self, claims: Mapping[str, str]) -> Any:  # noqa: ANN401 - sigstore IdentityToken
        """The workflow's identity: minted by the local issuer, or the runner's ambient token."""
        from sigstore.oidc import IdentityError, IdentityToken, detect_credential  # noqa: PLC0415

        if not self.is_local:
            try:
                raw = detect_credential()
            except IdentityError as error:
                raise CheckFailed(f"no OIDC token for signing: {one_line(error)}") from None
            if raw is None:
                raise CheckFailed("no OIDC token for signing (on GitHub the job needs permissions: id-token: write)")
            return IdentityToken(raw)
        try:
            reply = requests.post(f"{self.local_url}/oidc/token", json=dict(claims), timeout=TIMEOUT)
        except requests.RequestException as error:
            raise CheckFailed(f"the local OIDC issuer does not answer ({type(error).__name__})") from None
        try:
            document = reply.json()
        except ValueError:
            document = {}
        if reply.status_code != 200 or not isinstance(document, dict) or not isinstance(document.get("value"), str):
            said = document.get("message") if isinstance(document, dict) else None
            detail = said if isinstance(said, str) and said.strip() else f"HTTP {reply.status_code}, no token"
            raise CheckFailed(f"the local OIDC issuer refused the token request: {one_line(detail)}")
        try:
            return IdentityToken(document["value"])
        except IdentityError as error:
            raise CheckFailed(f"the local OIDC issuer's token is unusable: {one_line(error)}") from None


def _production_verifier(*, offline: bool) -> Any:  # noqa: ANN401 - sigstore Verifier
    """The production trust root; offline, the copy inside the sigstore wheel.

    Offline, sigstore reads its TUF cache from the user's cache directory. A
    fresh private directory makes it seed the cache from the wheel's embedded
    root instead, so a stale or planted file there is never used.
    """
    from sigstore.errors import Error as SigstoreError  # noqa: PLC0415
    from sigstore.verify import Verifier  # noqa: PLC0415

    if not offline:
        try:
            return Verifier.production()
        except SigstoreError as error:
            raise CheckFailed(
                f"cannot load Sigstore's trust root ({type(error).__name__}); "
                "use --offline for the root inside the sigstore package"
            ) from None
    saved = {k: os.environ.get(k) for k in ("XDG_CACHE_HOME", "XDG_DATA_HOME")}
    with tempfile.TemporaryDirectory(prefix="pipeline-sigstore-") as private:
        os.environ["XDG_CACHE_HOME"] = str(Path(private, "cache"))
        os.environ["XDG_DATA_HOME"] = str(Path(private, "data"))
        try:
            return Verifier.production(offline=True)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def select(settings: Settings, *, offline: bool = False) -> Trust:
    """The instance configuration names: ``LOCAL_SIGSTORE`` set means local, alone."""
    if settings.local_sigstore:
        if offline:
            raise InputError("--offline picks the production root; it cannot be combined with LOCAL_SIGSTORE")
        return Trust(local_url=settings.local_sigstore)
    return Trust(offline=offline)
