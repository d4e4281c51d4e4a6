"""Sigstore attestation verification: exact identity, exact run, exact commit, exact digest.

The policy is built only from explicit expectations (no wildcard identity);
after the signature and the certificate verify, the in-toto statement must be
SLSA provenance v1 about the image digest itself.

Every refusal is one line built from what failed, never from the words of
another library's message: each pinned value is checked by a sigstore policy
wrapped in ``Pinned``, which names the claim with the value expected and the
value the certificate carries; a chain failure is explained from the
certificate and the trust root; a bundle that does not load is named by its
encoding or by pydantic's structured error (the field's path, never a dump).
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import os
import re
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sigstore.errors import VerificationError

from pipeline import grammar
from pipeline.errors import CheckFailed, GitHubError, InputError, one_line
from pipeline.trust import GITHUB_ISSUER

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pipeline.github import GitHub

SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1"
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_NUMBER = re.compile(r"[1-9][0-9]{0,18}")
_ATTEMPT = re.compile(r"[1-9][0-9]{0,5}")
MAX_REASON = 240
VALUE_WIDTH = 160  # how much of one compared value a refusal shows (around the first difference)
# A bundle is ~10 kB; an SBOM attestation embeds the SBOM (a few MB). A JSON
# Lines file of every attestation of a digest stays well below this.
BUNDLE_LIMIT = 16 * 1024 * 1024

# Fulcio certificate extensions (v2, DER UTF8String), read for the result.
_OIDS = {
    "issuer": "1.3.6.1.4.1.57264.1.8",
    "signer_workflow": "1.3.6.1.4.1.57264.1.9",
    "repository": "1.3.6.1.4.1.57264.1.12",
    "commit": "1.3.6.1.4.1.57264.1.13",
    "ref": "1.3.6.1.4.1.57264.1.14",
    "repository_id": "1.3.6.1.4.1.57264.1.15",
    "build_config": "1.3.6.1.4.1.57264.1.18",
    "run_uri": "1.3.6.1.4.1.57264.1.21",
}


@dataclass(frozen=True)
class Expectations:
    """What must be true of the signer; every field is compared exactly."""

    repository: str  # owner/name
    ref: str  # refs/heads/main, refs/pull/7/merge
    signer_workflow: str = ".github/workflows/ci.yml"
    repository_id: str = ""
    run_id: str = ""
    run_attempt: str = "1"
    issuer: str = GITHUB_ISSUER
    server_url: str = "https://github.com"
    build_config: str = ""  # the calling workflow when the signer is a reusable one
    # The certificate's source commit (Fulcio 1.3.6.1.4.1.57264.1.13, the
    # token's ``sha`` claim): the full lower-case SHA the signing run checked out.
    commit: str = ""

    @property
    def repository_uri(self) -> str:
        """The source repository as the certificate names it."""
        return f"{self.server_url}/{self.repository}"

    @property
    def signer_uri(self) -> str:
        """The signing workflow's URI (also the certificate's SAN).

        ``.github/...`` means this repository's workflow at ``ref``; a name
        with an owner (``org/repo/.github/workflows/x.yml@ref``) is a
        reusable workflow and must carry its own ref.
        """
        if self.signer_workflow.startswith(".github/"):
            return f"{self.repository_uri}/{self.signer_workflow}@{self.ref}"
        if "@" not in self.signer_workflow:
            raise InputError("a reusable signer workflow needs its ref: owner/repo/path@ref")
        return f"{self.server_url}/{self.signer_workflow}"

    @property
    def run_base(self) -> str:
        """The run's URI without its attempt ("" when no run is pinned)."""
        return f"{self.repository_uri}/actions/runs/{self.run_id}/attempts" if self.run_id else ""

    def validate(self) -> None:
        """Every value the policy compares must be present and well formed.

        sigstore's identity policy skips an empty value: an empty issuer would
        switch the issuer check off. So nothing is built until each one holds.
        """
        problems = []
        if not self.issuer.startswith("https://") or len(self.issuer) <= len("https://"):
            problems.append(f"the issuer must be an https URL, not {self.issuer[:60]!r}")
        if not self.server_url.startswith("https://") or len(self.server_url) <= len("https://"):
            problems.append(f"the server URL must be an https URL, not {self.server_url[:60]!r}")
        if not _REPOSITORY.fullmatch(self.repository):
            problems.append(f"the repository must be owner/name, not {self.repository[:60]!r}")
        if not self.ref.startswith("refs/") or len(self.ref) <= len("refs/"):
            problems.append(f"the ref must be a full ref (refs/...), not {self.ref[:60]!r}")
        if not self.signer_workflow.strip() or any(c.isspace() for c in self.signer_workflow):
            problems.append(f"the signer workflow must be a path, not {self.signer_workflow[:60]!r}")
        if self.repository_id and not _NUMBER.fullmatch(self.repository_id):
            problems.append(f"the repository id must be a number, not {self.repository_id[:30]!r}")
        if self.run_id and not _NUMBER.fullmatch(self.run_id):
            problems.append(f"the run id must be a positive number, not {self.run_id[:30]!r}")
        if not _ATTEMPT.fullmatch(self.run_attempt):
            problems.append(f"the run attempt must be a number from 1 to 999999, not {self.run_attempt[:30]!r}")
        if self.build_config and not self.build_config.startswith(".github/"):
            problems.append(f"the build config must be a .github/ path, not {self.build_config[:60]!r}")
        if self.commit and not grammar.SHA.fullmatch(self.commit):
            problems.append(f"the commit must be a full lower-case 40-digit SHA, not {self.commit[:50]!r}")
        if problems:
            raise InputError("; ".join(problems))

    def policy(self) -> Any:  # noqa: ANN401 - sigstore's policy type
        """One ``AllOf`` of exact checks, each named; optional ones only when given."""
        from sigstore.verify import policy  # noqa: PLC0415 - heavy import, only when verifying

        self.validate()
        checks: list[Any] = [
            Pinned(policy.Identity(identity=self.signer_uri, issuer=self.issuer), "identity", self.signer_uri),
            Pinned(policy.OIDCBuildSignerURI(self.signer_uri), "signer_workflow", self.signer_uri),
            Pinned(policy.OIDCSourceRepositoryURI(self.repository_uri), "repository", self.repository_uri),
            Pinned(policy.OIDCSourceRepositoryRef(self.ref), "ref", self.ref),
        ]
        if self.repository_id:
            checks.append(
                Pinned(policy.OIDCSourceRepositoryIdentifier(self.repository_id), "repository_id", self.repository_id)
            )
        if self.commit:
            checks.append(Pinned(policy.OIDCSourceRepositoryDigest(self.commit), "commit", self.commit))
        if self.run_id:
            checks.append(RunAttempts(self.run_base, int(self.run_attempt)))
        if self.build_config:
            config = f"{self.repository_uri}/{self.build_config}@{self.ref}"
            checks.append(Pinned(policy.OIDCBuildConfigURI(config), "build_config", config))
        return policy.AllOf(checks)


