"""``python -m pipeline <command>``: one entry point, one error handler.

Exit status: 0 success, 1 the checked thing failed, 2 bad usage or input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import actions
from pipeline.errors import InputError, PipelineError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pipeline.settings import Settings


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so one handler reports."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{self.prog}: {message}")


def _settings() -> Settings:
    from pipeline.settings import Settings  # noqa: PLC0415

    return Settings.from_env(dict(os.environ))


def _github(settings: Settings):  # noqa: ANN202
    from pipeline.github import GitHub  # noqa: PLC0415

    return GitHub(settings)


def cmd_matrix(args: argparse.Namespace) -> int:
    """Print the matrix as JSON and set it as the ``matrix`` step output."""
    from pipeline.matrix import read_matrix  # noqa: PLC0415

    versions = json.dumps({"python": read_matrix()})
    print(versions)
    actions.set_outputs(_settings().output, {"matrix": versions})
    return 0


def cmd_pythons(args: argparse.Namespace) -> int:
    """Check every matrix interpreter is on PATH."""
    from pipeline.matrix import read_matrix, require_pythons  # noqa: PLC0415

    versions = read_matrix()
    require_pythons(versions)
    print("interpreters found: " + ", ".join(f"python{v}" for v in versions))
    return 0


def cmd_combine(args: argparse.Namespace) -> int:
    """Combine every ``.coverage.*`` under the directory into reports/coverage.xml."""
    import coverage  # noqa: PLC0415

    directory = Path(args.directory)
    files = sorted(str(p) for p in directory.glob(".coverage.*"))
    if not files:
        raise InputError(f"no .coverage.* data files in {directory}")
    cov = coverage.Coverage(data_file=str(directory / ".coverage"))
    cov.combine(files, keep=True)
    cov.save()
    total = cov.xml_report(outfile=str(directory / "coverage.xml"))
    print(f"combined {len(files)} data files: total {total:.2f}%")
    return 0


def cmd_image_tags(args: argparse.Namespace) -> int:
    """Name, tags and whether this run may push, as step outputs."""
    from pipeline.image import image_ref, publish_decision  # noqa: PLC0415

    settings = _settings()
    event = settings.event()
    pr = event.get("pull_request") if isinstance(event.get("pull_request"), dict) else None
    branch = str(pr["head"]["ref"]) if pr else os.environ.get("GITHUB_REF_NAME", "")
    sha = str(pr["head"]["sha"]) if pr else settings.sha
    ref = image_ref(args.registry, settings.repository, sha, branch, int(pr["number"]) if pr else None)
    push, reason = publish_decision(settings.event_name, settings.ref, event, settings.repository)
    actions.set_outputs(
        settings.output,
        {
            "name": ref.name,
            "tags": "\n".join(ref.references),
            "sha-tag": f"{ref.name}:sha-{sha}",
            "push": "true" if push else "false",
            "reason": reason,
        },
    )
    print(json.dumps({"name": ref.name, "tags": list(ref.tags), "push": push, "reason": reason}))
    if not push:
        actions.append_summary(settings.step_summary, f"**Image**: built, not pushed ({reason})")
    return 0


def cmd_image_json(args: argparse.Namespace) -> int:
    """Write the image JSON the report reads (name, tags, digest, pushed)."""
    from pipeline.verify import DIGEST  # noqa: PLC0415

    digest = args.digest.strip()
    if digest and not DIGEST.fullmatch(digest):
        raise InputError(f"not a digest: {digest[:80]!r}")
    data = {
        "name": args.name,
        "tags": [t.rsplit(":", 1)[-1] for t in args.tags.split()],
        "digest": digest,
        "pushed": args.pushed == "true",
        "reason": args.reason,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


def cmd_find_pr(args: argparse.Namespace) -> int:
    """The open PR whose head is the SHA; "no PR" is an answer (empty output)."""
    from pipeline.pulls import find_pull_request  # noqa: PLC0415

    settings = _settings()
    repository = "/".join(settings.require_repository())
    found = find_pull_request(_github(settings), repository, args.sha, args.fork_head)
    number = str(found.number) if found else ""
    actions.set_outputs(settings.output, {"number": number})
    print(f"pull request: #{number}" if found else "no open pull request for this commit")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Render the CI report; summary, file, and the sticky comment."""
    from pipeline import comments, inputs, report  # noqa: PLC0415

    settings = _settings()
    data = inputs.load(Path(args.reports), args.sha or settings.sha, settings.run_url, args.branch)
    body = report.render(data)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(body, encoding="utf-8")
    actions.append_summary(settings.step_summary, body)
    print(f"report written to {args.output} ({len(body)} characters)")
    if args.pr:
        _comment(settings, int(args.pr), report.CI_MARKER, body, comments)
    return 0 if report.overall(data) or not args.strict else 1


