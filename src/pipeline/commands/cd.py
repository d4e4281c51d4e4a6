"""The commands CD's jobs call: the event guard, verification and deployment."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import actions, grammar, trust
from pipeline.commands import common
from pipeline.errors import CheckFailed, InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline.settings import Settings
    from pipeline.trust import Trust
    from pipeline.verify import Expectations, Verified


def _trust(args: argparse.Namespace, settings: Settings) -> Trust:
    """The Sigstore instance configuration names (never one a bundle claims)."""
    return trust.select(settings, offline=args.offline or settings.job.sigstore_offline)


def _expectations(args: argparse.Namespace, settings: Settings, issuer: str) -> Expectations:
    """The signer the flags (or the run's variables) name; the issuer is the trust's unless given.

    The commit is ``--commit``, else (``deploy --sha``) the commit whose image
    is deployed: CI's tag ``sha-<commit>`` is mutable, the certificate's commit
    is not, so a digest re-tagged under another commit's name is refused.
    """
    from pipeline.verify import Expectations  # noqa: PLC0415

    return Expectations(
        commit=args.commit or getattr(args, "sha", ""),
        repository=args.repository or settings.repository,
        repository_id=args.repository_id or settings.repository_id,
        ref=args.ref or settings.ref,
        signer_workflow=args.signer_workflow,
        run_id=args.run_id,
        run_attempt=args.run_attempt,
        issuer=issuer if args.issuer is None else args.issuer,
        server_url=settings.server_url,
        build_config=args.build_config,
    )


def _verifier_for(args: argparse.Namespace, settings: Settings) -> Callable[[str], Verified]:
    chosen = _trust(args, settings)
    expected = _expectations(args, settings, chosen.issuer)
    image = getattr(args, "from_registry", "")
    return _verifier(settings, expected, chosen, bundle_files=args.bundle or [], image=image)


def _verifier(
    settings: Settings, expected: Expectations, chosen: Trust, *, bundle_files: list[str], image: str = ""
) -> Callable[[str], Verified]:
    """A check of one digest: bundles from files, from the image's registry, or else from GitHub's API."""
    from pipeline import verify  # noqa: PLC0415

    expected.validate()  # before any network use
    verifier = chosen.verifier()

    def check(image_digest: str) -> verify.Verified:
        digest = grammar.require_digest(image_digest)  # "sha256:<hex>" or "<hex>" -> "<hex>"
        bundles: list[verify.Candidate]
        if bundle_files:
            # Each file on its own: one that cannot be read is a refused candidate, not the end.
            bundles = [b for p in bundle_files for b in verify.bundles_from_file(p)]
        elif image:
            from pipeline import referrers, registry  # noqa: PLC0415

            bundles = list(referrers.find(registry.parse_reference(f"{image}@sha256:{digest}"), settings.budget))
        else:
            bundles = verify.fetch_bundles(common.github(settings), expected.repository, digest)
        return verify.verify_any(bundles, expected, digest, verifier)

    return check


ARTIFACT_LIMIT = 64 * 1024**3  # hashed in chunks: a limit on time, not memory


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify an attestation (or, with --artifact, a message signature)."""
    from pipeline import verify  # noqa: PLC0415

    settings = common.settings()
    if args.artifact:
        if len(args.bundle or []) != 1:
            raise InputError("--artifact needs exactly one --bundle")
        chosen = _trust(args, settings)
        expected = _expectations(args, settings, chosen.issuer)
        expected.validate()
        bundle = verify.parse_bundle(common.read(args.bundle[0], verify.BUNDLE_LIMIT), args.bundle[0])
        # The artifact is hashed in chunks: any size, bounded memory (sigstore takes the digest).
        digest = verify.sha256_file(args.artifact, ARTIFACT_LIMIT)
        result = verify.verify_artifact(bundle, expected, digest, chosen.verifier())
    else:
        if not args.digest:
            raise InputError("give --digest sha256:... (or --artifact with --bundle)")
        digest = grammar.require_digest(args.digest)
        result = _verifier_for(args, settings)(digest)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(f"verified: {result.subject} signed by {result.signer_workflow} ({result.run_uri})")
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    """Resolve, pull by digest, verify, run the smoke tests, report."""
    settings = common.settings()
    image = args.image
    if not image:
        from pipeline.image import ci_image  # noqa: PLC0415

        if not args.sha:
            raise InputError("give --image, or --sha to deploy <registry>/<repository>:sha-<sha>")
        registry = args.registry or settings.image_registry
        repository = "/".join(settings.require_repository())
        image = ci_image(registry, repository, common.profile().image, grammar.require_sha(args.sha))
    no_verify = args.no_verify or not settings.attest_images
    check = None if no_verify else _verifier_for(args, settings)
    reason = "switched off explicitly (--no-verify)" if settings.attest_images else ATTESTATIONS_OFF
    return _deploy_and_report(
        settings,
        image=image,
        environment=args.environment,
        check=check,
        unverified_reason=reason,
        timeout=args.timeout,
        output=Path(args.output),
        pr=int(args.pr) if args.pr else None,
    )


ATTESTATIONS_OFF = "attestations are switched off (repository variable ATTEST_IMAGES=false)"


def _deploy_and_report(
    settings: Settings,
    *,
    image: str,
    environment: str,
    check: Callable[[str], Verified] | None,
    unverified_reason: str,
    timeout: float,
    output: Path,
    pr: int | None,
) -> int:
    """The deployment as an operation: deploy, write the report, summary, outputs, comment."""
    from pipeline import deploy  # noqa: PLC0415

    result = deploy.deploy(
        image,
        environment,
        check,
        timeout=timeout,
        registry_token=settings.job.registry_token,
        unverified_reason=unverified_reason,
        budget=settings.budget,
        runs=common.profile().runs,
    )
    body = deploy.render(result, settings.run_url)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".md").write_text(body, encoding="utf-8")
    output.with_suffix(".json").write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    actions.append_summary(settings.step_summary, body)
    actions.set_outputs(settings.output, {"digest": result.digest, "ok": str(result.ok).lower()})
    if pr is not None:
        common.comment(settings, pr, deploy.CD_MARKER, body)
    print(body)
    deploy.require_ok(result)
    return 0