# -- refusals of a pinned value: the claim, what was expected, what the certificate says --
_LABELS = {
    "identity": "SANs",
    "issuer": "OIDC issuer",
    "signer_workflow": "build signer URI",
    "repository": "source repository URI",
    "ref": "source repository ref",
    "repository_id": "source repository identifier",
    "commit": "source commit",
    "build_config": "build config URI",
    "run_uri": "run invocation URI",
}


class Mismatch(VerificationError):
    """A pinned claim of the certificate differs: which one, expected and got (both kept whole enough)."""

    def __init__(self, claim: str, expected: str, got: str, policy: str = "") -> None:
        self.claim, self.expected, self.got, self.policy = claim, expected, got, policy
        super().__init__(mismatch_text(claim, expected, got, policy))


def mismatch_text(claim: str, expected: str, got: str, policy: str = "") -> str:
    """``the certificate's <claim> does not match (<sigstore policy>): got …, expected …``.

    Each value is cut only around where the two differ (``around_difference``).
    """
    shown_got, shown_expected = around_difference(got, expected)
    verb = "do" if claim == "identity" else "does"
    named = f" ({policy})" if policy else ""
    return (
        f"the certificate's {_LABELS.get(claim, claim)} {verb} not match{named}: "
        f"got {shown_got or '(none)'}, expected {shown_expected}"
    )


