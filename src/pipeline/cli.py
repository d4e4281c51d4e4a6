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
from pipeline.errors import CheckFailed, InputError, PipelineError

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
    """Name, tags and whether this run may push: step outputs and the plan file."""
    from pipeline.image import image_ref, publish_decision  # noqa: PLC0415

    settings = _settings()
    event = settings.event()
    pr = event.get("pull_request") if isinstance(event.get("pull_request"), dict) else None
    try:
        branch = str(pr["head"]["ref"]) if pr else os.environ.get("GITHUB_REF_NAME", "")
        sha = str(pr["head"]["sha"]) if pr else settings.sha
        number = int(pr["number"]) if pr else None
    except (KeyError, TypeError, ValueError):
        raise InputError("the pull_request event lacks head.ref, head.sha or number") from None
    ref = image_ref(args.registry, "/".join(settings.require_repository()), sha, branch, number)
    push, reason = publish_decision(settings.event_name, settings.ref, event, settings.repository)
    plan = {"name": ref.name, "references": ref.references, "sha": sha, "push": push, "reason": reason}
    _write_json(Path(args.plan), plan)
    actions.set_outputs(
        settings.output,
        {
            "name": ref.name,
            "tags": "\n".join(ref.references),
            "push": "true" if push else "false",
            "reason": reason,
        },
    )
    print(json.dumps(plan, indent=2))
    if not push:
        actions.append_summary(settings.step_summary, f"**Image**: built, not pushed ({reason})")
    return 0


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {path}: {error}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a JSON object")
    return data


def _plan(path: str) -> tuple[str, list[str], bool, str, str]:
    """The image plan written by image-tags, validated."""
    from pipeline.pulls import require_sha  # noqa: PLC0415

    plan = _read_json(Path(path))
    refs = plan.get("references")
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
        raise InputError(f"{path} has no image references")
    return (
        str(plan.get("name", "")),
        refs,
        plan.get("push") is True,
        str(plan.get("reason", "")),
        require_sha(str(plan.get("sha", ""))),
    )


def cmd_image_build(args: argparse.Namespace) -> int:
    """Build the image once, with every planned tag."""
    from pipeline import build  # noqa: PLC0415
    from sample_app import __version__  # noqa: PLC0415

    settings = _settings()
    _, refs, _, _, sha = _plan(args.plan)
    source = f"{settings.server_url}/{settings.repository}" if settings.repository else ""
    build.build(
        refs,
        args.context,
        base=args.base,
        revision=sha,
        source=source,
        version=__version__,
        host_network=args.host_network,
    )
    print(f"built {', '.join(refs)}")
    return 0


def cmd_image_push(args: argparse.Namespace) -> int:
    """Push when the plan allows it; write the image JSON either way."""
    from pipeline import build  # noqa: PLC0415

    settings = _settings()
    name, refs, push, reason, _ = _plan(args.plan)
    digest = build.push(refs) if push else ""
    data = {
        "name": name,
        "tags": [r.rsplit(":", 1)[1] for r in refs],
        "digest": digest,
        "pushed": push,
        "reason": reason,
    }
    _write_json(Path(args.output), data)
    actions.set_outputs(settings.output, {"digest": digest, "pushed": str(push).lower()})
    print(f"pushed {name}@{digest}" if push else f"not pushed: {reason}")
    return 0


def cmd_sbom(args: argparse.Namespace) -> int:
    """CycloneDX SBOM of the pushed digest (or of the local image when not pushed)."""
    from pipeline import build  # noqa: PLC0415
    from pipeline.verify import DIGEST  # noqa: PLC0415

    image = _read_json(Path(args.image_json))
    name, digest = str(image.get("name", "")), str(image.get("digest", ""))
    if image.get("pushed") and DIGEST.fullmatch(digest):
        source = f"registry:{name}@{digest}"
    else:
        tags = image.get("tags") or []
        if not tags:
            raise InputError(f"{args.image_json} names no tag to describe")
        source = f"docker:{name}:{tags[-1]}"
    count = build.sbom(source, Path(args.output), insecure_registry=args.insecure_registry)
    print(f"SBOM of {source}: {count} components -> {args.output}")
    return 0


