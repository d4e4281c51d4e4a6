"""The commands of the release flow: prepare locally, then release.yml's jobs.

Every check comes before any write: ``release-check`` refuses a bad tag
before anything is built, and ``release-promote`` and ``release-publish``
leave a finished release unchanged when re-run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
from pathlib import Path

from pipeline import actions, distribution, grammar, release, trust
from pipeline.commands import common
from pipeline.errors import CheckFailed, InputError

CHANGELOG = Path("CHANGELOG.md")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None


def cmd_release_prepare(args: argparse.Namespace) -> int:
    """Set the version, roll the CHANGELOG, print the commit and tag to make. Never pushes."""
    target = release.parse_version(args.version)
    date = args.date or dt.datetime.now(dt.timezone.utc).date().isoformat()
    version_file = Path(common.profile().version_file)
    init_text, changelog = _read(version_file), _read(CHANGELOG)
    # Both edits are computed (and may refuse) before either file is written.
    new_init = release.set_version(init_text, target)
    new_changelog = release.roll_changelog(changelog, target, date)
    version_file.write_text(new_init, encoding="utf-8")
    CHANGELOG.write_text(new_changelog, encoding="utf-8")
    kind = "pre-release" if target.prerelease else "release"
    print(f"prepared {kind} {target.version} ({date}): {version_file} and {CHANGELOG} updated. Next:")
    print(f"  git commit -am 'Release {target.version}' && git tag -s {target.tag} -m '{target.version}'")
    print(f"  git push origin main {target.tag}   # release.yml takes it from there")
    return 0


def _on_main(sha: str) -> bool:
    """Whether the commit is on main (``origin/main``, fetched by the checkout)."""
    for branch in ("origin/main", "main"):
        result = subprocess.run(
            ["git", "merge-base", "--is-ancestor", sha, branch],  # noqa: S607
            capture_output=True,
            check=False,
            timeout=30,
        )
        if result.returncode in (0, 1):
            return result.returncode == 0
    return False


def cmd_release_check(args: argparse.Namespace) -> int:
    """release.yml's first job: every condition, all reported, before anything is built."""
    settings = common.settings()
    tag = args.tag or settings.ref
    sha = grammar.require_sha(args.sha or settings.sha)
    service = common.profile()
    target, problems = release.check(tag, _read(Path(service.version_file)), _read(CHANGELOG), on_main=_on_main(sha))
    image = ""
    if not args.no_image:
        from pipeline import registry  # noqa: PLC0415
        from pipeline.image import service_image  # noqa: PLC0415

        name = service_image(settings.image_registry, "/".join(settings.require_repository()), service.image)
        try:
            wanted = registry.parse_reference(f"{name}:{grammar.commit_tag(sha)}")
            image = registry.resolve(wanted, settings.job.registry_token, budget=settings.budget).pinned
        except CheckFailed as error:
            problems.append(f"CI's image for {sha[:12]} is not there ({error}): did CI succeed for this commit?")
    if problems:
        raise CheckFailed(f"{target.tag} is not released: " + "; ".join(problems))
    outputs = {
        "version": target.version,
        "tag": target.tag,
        "prerelease": str(target.prerelease).lower(),
        "image": image,
        "digest": image.rpartition("@")[2],
        "image-tags": " ".join(target.image_tags),
    }
    actions.set_outputs(settings.output, outputs)
    print(f"{target.tag} may be released" + (f": image {image}" if image else ""))
    return 0


def cmd_release_notes(args: argparse.Namespace) -> int:
    """Write the release notes file (the publish job's body)."""
    settings = common.settings()
    target = release.parse_tag(args.tag or settings.ref)
    body = distribution.release_notes(target, _read(CHANGELOG), args.image, settings.repository or "OWNER/REPO")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    actions.append_summary(settings.step_summary, body)
    print(f"release notes written to {out}")
    return 0