def around_difference(got: str, expected: str, width: int = VALUE_WIDTH) -> tuple[str, str]:
    """Both values, each cut to ``width`` characters around the first one where they differ.

    A cut that kept only the start of two long values sharing a prefix would
    show two equal strings; the window always holds the first difference.
    Characters that are not printable are escaped (a certificate may hold any).
    """
    first = next(
        (i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b), min(len(got), len(expected))
    )

    def cut(value: str) -> str:
        if len(value) <= width:
            return _printable(value)
        begin = max(0, min(first - 20, len(value) - width))
        end = begin + width
        return ("…" if begin else "") + _printable(value[begin:end]) + ("…" if end < len(value) else "")

    return cut(got), cut(expected)


def _printable(value: str) -> str:
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in value)


class Pinned:
    """A sigstore policy, named: its refusal is a ``Mismatch`` carrying the certificate's value.

    sigstore decides (its own policy object runs unchanged); this only turns
    the refusal into the claim, the expected value and the certificate's own.
    """

    def __init__(self, check: Any, claim: str, expected: str) -> None:  # noqa: ANN401 - sigstore policy
        self.check, self.claim, self.expected = check, claim, expected

    def verify(self, cert: Any) -> None:  # noqa: ANN401 - x509 certificate
        """Raise ``Mismatch`` when the wrapped policy refuses ``cert``."""
        try:
            self.check.verify(cert)
        except VerificationError:
            raise self.mismatch(cert) from None

    def mismatch(self, cert: Any) -> Mismatch:  # noqa: ANN401 - x509 certificate
        """What differs; for the identity, the issuer first (sigstore checks it first)."""
        claims = _certificate_claims(cert)
        if self.claim == "identity":
            issuer = getattr(self.check, "_issuer", None)
            wanted = str(getattr(issuer, "_value", "")) if issuer is not None else ""
            if wanted and claims["issuer"] != wanted:
                return Mismatch("issuer", wanted, claims["issuer"], type(issuer).__name__)
            return Mismatch("identity", self.expected, ", ".join(_sans(cert)), type(self.check).__name__)
        return Mismatch(self.claim, self.expected, claims.get(self.claim, ""), type(self.check).__name__)


class RunAttempts:
    """A sigstore policy: the certificate's run is this run, attempt 1 to ``last``.

    Re-running only the failed jobs of a run keeps the attestation of an
    earlier attempt; it is still that run's, so every attempt so far is
    accepted, and no other run. The URI is parsed, not compared against one
    candidate per attempt, so any attempt number costs the same.
    """

    def __init__(self, base: str, last: int) -> None:
        self.base, self.last = base, last

    def verify(self, cert: Any) -> None:  # noqa: ANN401 - x509 certificate
        """Raise ``Mismatch`` (a sigstore ``VerificationError``) unless the run URI matches."""
        uri = _certificate_claims(cert)["run_uri"]
        if not self.accepts(uri):
            raise Mismatch("run_uri", f"{self.base}/1 to /{self.last}", uri, type(self).__name__)

    def accepts(self, uri: str) -> bool:
        """``<base>/<attempt>`` with an attempt from 1 to ``last``, nothing else."""
        attempt = uri.removeprefix(self.base + "/") if uri.startswith(self.base + "/") else ""
        return bool(_ATTEMPT.fullmatch(attempt)) and int(attempt) <= self.last


@dataclass(frozen=True)
class Verified:
    """What the certificate and the statement say, for the CD report."""

    issuer: str
    signer_workflow: str
    repository: str
    repository_id: str
    ref: str
    commit: str
    run_uri: str
    predicate_type: str
    subject: str

    def to_json(self) -> dict[str, str]:
        """Plain dict for JSON output."""
        return asdict(self)


def _der_utf8(value: bytes) -> str:
    """Decode the DER UTF8String of a Fulcio v2 extension."""
    if len(value) < 2 or value[0] != 0x0C:
        return value.decode("utf-8", "replace")
    length, offset = value[1], 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(value[2 : 2 + count], "big")
        offset = 2 + count
    return value[offset : offset + length].decode("utf-8", "replace")


