"""``python -m pipeline <command>``: one entry point, one error handler.

Exit status: 0 success, 1 the checked thing failed, 2 bad usage or input.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import sys
from typing import TYPE_CHECKING

from pipeline.commands import cd, ci, rel
from pipeline.errors import InputError, PipelineError, one_line

if TYPE_CHECKING:
    from collections.abc import Sequence


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so one handler reports."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{self.prog}: {message}")


def _verify_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", action="append", help="bundle file (repeatable); default: the API")
    parser.add_argument("--repository", default="", help="owner/name (default $GITHUB_REPOSITORY)")
    parser.add_argument("--repository-id", default="", help="numeric id (default $GITHUB_REPOSITORY_ID)")
    parser.add_argument("--ref", default="", help="source ref (default $GITHUB_REF)")
    parser.add_argument("--signer-workflow", default=".github/workflows/ci.yml")
    parser.add_argument("--build-config", default="", help="calling workflow of a reusable signer")
    parser.add_argument("--run-id", default="", help="the run that must have signed")
    parser.add_argument("--run-attempt", default="1")
    parser.add_argument(
        "--commit",
        default="",
        help="the full SHA the certificate's source commit must be (deploy: default --sha's; verify: not pinned)",
    )
    parser.add_argument(
        "--issuer", default=None, help="OIDC issuer (default: the trusted instance's; GitHub's unless $LOCAL_SIGSTORE)"
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="trust root from the sigstore package, no TUF update ($SIGSTORE_OFFLINE=1)",
    )


def _local_runs_installed() -> bool:
    """Whether the local-only modules are here (a checkout, not the toolkit's install).

    The toolkit leaves out the local pipeline, the local release runner and
    the local signer; their commands are then not offered at all, rather than
    failing with an import error.
    """
    return importlib.util.find_spec("pipeline.local") is not None


@functools.cache
def build_parser() -> argparse.ArgumentParser:
    """All commands and their flags, built once per process.

    Building takes ~15 ms (27 parsers, each looking up argparse's message
    translations); parsing does not change the parser, so every call of
    ``main`` in one process (the test suite makes ~180) reuses it. It keeps the
    command functions of that first build: a test replaces what a command
    calls, not the command.
    """
    parser = _Parser(prog="python -m pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("matrix", help="the test matrix as JSON").set_defaults(func=ci.cmd_matrix)
    sub.add_parser("pythons", help="check matrix interpreters").set_defaults(func=ci.cmd_pythons)
    p = sub.add_parser("combine-coverage", help="combine the matrix's coverage data")
    p.add_argument("directory", nargs="?", default="reports")
    p.set_defaults(func=ci.cmd_combine)

    p = sub.add_parser("image-tags", help="image name, tags, push decision")
    p.add_argument("--registry", default="", help="default $IMAGE_REGISTRY, else ghcr.io")
    p.add_argument("--plan", default="reports/image-plan.json")
    p.set_defaults(func=ci.cmd_image_tags)

    p = sub.add_parser("image-build", help="build the image with the planned tags")
    p.add_argument("--plan", default="reports/image-plan.json")
    p.add_argument("--context", default="", help="the build context (default: the profile's context)")
    p.add_argument("--base", default="", help="override the base image (default $BASE_IMAGE)")
    p.add_argument("--host-network", action="store_true", help="build with --network host ($IMAGE_BUILD_NETWORK=host)")
    p.set_defaults(func=ci.cmd_image_build)

    p = sub.add_parser("image-save", help="save the built image as an archive for the job that pushes")
    p.add_argument("--plan", default="reports/image-plan.json")
    p.add_argument("--output", default="reports/image.tar")
    p.set_defaults(func=ci.cmd_image_save)

    p = sub.add_parser("image-load", help="load the build job's archive if it is the declared one; tag it")
    p.add_argument("--plan", default="reports/image-plan.json")
    p.add_argument("--archive", required=True, help="the archive image-save wrote")
    p.add_argument("--archive-sha256", required=True, help="its declared sha256 (64 hex)")
    p.add_argument("--image-id", required=True, help="its declared image ID (sha256:...)")
    p.set_defaults(func=ci.cmd_image_load)

    p = sub.add_parser("image-push", help="push when allowed; write the image JSON")
    p.add_argument("--plan", default="reports/image-plan.json")
    p.add_argument("--output", default="reports/image.json")
    p.set_defaults(func=ci.cmd_image_push)

    p = sub.add_parser("sbom", help="CycloneDX SBOM of the image")
    p.add_argument("--image-json", default="reports/image.json")
    p.add_argument("--plan", default="", help="the planned image in the engine, instead (before the push)")
    p.add_argument("--output", default="reports/sbom.json")
    p.add_argument("--insecure-registry", action="store_true", help="plain HTTP (local registry)")
    p.set_defaults(func=ci.cmd_sbom)

    p = sub.add_parser("report", help="render the CI report (and comment)")
    p.add_argument("--reports", default="reports")
    p.add_argument("--output", default="reports/ci-report.md")
    p.add_argument("--sha", default="")
    p.add_argument("--branch", default="")
    p.add_argument("--pr", default="", help="PR number to comment on")
    p.add_argument("--strict", action="store_true", help="exit 1 when the report is red")
    p.add_argument("--artifacts-from-api", action="store_true", help="link this run's artifacts")
    p.set_defaults(func=ci.cmd_report)

    p = sub.add_parser("verify", help="verify a Sigstore attestation")
    p.add_argument("--digest", default="")
    p.add_argument("--artifact", default="", help="verify a message signature over this file")
    p.add_argument("--json", action="store_true")
    p.add_argument("--from-registry", default="", help="registry/name: bundles attached to the image (OCI referrers)")
    _verify_flags(p)
    p.set_defaults(func=cd.cmd_verify)

    p = sub.add_parser("deploy", help="verified deployment by digest")
    p.add_argument("--image", default="", help="registry/name:tag or @sha256:...")
    p.add_argument("--sha", default="", help="deploy <registry>/<repository>:sha-<SHA> (CI's tag)")
    p.add_argument("--registry", default="", help="default $IMAGE_REGISTRY, else ghcr.io")
    p.add_argument("--environment", default="preview")
    p.add_argument("--no-verify", action="store_true", help="skip verification (the report says so)")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--output", default="reports/cd-report.json")
    p.add_argument("--pr", default="")
    _verify_flags(p)
    p.set_defaults(func=cd.cmd_deploy)

    p = sub.add_parser("ci-report", help="the CI report job (reads the workflow's env)")
    p.add_argument("--reports", default="reports")
    p.set_defaults(func=ci.cmd_ci_report)

    sub.add_parser("cd-deploy", help="CD's deploy job (reads the guard's outputs from env)").set_defaults(
        func=cd.cmd_cd_deploy
    )

    p = sub.add_parser("cd-comment", help="post the deploy job's report on the PR ($PR_NUMBER)")
    p.add_argument("--report", default="reports/cd-report.md")
    p.set_defaults(func=cd.cmd_cd_comment)

    sub.add_parser("cd-guard", help="should CD act on this workflow_run?").set_defaults(func=cd.cmd_cd_guard)

    sub.add_parser("all-green", help="one verdict over the CI jobs ($NEEDS: toJSON(needs))").set_defaults(
        func=ci.cmd_all_green
    )

    p = sub.add_parser("release-prepare", help="set the version, roll the CHANGELOG (never pushes)")
    p.add_argument("version", help="X.Y.Z, or X.Y.ZaN / bN / rcN")
    p.add_argument("--date", default="", help="the release date (default: today, UTC)")
    p.set_defaults(func=rel.cmd_release_prepare)

    p = sub.add_parser("release-check", help="may this tag be released? (release.yml)")
    p.add_argument("--tag", default="", help="default $GITHUB_REF")
    p.add_argument("--sha", default="", help="default $GITHUB_SHA")
    p.add_argument("--no-image", action="store_true", help="skip the check of CI's image")
    p.set_defaults(func=rel.cmd_release_check)

    p = sub.add_parser("release-notes", help="the GitHub Release's notes")
    p.add_argument("--tag", default="", help="default $GITHUB_REF")
    p.add_argument("--image", default="", help="the image by digest")
    p.add_argument("--output", default="reports/release.md")
    p.set_defaults(func=rel.cmd_release_notes)

    p = sub.add_parser("release-promote", help="tag the verified digest X.Y.Z, X.Y, latest")
    p.add_argument("--image", required=True, help="registry/name@sha256:...")
    p.add_argument("--tags", required=True, help="space-separated tags")
    p.set_defaults(func=rel.cmd_release_promote)

    p = sub.add_parser("release-build", help="wheel and sdist, reproducible, metadata checked")
    p.add_argument("--output", default="dist", help="the distributions (only they: what PyPI takes)")
    p.add_argument("--sums", default="checksums/SHA256SUMS", help="their SHA256SUMS")
    p.set_defaults(func=rel.cmd_release_build)

    p = sub.add_parser("sbom-dist", help="CycloneDX SBOM of the distribution files")
    p.add_argument("--dir", default="dist")
    p.add_argument("--output", default="", help="default sbom/<distribution>.cdx.json (the profile's)")
    p.set_defaults(func=rel.cmd_sbom_dist)

    p = sub.add_parser("verify-release", help="every file of a release attested by release.yml at its tag")
    p.add_argument("tag", help="vX.Y.Z")
    p.add_argument("--dir", required=True, help="the downloaded assets and their bundles")
    p.add_argument("--repository", default="", help="owner/name (default $GITHUB_REPOSITORY)")
    p.add_argument("--signer-workflow", default=".github/workflows/release.yml")
    p.add_argument("--ref", default="", help="default refs/tags/<tag>")
    p.add_argument(
        "--commit",
        default="",
        help="the tag's commit, which every certificate must name (default: git rev-parse <tag>^{commit} here)",
    )
    p.add_argument("--offline", action="store_true", help="trust root from the sigstore package")
    p.set_defaults(func=rel.cmd_verify_release)

    p = sub.add_parser("release-publish", help="the GitHub Release with every file as an asset")
    p.add_argument("--tag", default="", help="default $GITHUB_REF")
    p.add_argument("--notes", default="reports/release.md")
    p.add_argument("--dir", action="append", required=True, help="a folder of assets (repeatable)")
    p.set_defaults(func=rel.cmd_release_publish)

    if _local_runs_installed():
        _local_commands(sub)
    return parser


def _local_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    """The commands of local runs and the act stand-ins only (not in the toolkit)."""
    p = sub.add_parser("attest", help="sign provenance (or an SBOM) of an image digest or files as this run")
    p.add_argument("--subject-name", default="", help="image name, no tag")
    p.add_argument("--subject-digest", default="", help="sha256:... (with --subject-name)")
    p.add_argument("--subject-path", action="append", default=[], help="file glob (repeatable), instead of an image")
    p.add_argument("--sbom-path", default="", help="attest this CycloneDX SBOM instead of provenance")
    p.add_argument(
        "--workflow", default=".github/workflows/ci.yml", help="the signing workflow (default $GITHUB_WORKFLOW_REF's)"
    )
    p.add_argument("--output", default="", help="bundle file (default reports/<kind>.sigstore.json)")
    p.add_argument("--push-to-registry", action="store_true", help="also store it next to the image (OCI referrer)")
    p.set_defaults(func=ci.cmd_attest)

    p = sub.add_parser("release", help="release.yml's stages on this machine (--dry-run)")
    p.add_argument("version", help="X.Y.Z, or X.Y.ZaN / bN / rcN")
    p.add_argument("--dry-run", action="store_true", required=True, help="required: releases happen in release.yml")
    p.add_argument("--reports", default="reports")
    p.set_defaults(func=rel.cmd_release_dry_run)

    p = sub.add_parser("local", help="the whole pipeline on this machine")
    p.add_argument("--no-container", action="store_true", help="skip image, push, SBOM and deploy")
    p.add_argument("--reports", default="reports")
    p.set_defaults(func=ci.cmd_local)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, dispatch, and turn every domain error into one line and a status."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except PipelineError as error:
        print(f"error: {one_line(error, limit=None)}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 1