def cmd_attestation_json(args: argparse.Namespace) -> int:
    """Record the attestation the attest job produced, for the report."""
    if not args.id.isdigit():
        raise InputError(f"not an attestation id: {args.id[:40]!r}")
    if args.url and not args.url.startswith("https://"):
        raise InputError("the attestation URL must be https")
    _write_json(Path(args.output), {"id": args.id, "url": args.url})
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
    if args.artifacts_from_api:
        from pipeline.run_artifacts import list_artifacts  # noqa: PLC0415

        try:
            _write_json(Path(args.reports) / "artifacts.json", list_artifacts(_github(settings), settings))
        except PipelineError as error:  # the report still renders; the section says why
            print(actions.command("warning", f"artifact links unavailable: {error}"))
    data = inputs.load(Path(args.reports), args.sha or settings.sha, settings.run_url, args.branch)
    hint = "hatch run ci verify --digest {digest}"
    if settings.repository:
        repo = settings.repository
        hint = f"gh attestation verify oci://{{image}} --repo {repo} --signer-workflow {repo}/.github/workflows/ci.yml"
    body = report.render(data, verify_hint=hint)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(body, encoding="utf-8")
    actions.append_summary(settings.step_summary, body)
    print(f"report written to {args.output} ({len(body)} characters)")
    if args.pr:
        _comment(settings, int(args.pr), report.CI_MARKER, body, comments)
    return 0 if report.overall(data) or not args.strict else 1