def _certificate_claims(certificate: Any) -> dict[str, str]:  # noqa: ANN401 - x509 object
    from cryptography import x509  # noqa: PLC0415

    claims = {}
    for name, oid in _OIDS.items():
        try:
            ext = certificate.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid))
        except x509.ExtensionNotFound:
            claims[name] = ""
            continue
        claims[name] = _der_utf8(ext.value.value)
    return claims


def _sans(certificate: Any) -> list[str]:  # noqa: ANN401 - x509 object
    """The certificate's URI and e-mail SANs (what sigstore's identity policy compares)."""
    from cryptography import x509  # noqa: PLC0415

    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return sorted(
        {*names.get_values_for_type(x509.UniformResourceIdentifier), *names.get_values_for_type(x509.RFC822Name)}
    )


def reason(error: BaseException | str) -> str:
    """One line a person can act on for an error this module did not classify: no raw bytes, cut between words."""
    text = one_line(error, limit=None)
    text = re.sub(r"b(['\"])(?:\\.|(?!\1).){40,}?\1", "<bytes>", text)
    return one_line(text, MAX_REASON)


# -- reading: regular files only, bounded -----------------------------------------
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def not_regular(mode: int) -> str:
    """What a non-regular file is ("" for a regular file): never opened, never read."""
    if stat.S_ISREG(mode):
        return ""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def size_text(size: int) -> str:
    """A size as a person reads it: 512 bytes, 3.0 MiB, 5.0 GiB."""
    if size < 1024:
        return f"{size} bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024  # type: ignore[assignment]
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}"
    return f"{size} bytes"  # pragma: no cover - the loop always returns


def _open_regular(path: str, limit: int) -> BinaryIO:
    """``path`` opened for reading if it is a regular file of at most ``limit`` bytes.

    The kind and the size come from ``stat`` before anything is opened, so a
    FIFO, a device or a directory is never read; the file is then opened
    non-blocking and checked again (it may have been replaced in between).
    Raises ``InputError`` (what it is) or ``OSError`` (why it cannot be opened).
    """
    info = Path(path).stat()
    kind = not_regular(info.st_mode)
    if kind:
        raise InputError(f"cannot read {path}: it is {kind}, not a regular file")
    if info.st_size > limit:
        raise InputError(f"cannot read {path}: it is {size_text(info.st_size)}, over the {size_text(limit)} limit")
    handle = os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)), "rb")
    kind = not_regular(os.fstat(handle.fileno()).st_mode)
    if kind:
        handle.close()
        raise InputError(f"cannot read {path}: it is {kind}, not a regular file")
    return handle


def _os_reason(path: str, error: OSError) -> InputError:
    return InputError(f"cannot read {path}: {(error.strerror or type(error).__name__).lower()}")