def cmd_cd_deploy(args: argparse.Namespace) -> int:
    """CD's deploy job in one command, from the guard's validated outputs.

    For a PR: find it by head SHA (fork fallback by owner:branch), deploy its
    ``pr-<n>-sha-<head>`` image and expect the ref ``refs/pull/N/merge``. For a
    push: the pushed branch's image (``sha-<c>`` for main, ``<branch>-sha-<c>``
    otherwise) and its ref. The environment is the guard's, from the profile. It does not comment: this job runs the
    PR's image, so it holds no write token; ``cd-comment`` posts the report
    from a job of its own. The PR number is a step output as soon as known.
    """
    from pipeline.grammar import require_sha  # noqa: PLC0415
    from pipeline.pulls import find_pull_request  # noqa: PLC0415

    settings = common.settings()
    job = settings.job
    sha = require_sha(job.head_sha)
    number = ""
    if job.trigger == "pull_request":
        found = find_pull_request(
            common.github(settings),
            "/".join(settings.require_repository()),
            sha,
            job.fork_head,
            job.event_pull_requests,
        )
        if found is None:
            raise CheckFailed(f"no open pull request has head {sha}; nothing to deploy to preview")
        if found.why:
            print(actions.command("notice", found.why))
        number, ref = str(found.number), f"refs/pull/{found.number}/merge"
        actions.set_outputs(settings.output, {"pr": number})
    elif job.trigger == "push":
        ref = job.ref
        if not ref:
            raise InputError("REF is required to deploy a push (the guard's ref output: refs/heads/<branch>)")
    else:
        raise InputError("TRIGGER must be pull_request or push (the guard's event output)")
    from pipeline.image import ci_image, commit_scope  # noqa: PLC0415
    from pipeline.verify import Expectations  # noqa: PLC0415

    chosen = trust.select(settings, offline=job.sigstore_offline)
    repository = "/".join(settings.require_repository())
    scope = commit_scope(ref.removeprefix("refs/heads/"), int(number) if number else None)
    image = ci_image(settings.image_registry, repository, common.profile().image, sha, scope)
    expected = Expectations(
        repository=settings.repository,
        ref=ref,
        repository_id=job.repository_id,
        run_id=job.run_id,
        run_attempt=job.run_attempt,
        issuer=chosen.issuer,
        server_url=settings.server_url,
        commit=attested_commit(job.trigger, sha, job.run_id),
    )
    check = _verifier(settings, expected, chosen, bundle_files=[]) if settings.attest_images else None
    if check is not None and job.trigger == "pull_request":
        check = _bound_to_head(check, settings, sha)
    return _deploy_and_report(
        settings,
        image=image,
        environment=job.environment,
        check=check,
        unverified_reason=ATTESTATIONS_OFF,
        timeout=60,
        output=Path("reports/cd-report.json"),
        pr=None,
    )


