"""The GitHub Release of a tag, published only once every asset is there with the right bytes.

Idempotent under every fault, and nothing half-done is ever public:

1. the release is found by listing ``/releases`` and matching ``tag_name``
   (``GET /releases/tags/{tag}`` does not return drafts); none: it is created
   as a **draft**;
2. every asset already on it is compared with the local file by its sha256
   (GitHub's ``digest`` field, or the downloaded bytes when it has none):
   different bytes, or an asset that is not ours, are refused by name;
   one whose upload never completed (``state`` other than ``uploaded``) is
   deleted and uploaded again;
3. every missing file is uploaded;
4. the draft is published (``draft: false``) only when a fresh listing shows
   every asset uploaded and matching.

A re-run resumes a draft where the last one stopped; a re-run of the
published, complete release changes nothing; a published release with other,
different or missing assets is refused and left alone (GitHub's immutable
releases refuse such changes too). A POST whose outcome is unknown (the
release, an upload) is never sent again blindly: the release is looked up
first (again after a short wait: GitHub's lists catch up with writes
eventually). Duplicate drafts of the tag (left by such a fault) are deleted
but for the oldest, which is used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import CheckFailed, GitHubError, InputError

if TYPE_CHECKING:
    from pipeline.github import GitHub
    from pipeline.release import Release

SETTLE = 2.0  # seconds for GitHub's lists to catch up with a write whose reply was lost
UPLOADED = "uploaded"


@dataclass(frozen=True)
class LocalAsset:
    """A file to attach, with the sha256 (hex) of its bytes."""

    name: str
    path: Path
    sha256: str


@dataclass(frozen=True)
class Comparison:
    """What the release holds compared with the local files (names, sorted)."""

    missing: tuple[str, ...] = ()
    incomplete: tuple[str, ...] = ()  # an upload that never finished: delete and upload again
    different: tuple[str, ...] = ()  # same name, other bytes: refused
    extra: tuple[str, ...] = ()  # an asset no local file names: refused

    @property
    def complete(self) -> bool:
        """Every file there, complete and matching, and nothing else."""
        return not (self.missing or self.incomplete or self.different or self.extra)

    def refusals(self) -> str:
        """The refused differences as one phrase ("" when none)."""
        parts = []
        if self.different:
            parts.append("different bytes under the names " + ", ".join(self.different))
        if self.extra:
            parts.append("assets no local file names: " + ", ".join(self.extra))
        return "; ".join(parts)

    def describe(self) -> str:
        """Every difference as one phrase."""
        parts = [self.refusals()] if self.refusals() else []
        if self.missing:
            parts.append("missing " + ", ".join(self.missing))
        if self.incomplete:
            parts.append("incomplete uploads of " + ", ".join(self.incomplete))
        return "; ".join(parts)


def local_assets(files: list[Path]) -> list[LocalAsset]:
    """The files to attach, hashed; two files with one name are a usage error."""
    names = sorted(p.name for p in files)
    if len(set(names)) != len(names):
        raise InputError(f"two assets share a name: {names}")
    found = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise InputError(f"cannot read {path}: {error.strerror}") from None
        found.append(LocalAsset(path.name, path, hashlib.sha256(data).hexdigest()))
    return sorted(found, key=lambda a: a.name)


def compare(local: list[LocalAsset], remote: list[dict[str, Any]], digests: dict[str, str]) -> Comparison:
    """Compare the release's assets with the files; ``digests`` maps a remote name to its sha256 hex.

    Pure: the caller found the digests (GitHub's field or the bytes).
    """
    wanted = {a.name: a.sha256 for a in local}
    by_name = {str(a.get("name", "")): a for a in remote}
    missing = sorted(n for n in wanted if n not in by_name)
    extra = sorted(n for n in by_name if n not in wanted)
    incomplete, different = [], []
    for name, asset in by_name.items():
        if name not in wanted:
            continue
        if asset.get("state", UPLOADED) != UPLOADED:
            incomplete.append(name)
        elif digests.get(name, "").lower() != wanted[name]:
            different.append(name)
    return Comparison(tuple(missing), tuple(sorted(incomplete)), tuple(sorted(different)), tuple(extra))


def _digest_field(asset: dict[str, Any]) -> str:
    """The hex of GitHub's ``digest: "sha256:..."`` (since 2025), or "" when absent or another algorithm."""
    value = str(asset.get("digest") or "")
    algorithm, _, hexdigits = value.partition(":")
    return hexdigits.lower() if algorithm == "sha256" and len(hexdigits) == 64 else ""


class Publisher:
    """One release of one tag, driven to "published, complete" from wherever it stands."""

    def __init__(
        self,
        github: GitHub,
        repository: str,
        target: Release,
        notes: str,
        assets: list[LocalAsset],
        say: Callable[[str], None] = print,
    ) -> None:
        self.github = github
        self.base = f"/repos/{repository}/releases"
        self.target = target
        self.notes = notes
        self.assets = assets
        self.say = say

    # -- reading ---------------------------------------------------------------

    def _find(self) -> dict[str, Any] | None:
        """The release of the tag: the published one, else the oldest draft (other drafts are deleted)."""
        matches = [
            r
            for r in self.github.paginate(self.base)
            if isinstance(r, dict) and r.get("tag_name") == self.target.tag and isinstance(r.get("id"), int)
        ]
        published = [r for r in matches if not r.get("draft")]
        if published:
            return published[0]
        drafts = sorted(matches, key=lambda r: int(r["id"]))
        for duplicate in drafts[1:]:
            self._delete(f"{self.base}/{int(duplicate['id'])}")
            self.say(f"deleted a duplicate draft of {self.target.tag} (id {int(duplicate['id'])})")
        return drafts[0] if drafts else None

    def _remote_assets(self, release: dict[str, Any]) -> list[dict[str, Any]]:
        return [a for a in self.github.paginate(f"{self.base}/{int(release['id'])}/assets") if isinstance(a, dict)]

    def _digests(self, remote: list[dict[str, Any]]) -> dict[str, str]:
        """Each complete asset's sha256: GitHub's field, else its downloaded bytes."""
        digests = {}
        for asset in remote:
            if asset.get("state", UPLOADED) != UPLOADED:
                continue
            name = str(asset.get("name", ""))
            digests[name] = _digest_field(asset) or self._download_digest(asset)
        return digests

    def _download_digest(self, asset: dict[str, Any]) -> str:
        """Hash an asset's bytes: the API redirects to its storage host, which gets no token."""
        url = str(asset.get("url", ""))
        if not url:
            raise GitHubError(f"the asset {asset.get('name')!r} has no API URL to read it from")
        reply = self.github.request("GET", url, headers={"Accept": "application/octet-stream"}, allow_redirects=False)
        location = reply.headers.get("Location", "")
        data = self.github.download(location) if reply.is_redirect and location else reply.content
        return hashlib.sha256(data).hexdigest()

    def _compare(self, release: dict[str, Any]) -> tuple[Comparison, list[dict[str, Any]]]:
        remote = self._remote_assets(release)
        return compare(self.assets, remote, self._digests(remote)), remote

    # -- writing ---------------------------------------------------------------

    def _delete(self, path: str) -> None:
        try:
            self.github.request("DELETE", path)
        except GitHubError as error:
            if error.status != 404:  # gone already: what we wanted
                raise

    def _create_draft(self) -> dict[str, Any]:
        fields = {
            "tag_name": self.target.tag,
            "name": self.target.version,
            "body": self.notes,
            "prerelease": self.target.prerelease,
            "draft": True,
        }
        try:
            made = self.github.json("POST", self.base, json=fields)
        except GitHubError as error:
            if not error.uncertain:
                raise
            found = self._find()
            if found is None:
                self.github.settle(SETTLE)
                found = self._find()
            if found is not None:
                return found
            made = self.github.json("POST", self.base, json=fields)
        if not isinstance(made, dict) or not isinstance(made.get("id"), int):
            raise GitHubError("GitHub created the release but its reply has no id")
        self.say(f"created the draft release {self.target.tag}")
        return made

    def _upload(self, release: dict[str, Any], asset: LocalAsset) -> None:
        """Upload one file; an unknown outcome is looked up before anything is sent again."""
        upload = str(release.get("upload_url", "")).split("{", 1)[0]
        if not upload:
            raise CheckFailed(f"the draft release {self.target.tag} has no upload URL")
        data = asset.path.read_bytes()
        try:
            self.github.upload(upload, asset.name, data)
        except GitHubError as error:
            if not (error.uncertain or error.status == 422):  # 422: that name is there already
                raise
            there = self._named(release, asset.name)
            if there is None and error.uncertain:
                self.github.settle(SETTLE)
                there = self._named(release, asset.name)
            if there is not None and there.get("state", UPLOADED) == UPLOADED:
                if (_digest_field(there) or self._download_digest(there)) != asset.sha256:
                    raise CheckFailed(f"{self.target.tag}: {asset.name} is there with different bytes") from None
            else:
                if there is not None:
                    self._delete(f"{self.base}/assets/{int(there['id'])}")
                self.github.upload(upload, asset.name, data)
        self.say(f"uploaded {asset.name} (sha256 {asset.sha256[:12]})")

    def _named(self, release: dict[str, Any], name: str) -> dict[str, Any] | None:
        return next((a for a in self._remote_assets(release) if a.get("name") == name), None)

    # -- the whole -------------------------------------------------------------

    def run(self) -> str:
        """Drive the release to published and complete; returns "published" or "unchanged"."""
        tag = self.target.tag
        release = self._find()
        if release is not None and not release.get("draft"):
            state, _ = self._compare(release)
            if state.complete:
                self.say(f"{tag} is already published with these {len(self.assets)} assets: unchanged")
                return "unchanged"
            raise CheckFailed(
                f"{tag} is published with other assets ({state.describe()}): refusing to change a published "
                "release; turn it back into a draft (or delete it) and re-run to resume"
            )
        if release is None:
            release = self._create_draft()
        else:
            self.say(f"resuming the draft release {tag} (id {int(release['id'])})")
        state, remote = self._compare(release)
        if state.refusals():
            raise CheckFailed(f"the draft release {tag} holds {state.refusals()}: refusing to publish it")
        ids = {str(a.get("name", "")): a.get("id") for a in remote}
        by_name = {a.name: a for a in self.assets}
        for name in state.incomplete:
            self._delete(f"{self.base}/assets/{int(str(ids[name]))}")
            self.say(f"deleted the incomplete upload of {name}")
        for name in (*state.incomplete, *state.missing):
            self._upload(release, by_name[name])
        final, _ = self._compare(release)
        if not final.complete and not final.refusals():  # the list may not show the newest uploads yet
            self.github.settle(SETTLE)
            final, _ = self._compare(release)
        if not final.complete:
            raise CheckFailed(f"the draft release {tag} is not complete after the uploads ({final.describe()})")
        published = self.github.json(
            "PATCH",
            f"{self.base}/{int(release['id'])}",
            json={
                "draft": False,
                "name": self.target.version,
                "body": self.notes,
                "prerelease": self.target.prerelease,
            },
        )
        if not isinstance(published, dict) or published.get("draft") is not False:
            raise GitHubError(f"GitHub did not publish the draft release {tag}")
        self.say(f"published {tag} with {len(self.assets)} assets, every digest checked")
        return "published"