def cmd_release_promote(args: argparse.Namespace) -> int:
    """Point the release's image tags at the verified digest (registry API, no rebuild)."""
    from pipeline import registry  # noqa: PLC0415

    settings = common.settings()
    pinned = registry.parse_reference(args.image)
    tags = tuple(args.tags.split())
    done = registry.promote(pinned, tags, settings.job.registry_token, budget=settings.budget)
    for tag, action in done.items():
        print(f"{pinned.name}:{tag} -> {pinned.digest}: {action}")
    return 0


def _assets(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.iterdir() if p.is_file())
    except OSError as error:
        raise InputError(f"cannot read {directory}: {error.strerror}") from None


def cmd_release_publish(args: argparse.Namespace) -> int:
    """The GitHub Release: a draft until every asset is there with its digest checked, then published.

    A re-run resumes what is missing; a published, complete release is left
    unchanged; different bytes, or other assets, are refused by name
    (``pipeline.publish``).
    """
    from pipeline import publish  # noqa: PLC0415

    settings = common.settings()
    target = release.parse_tag(args.tag or settings.ref)
    files = [p for d in args.dir for p in _assets(Path(d))]
    if not files:
        raise InputError("no files to publish")
    assets = publish.local_assets(files)
    repository = "/".join(settings.require_repository())
    notes = _read(Path(args.notes))
    done = publish.Publisher(common.github(settings), repository, target, notes, assets).run()
    if done == "published":
        actions.append_summary(settings.step_summary, f"Published {target.tag} with {len(assets)} assets")
    return 0


def cmd_release_build(args: argparse.Namespace) -> int:
    """Build once, reproducibly, and check the metadata before anything is attested."""
    epoch = distribution.commit_epoch()
    prefix = common.profile().file_prefix
    sums = distribution.build_release(Path(args.output), epoch, prefix, Path(args.sums))
    print(sums + f"(SOURCE_DATE_EPOCH={epoch}, the commit's time)")
    return 0


def cmd_verify_release(args: argparse.Namespace) -> int:
    """Every file of a downloaded release is attested by release.yml at the release's tag.

    Bundles are the ``*.sigstore.json`` / ``*.jsonl`` files of the folder;
    every other file but ``SHA256SUMS`` is a subject, and a file no bundle
    covers is refused with its name.
    """
    from pipeline import verify  # noqa: PLC0415

    settings = common.settings()
    target = release.parse_tag(args.tag)
    chosen = trust.select(settings, offline=args.offline or settings.job.sigstore_offline)
    expected = verify.Expectations(
        repository=args.repository or settings.repository,
        ref=args.ref or f"refs/tags/{target.tag}",
        signer_workflow=args.signer_workflow,
        issuer=chosen.issuer,
        server_url=settings.server_url,
        commit=args.commit or distribution.tag_commit(target.tag),
    )
    verified = distribution.verify_assets(Path(args.dir), target.tag, expected, chosen)
    for name, digest in verified:
        print(f"verified: {name} sha256:{digest}")
    print(f"{target.tag}: all {len(verified)} files attested by {expected.signer_uri}")
    return 0


def cmd_sbom_dist(args: argparse.Namespace) -> int:
    """A CycloneDX SBOM of the distribution files (syft), beside CI's SBOM of the image."""
    folder, service = Path(args.dir), common.profile()
    output = Path(args.output or f"sbom/{service.distribution}.cdx.json")
    count = distribution.sbom(folder, output, service.file_prefix)
    print(f"SBOM of {folder}: {count} components -> {output}")
    return 0


def cmd_release_dry_run(args: argparse.Namespace) -> int:
    """The release flow on this machine, on a scratch copy: nothing is published."""
    from pipeline.release_local import run_dry_run  # noqa: PLC0415

    reports = Path(args.reports)
    reports.mkdir(parents=True, exist_ok=True)
    return run_dry_run(args.version, reports, common.settings())
