"""``hatch run release --dry-run X.Y.Z``: release.yml's stages on this machine.

The release is prepared in a scratch copy of the working tree (the real
files are not touched), checked, built twice to prove the build
reproducible, described, attested as release.yml at the tag would be
(through the local Sigstore authority), verified the way a user verifies a
downloaded release, and CI's local image for this commit is promoted in the
local registry. GitHub is not there: the GitHub Release is written as
``reports/release.md`` instead of published.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pipeline import attest, distribution, grammar, image, registry, release, signing, verify
from pipeline import profile as service_profile
from pipeline.errors import CheckFailed
from pipeline.local import LOCAL_BRANCH, LOCAL_REPOSITORY, Stage, run_stages, summary_table
from pipeline.settings import LOCAL_SIGSTORE, Settings
from pipeline.trust import Trust

RELEASE_WORKFLOW = ".github/workflows/release.yml"


def _git(cwd: Path, *args: str) -> str:
    ident = ["-c", "user.name=release dry run", "-c", "user.email=dry-run@example.invalid"]
    return subprocess.run(
        ["git", *ident, *args],  # noqa: S607
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()


def run_dry_run(version: str, reports: Path, settings: Settings) -> int:
    """Every stage with its time; exit 1 when one fails (the rest are skipped)."""
    target = release.parse_version(version)
    root = Path.cwd()
    sha = _git(root, "rev-parse", "HEAD")
    service = service_profile.load(root)
    with tempfile.TemporaryDirectory(prefix="release-dry-run-") as scratch:
        copy = Path(scratch, "repo")
        state: dict[str, str] = {}

        def prepare() -> str:
            _git(root, "worktree", "add", "--detach", str(copy), sha)
            init, changelog = copy / service.version_file, copy / "CHANGELOG.md"
            init.write_text(release.set_version(init.read_text(encoding="utf-8"), target), encoding="utf-8")
            if not release.changelog_section(changelog.read_text(encoding="utf-8"), target.version):
                today = dt.datetime.now(dt.timezone.utc).date().isoformat()
                rolled = release.roll_changelog(changelog.read_text(encoding="utf-8"), target, today)
                changelog.write_text(rolled, encoding="utf-8")
            return f"{target.tag} prepared in a scratch worktree of {sha[:12]}"

        def check() -> str:
            init = (copy / service.version_file).read_text(encoding="utf-8")
            changelog = (copy / "CHANGELOG.md").read_text(encoding="utf-8")
            _, problems = release.check(target.tag, init, changelog, on_main=True)
            name = image.image_name(settings.local_registry, LOCAL_REPOSITORY)
            try:
                tag = grammar.commit_tag(sha, image.commit_scope(LOCAL_BRANCH))
                ref = registry.resolve(registry.parse_reference(f"{name}:{tag}"))
                state["image"] = ref.pinned
            except CheckFailed as error:
                problems.append(f"no local image for this commit ({error}): run `hatch run pipeline` first")
            if problems:
                raise CheckFailed("; ".join(problems))
            return f"tag = version, CHANGELOG section, image {state['image']}"

        def build_twice() -> str:
            epoch = distribution.commit_epoch()
            first = _build_in(copy, Path(scratch, "dist-1"), epoch)
            second = _build_in(copy, Path(scratch, "dist-2"), epoch)
            if first != second:
                raise CheckFailed("two builds of one commit differ: the build is not reproducible")
            dist = reports / "dist"
            shutil.rmtree(dist, ignore_errors=True)
            shutil.copytree(Path(scratch, "dist-1"), dist)
            return f"2 builds, byte-identical, metadata valid (SOURCE_DATE_EPOCH={epoch}); {dist}"

        def sbom() -> str:
            count = distribution.sbom(
                reports / "dist", reports / "sbom" / f"{service.distribution}.cdx.json", service.file_prefix
            )
            return f"CycloneDX, {count} components"

        assets = reports / "release-assets"
        trust = Trust(local_url=settings.local_sigstore or LOCAL_SIGSTORE)
        run = signing.Workflow(
            repository=LOCAL_REPOSITORY,
            ref=f"refs/tags/{target.tag}",
            sha=sha,
            run_id=str(int(time.time())),
            path=RELEASE_WORKFLOW,
        )

        def attest_files() -> str:
            """The files a release attaches, signed as release.yml at the tag, gathered as its assets."""
            shutil.rmtree(assets, ignore_errors=True)
            assets.mkdir(parents=True)
            for path in [*(reports / "dist").iterdir(), *(reports / "sbom").iterdir()]:
                shutil.copy2(path, assets / path.name)
            subjects = attest.file_subjects([str(assets / f"{service.file_prefix}-*"), str(assets / "*.cdx.json")])
            attest.attest(subjects, trust=trust, run=run, output=assets / "release.sigstore.json")
            return f"{len(subjects)} files signed as {run.workflow_ref} ({trust.describe()})"

        def verify_release() -> str:
            """What a user runs on the downloaded assets: hatch run ci verify-release."""
            expected = verify.Expectations(
                repository=LOCAL_REPOSITORY,
                ref=run.ref,
                signer_workflow=RELEASE_WORKFLOW,
                issuer=trust.issuer,
                commit=run.sha,
            )
            verified = distribution.verify_assets(assets, target.tag, expected, trust)
            return f"{len(verified)} files verified in {assets}"

        def promote() -> str:
            done = registry.promote(registry.parse_reference(state["image"]), target.image_tags)
            return ", ".join(f"{tag} {action}" for tag, action in done.items())

        def notes() -> str:
            changelog = (copy / "CHANGELOG.md").read_text(encoding="utf-8")
            repository = settings.repository or LOCAL_REPOSITORY
            body = distribution.release_notes(target, changelog, state["image"], repository)
            (reports / "release.md").write_text(body, encoding="utf-8")
            return f"{reports / 'release.md'} (not published: GitHub is not here)"

        stages = [
            Stage("prepare", prepare),
            Stage("check", check),
            Stage("build twice", build_twice),
            Stage("SBOM", sbom),
            Stage("attest", attest_files),
            Stage("verify release", verify_release),
            Stage("promote image", promote),
            Stage("release notes", notes),
        ]
        failed = run_stages(stages)
        if copy.exists():
            _git(root, "worktree", "remove", "--force", str(copy))
    print(summary_table(stages))
    return 1 if failed else 0


def _build_in(project: Path, out: Path, epoch: str) -> str:
    """Build in the prepared copy; return ``SHA256SUMS`` (the comparison of two builds)."""
    import os  # noqa: PLC0415

    here = Path.cwd()
    try:
        os.chdir(project)
        return distribution.build_release(out, epoch, service_profile.load(project).file_prefix)
    finally:
        os.chdir(here)