def cmd_ci_report(args: argparse.Namespace) -> int:
    """The CI report job in one command, configured by the workflow's env.

    Combines coverage when the matrix left data, records the attestation, links
    the artifacts, and comments only on same-repository PRs: a fork's token is
    read-only, so a fork PR gets the job summary and a notice instead.
    """
    settings = _settings()
    reports = Path(args.reports)
    reports.mkdir(parents=True, exist_ok=True)
    env = os.environ.get
    if any(reports.glob(".coverage.*")):
        cmd_combine(argparse.Namespace(directory=str(reports)))
    if env("ATTESTATION_ID", ""):
        cmd_attestation_json(
            argparse.Namespace(
                id=env("ATTESTATION_ID", ""),
                url=env("ATTESTATION_URL", ""),
                output=str(reports / "attestation.json"),
            )
        )
    number = env("PR_NUMBER", "")
    if number and not number.isdigit():
        raise InputError(f"PR_NUMBER is not a number: {number[:20]!r}")
    same_repository = env("HEAD_REPOSITORY", "") == settings.repository
    if number and not same_repository:
        print(
            actions.command(
                "notice",
                "pull request from a fork: the report is in the job summary, "
                "no comment is posted (the token is read-only)",
            )
        )
    return cmd_report(
        argparse.Namespace(
            reports=str(reports),
            output=str(reports / "ci-report.md"),
            sha=env("HEAD_SHA", ""),
            branch=env("HEAD_REF", ""),
            pr=number if same_repository else "",
            strict=False,
            artifacts_from_api=bool(settings.run_id),
        )
    )


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

    def check(image_digest: str) -> verify.Verified:
        digest = verify.require_digest(image_digest)  # "sha256:<hex>" or "<hex>" -> "<hex>"
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
    image = args.image
    if not image:
        from pipeline.image import image_name  # noqa: PLC0415
        from pipeline.pulls import require_sha  # noqa: PLC0415

        if not args.sha:
            raise InputError("give --image, or --sha to deploy <registry>/<repository>:sha-<sha>")
        image = f"{image_name(args.registry, '/'.join(settings.require_repository()))}:sha-{require_sha(args.sha)}"
    check = None if args.no_verify else _verifier_for(args, settings)
    result = deploy.deploy(
        image,
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


def cmd_cd_deploy(args: argparse.Namespace) -> int:
    """CD's deploy job in one command, from the guard's validated outputs.

    For a PR: find it by head SHA (fork fallback by owner:branch), expect the
    ref ``refs/pull/N/merge``, deploy to preview and comment. For main: no PR,
    ref ``refs/heads/main``, production.
    """
    from pipeline.pulls import find_pull_request, require_sha  # noqa: PLC0415

    settings = _settings()
    env = os.environ.get
    sha = require_sha(env("HEAD_SHA", ""))
    trigger = env("TRIGGER", "")
    number = ""
    if trigger == "pull_request":
        found = find_pull_request(_github(settings), "/".join(settings.require_repository()), sha, env("FORK_HEAD", ""))
        if found is None:
            raise CheckFailed(f"no open pull request has head {sha}; nothing to deploy to preview")
        number, ref = str(found.number), f"refs/pull/{found.number}/merge"
    elif trigger == "push":
        ref = "refs/heads/main"
    else:
        raise InputError(f"TRIGGER must be pull_request or push, not {trigger[:30]!r}")
    namespace = build_parser().parse_args(
        [
            "deploy",
            "--sha",
            sha,
            "--registry",
            env("IMAGE_REGISTRY", "") or "ghcr.io",
            "--environment",
            env("ENVIRONMENT", "preview") or "preview",
            "--ref",
            ref,
            "--run-id",
            env("RUN_ID", ""),
            "--run-attempt",
            env("RUN_ATTEMPT", "1") or "1",
            "--repository-id",
            env("REPOSITORY_ID", ""),
            *(["--pr", number] if number else []),
        ]
    )
    return cmd_deploy(namespace)


def cmd_cd_guard(args: argparse.Namespace) -> int:
    """Decide from the workflow_run event alone whether CD acts."""
    from pipeline.guard import decide  # noqa: PLC0415

    settings = _settings()
    decision = decide(settings.event(), settings.repository)
    actions.set_outputs(settings.output, decision.outputs())
    print(f"act: {decision.act} ({decision.reason})")
    return 0


def cmd_local(args: argparse.Namespace) -> int:
    """The whole pipeline on this machine."""
    from pipeline.local import run_local  # noqa: PLC0415

    return run_local(container=not args.no_container, reports=Path(args.reports))


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
    parser.add_argument(
        "--offline",
        action="store_true",
        default=env("SIGSTORE_OFFLINE", "") in {"1", "true"},
        help="trust root from the sigstore package, no TUF update ($SIGSTORE_OFFLINE=1)",
    )


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
    p.add_argument("--plan", default="reports/image-plan.json")
    p.set_defaults(func=cmd_image_tags)

    p = sub.add_parser("image-build", help="build the image with the planned tags")
    p.add_argument("--plan", default="reports/image-plan.json")
    p.add_argument("--context", default=".")
    p.add_argument("--base", default=os.environ.get("BASE_IMAGE", ""), help="override the base image")
    p.add_argument("--host-network", action="store_true", help="build with --network host")
    p.set_defaults(func=cmd_image_build)

    p = sub.add_parser("image-push", help="push when allowed; write the image JSON")
    p.add_argument("--plan", default="reports/image-plan.json")
    p.add_argument("--output", default="reports/image.json")
    p.set_defaults(func=cmd_image_push)

    p = sub.add_parser("sbom", help="CycloneDX SBOM of the image")
    p.add_argument("--image-json", default="reports/image.json")
    p.add_argument("--output", default="reports/sbom.json")
    p.add_argument("--insecure-registry", action="store_true", help="plain HTTP (local registry)")
    p.set_defaults(func=cmd_sbom)

    p = sub.add_parser("attestation-json", help="record the attestation for the report")
    p.add_argument("--id", default=os.environ.get("ATTESTATION_ID", ""))
    p.add_argument("--url", default=os.environ.get("ATTESTATION_URL", ""))
    p.add_argument("--output", default="reports/attestation.json")
    p.set_defaults(func=cmd_attestation_json)

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
    p.add_argument("--artifacts-from-api", action="store_true", help="link this run's artifacts")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("verify", help="verify a Sigstore attestation")
    p.add_argument("--digest", default="")
    p.add_argument("--artifact", default="", help="verify a message signature over this file")
    p.add_argument("--json", action="store_true")
    _verify_flags(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("deploy", help="verified deployment by digest")
    p.add_argument("--image", default="", help="registry/name:tag or @sha256:...")
    p.add_argument("--sha", default="", help="deploy <registry>/<repository>:sha-<SHA> (CI's tag)")
    p.add_argument("--registry", default="ghcr.io")
    p.add_argument("--environment", default="preview")
    p.add_argument("--no-verify", action="store_true", help="skip verification (the report says so)")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--output", default="reports/cd-report.json")
    p.add_argument("--pr", default="")
    _verify_flags(p)
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("ci-report", help="the CI report job (reads the workflow's env)")
    p.add_argument("--reports", default="reports")
    p.set_defaults(func=cmd_ci_report)

    sub.add_parser("cd-deploy", help="CD's deploy job (reads the guard's outputs from env)").set_defaults(
        func=cmd_cd_deploy
    )

    sub.add_parser("cd-guard", help="should CD act on this workflow_run?").set_defaults(func=cmd_cd_guard)

    p = sub.add_parser("local", help="the whole pipeline on this machine")
    p.add_argument("--no-container", action="store_true", help="skip image, push, SBOM and deploy")
    p.add_argument("--reports", default="reports")
    p.set_defaults(func=cmd_local)
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