def _bound_to_head(check: Callable[[str], Verified], settings: Settings, head_sha: str) -> Callable[[str], Verified]:
    """The PR's check, then its certificate's commit bound to the head (``pulls.merge_binds``).

    The policy cannot pin a PR run's merge commit in advance (see
    ``attested_commit``); once verified, the certificate names it, and
    GitHub's API says whose merge it is: the head must be its second parent.
    """
    from pipeline import pulls  # noqa: PLC0415

    def bound(digest: str) -> Verified:
        verified = check(digest)
        pulls.require_merge_of_head(common.github(settings), settings.repository, verified.commit, head_sha)
        return verified

    return bound


def attested_commit(trigger: str, head_sha: str, run_id: str) -> str:
    """The commit CI's certificate for the deployed run carries, pinned in the policy ("" for a PR).

    The certificate's source commit (Fulcio 1.3.6.1.4.1.57264.1.13) is the
    signing run's ``github.sha``. For a push to main that is the pushed commit,
    the ``head_sha`` the guard validated and the commit whose ``sha-<commit>``
    image is deployed: it is pinned, so an older image re-tagged under a newer
    commit's name is refused with both commits named.

    For a pull request GitHub's ``sha`` claim is the merge commit of
    ``refs/pull/N/merge`` that the run tested, not the head: neither the
    ``workflow_run`` event nor the API's run object carries it (both name the
    head), and GitHub makes a new one whenever the base moves, so the PR's
    current ``merge_commit_sha`` may already be another. Pinning the head would
    refuse every real PR deployment (act would not show it: its ``github.sha``
    for ``pull_request`` is the checked-out head). A PR image is bound through
    the run instead: the run id and attempt come with ``head_sha`` in the same
    event, that run attested the one image it built of that merge commit, and
    the ref ``refs/pull/N/merge`` is pinned; without a run id nothing would
    bind it, so it is required. After verification the certificate's merge
    commit is checked to be a merge of the head (``_bound_to_head``).
    """
    if trigger == "push":
        return head_sha
    if not run_id:
        raise InputError("RUN_ID is required to deploy a pull request: CI's run binds its image to its commit")
    return ""


def cmd_cd_comment(args: argparse.Namespace) -> int:
    """Post the deploy job's report on the PR; say so when there is none.

    The report is data from this workflow's own deploy job (written by the
    default branch's helpers; the PR's code ran only inside the locked-down
    container), read from a file and posted as the body of our own comment.
    """
    from pipeline import deploy  # noqa: PLC0415

    settings = common.settings()
    number = settings.job.pr_number
    if not number:
        raise InputError("PR_NUMBER is not set (the deploy job's pr output)")
    report = Path(args.report)
    if report.is_file():
        body = report.read_text(encoding="utf-8", errors="replace")
        if not body.startswith(deploy.CD_MARKER):
            raise InputError(f"{report} is not a CD report")
    else:
        link = f" · [run]({settings.run_url})" if settings.run_url else ""
        body = (
            f"{deploy.CD_MARKER}\n## :x: Deployment failed before it could report{link}\n\n"
            "The deploy job ended without writing its report (see the run's log)."
        )
    common.comment(settings, int(number), deploy.CD_MARKER, body)
    return 0


def cmd_cd_guard(args: argparse.Namespace) -> int:
    """Decide from the workflow_run event alone whether CD acts."""
    from pipeline.guard import decide  # noqa: PLC0415

    settings = common.settings()
    decision = decide(settings.event(), settings.repository, common.profile())
    actions.set_outputs(settings.output, decision.outputs())
    print(f"act: {decision.act} ({decision.reason})")
    return 0