def _comment(settings: Settings, number: int, marker: str, body: str, comments) -> None:  # noqa: ANN001
    repository = "/".join(settings.require_repository())
    posted = comments.upsert_or_warn(_github(settings), repository, number, marker, body, settings.comment_author)
    if posted.action == "skipped":
        print(actions.command("warning", f"no PR comment posted: {posted.reason}"))
    else:
        print(f"comment {posted.action}: {posted.url}")


def _expectations(args: argparse.Namespace, settings: Settings):  # noqa: ANN202
    from pipeline.verify import Expectations  # noqa: PLC0415

    return Expectations(
        repository=args.repository or settings.repository,
        repository_id=args.repository_id,
        ref=args.ref or settings.ref,
        signer_workflow=args.signer_workflow,
        run_id=args.run_id,
        run_attempt=args.run_attempt,
        issuer=args.issuer,
        server_url=settings.server_url,
        build_config=args.build_config,
    )


def _verifier_for(args: argparse.Namespace, settings: Settings) -> Callable[[str], object]:
    from pipeline import verify  # noqa: PLC0415

    expected = _expectations(args, settings)
    expected.policy()  # validate the expectations before any network use
    trust = verify.verifier(offline=args.offline)

    def check(digest: str) -> verify.Verified:
        if args.bundle:
            bundles = [(p, _read(p)) for p in args.bundle]
        else:
            bundles = verify.fetch_bundles(_github(settings), expected.repository, digest)
        return verify.verify_any(bundles, expected, digest, trust)

    return check


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify an attestation (or, with --artifact, a message signature)."""
    from pipeline import verify  # noqa: PLC0415

    settings = _settings()
    if args.artifact:
        if len(args.bundle or []) != 1:
            raise InputError("--artifact needs exactly one --bundle")
        expected = _expectations(args, settings)
        bundle = verify.parse_bundle(_read(args.bundle[0]), args.bundle[0])
        result = verify.verify_artifact(bundle, expected, _read(args.artifact), verify.verifier(offline=args.offline))
    else:
        if not args.digest:
            raise InputError("give --digest sha256:... (or --artifact with --bundle)")
        digest = verify.require_digest(args.digest)
        result = _verifier_for(args, settings)(digest)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(f"verified: {result.subject} signed by {result.signer_workflow} ({result.run_uri})")
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    """Resolve, pull by digest, verify, run the smoke tests, report."""
    from pipeline import comments, deploy  # noqa: PLC0415

    settings = _settings()
    check = None if args.no_verify else _verifier_for(args, settings)
    result = deploy.deploy(
        args.image,
        args.environment,
        check,
        timeout=args.timeout,
        registry_token=os.environ.get("REGISTRY_TOKEN", ""),
    )
    body = deploy.render(result, settings.run_url)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(body, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    actions.append_summary(settings.step_summary, body)
    actions.set_outputs(settings.output, {"digest": result.digest, "ok": str(result.ok).lower()})
    if args.pr:
        _comment(settings, int(args.pr), deploy.CD_MARKER, body, comments)
    print(body)
    deploy.require_ok(result)
    return 0


def cmd_cd_guard(args: argparse.Namespace) -> int:
    """Decide from the workflow_run event alone whether CD acts."""
    from pipeline.guard import decide  # noqa: PLC0415

    settings = _settings()
    decision = decide(settings.event(), settings.repository)
    actions.set_outputs(settings.output, decision.outputs())
    print(f"act: {decision.act} ({decision.reason})")
    return 0


def _verify_flags(parser: argparse.ArgumentParser) -> None:
    from pipeline.verify import GITHUB_ISSUER  # noqa: PLC0415

    env = os.environ.get
    parser.add_argument("--bundle", action="append", help="bundle file (repeatable); default: the API")
    parser.add_argument("--repository", default="", help="owner/name (default $GITHUB_REPOSITORY)")
    parser.add_argument("--repository-id", default=env("GITHUB_REPOSITORY_ID", ""))
    parser.add_argument("--ref", default="", help="source ref (default $GITHUB_REF)")
    parser.add_argument("--signer-workflow", default=".github/workflows/ci.yml")
    parser.add_argument("--build-config", default="", help="calling workflow of a reusable signer")
    parser.add_argument("--run-id", default="", help="the run that must have signed")
    parser.add_argument("--run-attempt", default="1")
    parser.add_argument("--issuer", default=GITHUB_ISSUER)
    parser.add_argument("--offline", action="store_true", help="trust root from the sigstore wheel")


def build_parser() -> argparse.ArgumentParser:
    """All commands and their flags."""
    parser = _Parser(prog="python -m pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("matrix", help="the test matrix as JSON").set_defaults(func=cmd_matrix)
    sub.add_parser("pythons", help="check matrix interpreters").set_defaults(func=cmd_pythons)
    p = sub.add_parser("combine-coverage", help="combine the matrix's coverage data")
    p.add_argument("directory", nargs="?", default="reports")
    p.set_defaults(func=cmd_combine)

    p = sub.add_parser("image-tags", help="image name, tags, push decision")
    p.add_argument("--registry", default="ghcr.io")
    p.set_defaults(func=cmd_image_tags)

    p = sub.add_parser("image-json", help="write the image JSON for the report")
    p.add_argument("--name", required=True)
    p.add_argument("--tags", default="")
    p.add_argument("--digest", default="")
    p.add_argument("--pushed", choices=["true", "false"], default="false")
    p.add_argument("--reason", default="")
    p.add_argument("--output", default="reports/image.json")
    p.set_defaults(func=cmd_image_json)

    p = sub.add_parser("find-pr", help="the open PR whose head is a commit")
    p.add_argument("--sha", required=True)
    p.add_argument("--fork-head", default="", help="owner:branch fallback for fork PRs")
    p.set_defaults(func=cmd_find_pr)

    p = sub.add_parser("report", help="render the CI report (and comment)")
    p.add_argument("--reports", default="reports")
    p.add_argument("--output", default="reports/ci-report.md")
    p.add_argument("--sha", default="")
    p.add_argument("--branch", default="")
    p.add_argument("--pr", default="", help="PR number to comment on")
    p.add_argument("--strict", action="store_true", help="exit 1 when the report is red")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("verify", help="verify a Sigstore attestation")
    p.add_argument("--digest", default="")
    p.add_argument("--artifact", default="", help="verify a message signature over this file")
    p.add_argument("--json", action="store_true")
    _verify_flags(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("deploy", help="verified deployment by digest")
    p.add_argument("--image", required=True, help="registry/name:tag or @sha256:...")
    p.add_argument("--environment", default="preview")
    p.add_argument("--no-verify", action="store_true", help="skip verification (the report says so)")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--output", default="reports/cd-report.json")
    p.add_argument("--pr", default="")
    _verify_flags(p)
    p.set_defaults(func=cmd_deploy)

    sub.add_parser("cd-guard", help="should CD act on this workflow_run?").set_defaults(func=cmd_cd_guard)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, dispatch, and turn every domain error into one line and a status."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 1