def read_regular(path: str, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file, or ``InputError`` naming the file and why.

    At most ``limit + 1`` bytes are read whatever the file's size claims
    (``/proc`` files say 0), so the memory used is bounded too.
    """
    try:
        with _open_regular(path, limit) as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        raise _os_reason(path, error) from None
    if len(data) > limit:
        raise InputError(f"cannot read {path}: it holds more than the {size_text(limit)} limit")
    return data


def sha256_file(path: str, limit: int) -> str:
    """The sha256 hex of a regular file of at most ``limit`` bytes, read in chunks (bounded memory)."""
    digest, total = hashlib.sha256(), 0
    try:
        with _open_regular(path, limit) as handle:
            while chunk := handle.read(1024 * 1024):
                total += len(chunk)
                if total > limit:
                    raise InputError(f"cannot read {path}: it holds more than the {size_text(limit)} limit")
                digest.update(chunk)
    except OSError as error:
        raise _os_reason(path, error) from None
    return digest.hexdigest()


@dataclass(frozen=True)
class Unreadable:
    """A candidate that could not be had at all (a file, a download): why, in one line.

    ``bad_input`` marks a file the user named: when every candidate is one of
    those, the command was given nothing to verify (exit 2), not a bad bundle.
    """

    reason: str
    bad_input: bool = True


Candidate = tuple[str, "bytes | Unreadable"]


def bundles_from_file(path: str, origin: str = "", limit: int = BUNDLE_LIMIT) -> list[Candidate]:
    """The candidates in one bundle file; a file that cannot be read is one refused candidate."""
    origin = origin or path
    try:
        data = read_regular(path, limit)
    except InputError as error:
        return [(origin, Unreadable(str(error).removeprefix(f"cannot read {path}: ")))]
    return read_bundles(data, origin)


# -- parsing: named by encoding, by field, by sigstore's own bundle checks ---------------
def encoding_problem(data: bytes) -> str:
    """Why ``data`` is not UTF-8 JSON text by its bytes alone ("" when it may be)."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "is UTF-32 text (a bundle is UTF-8 JSON)"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "is UTF-16 text (a bundle is UTF-8 JSON)"
    if data.startswith(codecs.BOM_UTF8):
        return "begins with a UTF-8 byte-order mark (a bundle is UTF-8 JSON without one)"
    if len(data) >= 2 and 0 in data[:4]:
        return "is UTF-16 or UTF-32 text without a byte-order mark (a bundle is UTF-8 JSON)"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"is not UTF-8 text (byte {error.start} is 0x{data[error.start]:02x})"
    return ""


def pydantic_problem(error: BaseException) -> str:
    """``field <path>: <message>`` from a pydantic ``ValidationError`` (its structure, not its text)."""
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return ""
    try:
        found = errors(include_url=False, include_input=False)
    except TypeError:
        found = errors()
    if not found:
        return ""
    first = found[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    cause = (first.get("ctx") or {}).get("error") if first.get("type") == "value_error" else None
    message = one_line(cause if cause is not None else first.get("msg", ""), 160)
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return (f"field {where}: " if where else "") + message + more


def parse_bundle(data: bytes, origin: str) -> Any:  # noqa: ANN401 - sigstore Bundle
    """A sigstore bundle from JSON bytes; anything else is refused (exit 1)."""
    from sigstore.models import Bundle, InvalidBundle  # noqa: PLC0415

    encoding = encoding_problem(data)
    if encoding:
        raise CheckFailed(f"refused: {origin} {encoding}")
    try:
        document = json.loads(data)
    except RecursionError:
        raise CheckFailed(f"refused: {origin} is JSON nested too deeply to be a bundle") from None
    except ValueError as error:
        where = f" (line {error.lineno}, column {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        raise CheckFailed(f"refused: {origin} is not JSON{where}") from None
    if not isinstance(document, dict):
        raise CheckFailed(f"refused: {origin} is JSON but not an object, so not a Sigstore bundle")
    kind = _unsupported_log_entry(document)
    if kind:
        raise CheckFailed(
            f"refused: {origin}: its transparency-log entry is {kind}; only dsse/0.0.1 and hashedrekord "
            "entries can be verified"
        )
    try:
        return Bundle.from_json(data)
    except RecursionError:
        raise CheckFailed(f"refused: {origin} is nested too deeply to be a bundle") from None
    except InvalidBundle as error:
        detail = pydantic_problem(error.__context__) if error.__context__ is not None else ""
        raise CheckFailed(f"refused: {origin} is not a valid Sigstore bundle: {detail or reason(error)}") from None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        detail = pydantic_problem(error) or _certificate_problem(document) or reason(error)
        raise CheckFailed(f"refused: {origin} is not a valid Sigstore bundle: {detail}") from None


def _certificate_problem(document: dict[str, Any]) -> str:
    """Which certificate of the bundle is not DER X.509 (sigstore loads them after the schema)."""
    import base64  # noqa: PLC0415
    import binascii  # noqa: PLC0415

    from cryptography import x509  # noqa: PLC0415

    material = document.get("verificationMaterial")
    material = material if isinstance(material, dict) else {}
    chain = material.get("x509CertificateChain")
    places = [("verificationMaterial.certificate.rawBytes", material.get("certificate"))]
    if isinstance(chain, dict) and isinstance(chain.get("certificates"), list):
        places += [
            (f"verificationMaterial.x509CertificateChain.certificates.{n}.rawBytes", c)
            for n, c in enumerate(chain["certificates"])
        ]
    for where, holder in places:
        raw = holder.get("rawBytes") if isinstance(holder, dict) else None
        if not isinstance(raw, str):
            continue
        try:
            x509.load_der_x509_certificate(base64.b64decode(raw, validate=True))
        except (ValueError, binascii.Error):
            return f"field {where}: not a DER X.509 certificate"
    return ""


_SUPPORTED_ENTRIES = {("dsse", "0.0.1"), ("hashedrekord", "0.0.1"), ("hashedrekord", "0.0.2")}


def _unsupported_log_entry(document: dict[str, Any]) -> str:
    """``kind/version`` of a log entry sigstore cannot verify, or ""."""
    material = document.get("verificationMaterial")
    entries = material.get("tlogEntries") if isinstance(material, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        kind_version = entry.get("kindVersion") if isinstance(entry, dict) else None
        if isinstance(kind_version, dict):
            pair = (str(kind_version.get("kind", ""))[:40], str(kind_version.get("version", ""))[:20])
            if pair not in _SUPPORTED_ENTRIES:
                return "/".join(pair)
    return ""


def read_bundles(data: bytes, origin: str) -> list[Candidate]:
    """One bundle, or JSON Lines of bundles (what `gh attestation download` writes).

    A file that is one JSON document (however it is indented) is one bundle;
    otherwise each non-empty line is a candidate of its own. Text that is not
    UTF-8 stays one candidate, refused by its encoding.
    """
    if encoding_problem(data):
        return [(origin, data)]
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        lines = [line for line in data.splitlines() if line.strip()]
        if len(lines) > 1:
            return [(f"{origin} line {n}", line) for n, line in enumerate(lines, 1)]
    return [(origin, data)]


# -- the statement ------------------------------------------------------------------------
def statement_of(payload_type: str, payload: bytes) -> dict[str, Any]:
    """The DSSE payload as an in-toto v1 SLSA v1 statement with a subject list, or a refusal."""
    if payload_type != IN_TOTO_PAYLOAD:
        raise CheckFailed(f"refused: payload type is {payload_type!r}, not in-toto")
    try:
        statement = json.loads(payload)
    except ValueError:
        raise CheckFailed("refused: the attested statement is not JSON") from None
    except RecursionError:
        raise CheckFailed("refused: the attested statement is nested too deeply") from None
    if not isinstance(statement, dict) or statement.get("_type") != IN_TOTO_STATEMENT_V1:
        raise CheckFailed("refused: the statement is not an in-toto v1 statement")
    if statement.get("predicateType") != SLSA_PROVENANCE_V1:
        raise CheckFailed(
            f"refused: predicate is {str(statement.get('predicateType'))[:100]!r}, expected {SLSA_PROVENANCE_V1}"
        )
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise CheckFailed("refused: the statement has no subject list")
    return statement


def subject_digests(statement: dict[str, Any]) -> list[str]:
    """The sha256 digests the statement's subjects name, exactly as written."""
    return [
        s["digest"].get("sha256")
        for s in statement.get("subject", [])
        if isinstance(s, dict) and isinstance(s.get("digest"), dict)
    ]


def check_statement(payload_type: str, payload: bytes, digest: str) -> dict[str, Any]:
    """The DSSE payload must be an in-toto v1 SLSA v1 statement about ``digest``."""
    statement = statement_of(payload_type, payload)
    if digest not in subject_digests(statement):
        raise CheckFailed(f"refused: no subject has the digest sha256:{digest}")
    return statement


# -- signature, certificate and policy ------------------------------------------------------
class _Reached:
    """The policy as sigstore sees it, recording whether sigstore got as far as the policy.

    Before the policy sigstore checks the time sources, the chain and the SCT;
    after it, the log entry and the signature: a refusal names its stage.
    """

    def __init__(self, policy: Any) -> None:  # noqa: ANN401 - sigstore policy
        self.policy, self.passed = policy, False

    def verify(self, cert: Any) -> None:  # noqa: ANN401 - x509 certificate
        """Run the real policy; remember that it passed."""
        self.policy.verify(cert)
        self.passed = True


def verified_statement(bundle: Any, expected: Expectations, trust: Any) -> dict[str, Any]:  # noqa: ANN401
    """Signature, certificate and policy of an attestation, then its statement (any subject)."""
    if bundle._dsse_envelope is None:  # noqa: SLF001 - no public accessor in sigstore 4.5
        raise CheckFailed("refused: the bundle holds a message signature, not an attestation (no DSSE envelope)")
    policy = _Reached(expected.policy())
    try:
        payload_type, payload = trust.verify_dsse(bundle, policy)
    except Exception as error:  # noqa: BLE001 - classified below, re-raised when unknown
        raise CheckFailed(f"refused: {refusal(error, bundle, trust, policy)}") from None
    return statement_of(payload_type, payload)


def refusal(error: Exception, bundle: Any, trust: Any, policy: _Reached) -> str:  # noqa: ANN401
    """Why sigstore refused, from the exception's type and the stage it reached; unknown kinds re-raise."""
    from sigstore.errors import CertValidationError  # noqa: PLC0415
    from sigstore.errors import Error as SigstoreError  # noqa: PLC0415

    if isinstance(error, Mismatch):
        return str(error)
    if isinstance(error, CertValidationError):
        return chain_reason(bundle, trust, error)
    if not isinstance(error, (SigstoreError, ValueError)):
        raise error
    if policy.passed:
        return f"its signature or transparency-log entry does not verify: {reason(error)}"
    return f"its certificate does not verify: {reason(error)}"


ANOTHER_INSTANCE = (
    "it was signed by another Sigstore instance (staging, or GitHub's private instance for private repositories)"
)


def chain_reason(bundle: Any, trust: Any, error: BaseException) -> str:  # noqa: ANN401
    """A chain that does not verify, explained from the certificate and the trust root.

    No trusted Fulcio CA has the leaf's issuer (name and key id): another
    instance signed it. One has, but the log recorded the signature outside
    the leaf's validity: the certificate was not valid then. Otherwise,
    sigstore's own words, bounded.
    """
    leaf = bundle.signing_certificate
    authorities = list(getattr(trust, "_fulcio_certificate_chain", None) or [])
    if authorities and not any(_issued(leaf, ca) for ca in authorities):
        return (
            "its certificate does not chain to a trusted Fulcio root: its issuer "
            f"{one_line(leaf.issuer.rfc4514_string(), 120)!r} is not in this trust root; {ANOTHER_INSTANCE}"
        )
    moment = recorded_time(bundle)
    if moment is not None and not (leaf.not_valid_before_utc <= moment <= leaf.not_valid_after_utc):
        return (
            "its certificate was not valid when the transparency log recorded the signature "
            f"(valid {_when(leaf.not_valid_before_utc)} to {_when(leaf.not_valid_after_utc)}, recorded {_when(moment)})"
        )
    return f"its certificate chain does not verify: {reason(error)}"


def _issued(leaf: Any, authority: Any) -> bool:  # noqa: ANN401 - x509 certificates
    """``authority`` names the leaf's issuer, and its key id is the leaf's authority key id when both say."""
    from cryptography import x509  # noqa: PLC0415

    if authority.subject != leaf.issuer:
        return False
    try:
        wanted = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
        have = authority.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return True
    return wanted is None or wanted == have


def recorded_time(bundle: Any) -> dt.datetime | None:  # noqa: ANN401 - sigstore Bundle
    """When the transparency log integrated the entry (None when the bundle does not say)."""
    seconds = getattr(getattr(bundle.log_entry, "_inner", None), "integrated_time", None)
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc) if isinstance(seconds, int) and seconds else None


def _when(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def verify_attestation(
    bundle: Any,  # noqa: ANN401 - sigstore Bundle
    expected: Expectations,
    digest: str,
    trust: Any,  # noqa: ANN401
) -> Verified:
    """Signature, certificate policy, then statement about ``digest``; raises ``CheckFailed``."""
    statement = verified_statement(bundle, expected, trust)
    if digest not in subject_digests(statement):
        raise CheckFailed(f"refused: no subject has the digest sha256:{digest}")
    return _verified(bundle, str(statement["predicateType"]), digest)


def verify_artifact(bundle: Any, expected: Expectations, artifact: bytes | str, trust: Any) -> Verified:  # noqa: ANN401
    """A message signature over exact bytes (or over the file whose sha256 hex ``artifact`` is)."""
    from sigstore.hashes import Hashed  # noqa: PLC0415
    from sigstore_models.common.v1 import HashAlgorithm  # noqa: PLC0415

    if isinstance(artifact, str):
        digest = grammar.require_digest(artifact)
        subject: bytes | Any = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(digest))
    else:
        digest, subject = hashlib.sha256(artifact).hexdigest(), artifact
    policy = _Reached(expected.policy())
    try:
        trust.verify_artifact(subject, bundle, policy)
    except Exception as error:  # noqa: BLE001 - classified by refusal, re-raised when unknown
        raise CheckFailed(f"refused: {refusal(error, bundle, trust, policy)}") from None
    return _verified(bundle, "", digest)


def _verified(bundle: Any, predicate_type: str, digest: str) -> Verified:  # noqa: ANN401 - sigstore Bundle
    """The result, from the certificate's claims (read only after verification)."""
    claims = _certificate_claims(bundle.signing_certificate)
    return Verified(
        issuer=claims["issuer"],
        signer_workflow=claims["signer_workflow"],
        repository=claims["repository"],
        repository_id=claims["repository_id"],
        ref=claims["ref"],
        commit=claims["commit"],
        run_uri=claims["run_uri"],
        predicate_type=predicate_type,
        subject=f"sha256:{digest}",
    )


def fetch_bundles(github: GitHub, repository: str, digest: str) -> list[Candidate]:
    """Every attestation bundle GitHub stores for the digest (all pages).

    An item that is neither an inline bundle nor a link, or whose link fails,
    is kept as a refused candidate, so it is reported and the others are tried.
    """
    path = f"/repos/{repository}/attestations/sha256:{digest}"
    bundles: list[Candidate] = []
    for index, item in enumerate(github.paginate(path)):
        origin = f"attestation #{index + 1}"
        if isinstance(item, dict) and isinstance(item.get("bundle"), dict):
            bundles.append((origin, json.dumps(item["bundle"]).encode()))
        elif isinstance(item, dict) and isinstance(item.get("bundle_url"), str):
            try:
                bundles.append((origin, github.download(item["bundle_url"])))
            except GitHubError as error:
                bundles.append((origin, Unreadable(f"download failed: {reason(error)}", bad_input=False)))
        else:
            bundles.append((origin, Unreadable("neither an inline bundle nor a bundle_url", bad_input=False)))
    if not bundles:
        raise CheckFailed(f"refused: no attestation exists for sha256:{digest} in {repository}")
    return bundles


def labelled(origin: str, error: CheckFailed | str) -> str:
    """A candidate's refusal, starting with the candidate's name exactly once."""
    text = str(error).removeprefix("refused: ")
    return text if text.startswith(origin) else f"{origin}: {text}"


def verify_any(
    bundles: Iterable[Candidate],
    expected: Expectations,
    digest: str,
    trust: Any,  # noqa: ANN401
) -> Verified:
    """The first bundle that verifies wins; otherwise every refusal is reported.

    Every candidate is tried: one that cannot even be read is refused with its
    reason, and the ones after it still get their turn. When every candidate
    was a file that could not be read, nothing was given to verify: a usage
    error (exit 2), not a refusal.
    """
    expected.validate()
    reasons, unreadable = [], 0
    for origin, data in bundles:
        if isinstance(data, Unreadable):
            reasons.append(f"{origin}: {data.reason}")
            unreadable += data.bad_input
            continue
        try:
            return verify_attestation(parse_bundle(data, origin), expected, digest, trust)
        except CheckFailed as error:
            reasons.append(labelled(origin, error))
    if not reasons:
        raise CheckFailed("refused: there was no bundle to verify")
    if unreadable == len(reasons):
        raise InputError("cannot read " + "; ".join(reasons))
    raise CheckFailed(f"refused: none of {len(reasons)} bundle(s) verified: " + "; ".join(reasons))
