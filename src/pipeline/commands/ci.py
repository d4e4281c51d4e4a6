"""The commands CI's jobs call: matrix, image, SBOM, coverage, report, PR lookup.

Each reads files and the environment and writes files, step outputs and the
job summary; ``pipeline.cli`` parses the arguments and reports errors.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline import actions, jobfiles
from pipeline.commands import common
from pipeline.errors import CheckFailed, InputError, PipelineError
from pipeline.settings import Settings


def cmd_matrix(args: argparse.Namespace) -> int:
    """Print the matrix as JSON and set it as the ``matrix`` step output."""
    from pipeline.matrix import read_matrix  # noqa: PLC0415

    versions = json.dumps({"python": read_matrix()})
    print(versions)
    actions.set_outputs(common.settings().output, {"matrix": versions})
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

    settings = common.settings()
    event = settings.event()
    pr = event.get("pull_request") if isinstance(event.get("pull_request"), dict) else None
    try:
        branch = str(pr["head"]["ref"]) if pr else settings.ref_name
        sha = str(pr["head"]["sha"]) if pr else settings.sha
        number = int(pr["number"]) if pr else None
    except (KeyError, TypeError, ValueError):
        raise InputError("the pull_request event lacks head.ref, head.sha or number") from None
    repository = event.get("repository")
    if isinstance(repository, dict) and repository.get("private") is True and settings.attest_images:
        raise CheckFailed(
            "this repository is private: GitHub signs its attestations with its private Sigstore instance, "
            "which CD's verification refuses by design. Set the repository variable ATTEST_IMAGES=false "
            "(CD then deploys unverified and says so), or make the repository public"
        )
    registry = args.registry or settings.image_registry
    service = common.profile()
    ref = image_ref(registry, "/".join(settings.require_repository()), sha, branch, number, service.image)
    branches = service.deploy_branches
    push, reason = publish_decision(settings.event_name, settings.ref, event, settings.repository, branches)
    plan = jobfiles.ImagePlan(ref.name, tuple(ref.references), sha, push, reason)
    jobfiles.write_plan(Path(args.plan), plan)
    actions.set_outputs(
        settings.output,
        {
            "name": ref.name,
            "tags": "\n".join(ref.references),
            "push": "true" if push else "false",
            "reason": reason,
        },
    )
    print(Path(args.plan).read_text(encoding="utf-8"), end="")
    if not push:
        actions.append_summary(settings.step_summary, f"**Image**: built, not pushed ({reason})")
    return 0


def cmd_image_build(args: argparse.Namespace) -> int:
    """Build the image once, with every planned tag, labelled with the commit it was built from.

    The revision and created labels name the checked-out commit: for a pull
    request that is GitHub's merge commit, whose content the image holds,
    not the PR's head (which the ``sha-`` tag names, for CD to find it).
    """
    from pipeline import build  # noqa: PLC0415

    settings = common.settings()
    service = common.profile()
    plan = jobfiles.read_plan(Path(args.plan))
    refs = list(plan.references)
    context = args.context or service.context
    revision = build.checked_out_commit(context) or settings.sha or plan.sha
    source = f"{settings.server_url}/{settings.repository}" if settings.repository else ""
    build.build(
        refs,
        context,
        dockerfile=service.dockerfile,
        base=args.base or settings.base_image,
        revision=revision,
        source=source,
        version=service.version(),
        host_network=args.host_network or settings.build_network == "host",
        created=build.commit_time(revision, context),
    )
    print(f"built {', '.join(refs)} from {revision[:12]}")
    return 0


def cmd_image_save(args: argparse.Namespace) -> int:
    """Hand the built image on as an archive: its file digest and image ID as step outputs.

    The job that builds runs the PR's code with a read-only token; the job
    that pushes runs only trusted code and loads exactly these bytes.
    """
    from pipeline import build  # noqa: PLC0415

    settings = common.settings()
    plan = jobfiles.read_plan(Path(args.plan))
    archive = build.save(plan.references[0], Path(args.output))
    actions.set_outputs(settings.output, {"archive-sha256": archive.sha256, "image-id": archive.image_id})
    print(f"saved {archive.image_id} to {archive.path} (sha256 {archive.sha256})")
    return 0


def cmd_image_load(args: argparse.Namespace) -> int:
    """Load the build job's archive, only if it is the declared one, and name it with this job's plan.

    Run before the registry login: docker parses the PR-built archive while
    no write token is on the machine, and the job that built it chose no tag
    that is pushed.
    """
    from pipeline import build  # noqa: PLC0415

    plan = jobfiles.read_plan(Path(args.plan))
    image_id = build.load(Path(args.archive), args.archive_sha256, args.image_id)
    build.tag(image_id, list(plan.references))
    print(f"loaded {image_id} from {args.archive} (sha256 {args.archive_sha256}) as {', '.join(plan.references)}")
    return 0


def cmd_image_push(args: argparse.Namespace) -> int:
    """Push when the plan allows it; write the image JSON either way."""
    from pipeline import build  # noqa: PLC0415

    settings = common.settings()
    plan = jobfiles.read_plan(Path(args.plan))
    digest = build.push(list(plan.references)) if plan.push else ""
    tags = tuple(r.rsplit(":", 1)[1] for r in plan.references)
    jobfiles.write_image(Path(args.output), jobfiles.ImageFacts(plan.name, tags, digest, plan.push, plan.reason))
    actions.set_outputs(settings.output, {"digest": digest, "pushed": str(plan.push).lower()})
    print(f"pushed {plan.name}@{digest}" if plan.push else f"not pushed: {plan.reason}")
    return 0


def cmd_attest(args: argparse.Namespace) -> int:
    """Sign provenance (or an SBOM) of an image digest or of files as this run; store the bundle.

    What ``actions/attest`` does, for where it cannot run: the local pipeline
    and, under act, its stand-in. The Sigstore instance is the configured one
    (``LOCAL_SIGSTORE``), never chosen here.
    """
    from pipeline import attest, signing, trust  # noqa: PLC0415

    settings = common.settings()
    if bool(args.subject_path) == bool(args.subject_name or args.subject_digest):
        raise InputError("give --subject-name with --subject-digest, or --subject-path, not both")
    if args.subject_path:
        if args.push_to_registry:
            raise InputError("--push-to-registry attaches to an image: give --subject-name and --subject-digest")
        subjects = attest.file_subjects(args.subject_path)
    else:
        subjects = attest.image_subject(args.subject_name, args.subject_digest)
    chosen = trust.select(settings)
    run = signing.Workflow.from_settings(settings, args.workflow)
    sbom = common.read(args.sbom_path) if args.sbom_path else None
    kind = "sbom" if sbom is not None else "provenance"
    made = attest.attest(
        subjects,
        trust=chosen,
        run=run,
        output=Path(args.output or f"reports/{kind}.sigstore.json"),
        sbom=sbom,
        github=common.github(settings) if settings.token else None,
        referrer_of=args.subject_name if args.push_to_registry else "",
    )
    actions.set_outputs(
        settings.output,
        {
            "bundle-path": str(made.bundle),
            "attestation-id": made.attestation_id,
            "attestation-url": made.attestation_url,
        },
    )
    where = ", ".join(
        w for w in (str(made.bundle), made.attestation_url, made.referrer and f"referrer {made.referrer}") if w
    )
    named = ", ".join(f"{name}@sha256:{digest[:12]}" for name, digest in subjects[:5])
    more = f" and {len(subjects) - 5} more" if len(subjects) > 5 else ""
    print(f"attested {kind} of {named}{more} on {chosen.describe()}: {where}")
    return 0


def cmd_sbom(args: argparse.Namespace) -> int:
    """CycloneDX SBOM of the pushed digest, of the local image when not pushed, or (``--plan``) of the planned one.

    CI's image job makes it with ``--plan``, from the engine, before its
    registry login: syft parses the PR-built image while no write token is on
    the machine. The package list is the same as the pushed digest's.
    """
    from pipeline import build  # noqa: PLC0415

    if args.plan:
        plan = jobfiles.read_plan(Path(args.plan))
        name, source = plan.name, f"docker:{plan.references[0]}"
    else:
        image = jobfiles.read_image(Path(args.image_json))
        name = image.name
        if image.pushed:
            source = f"registry:{name}@{image.digest}"
        else:
            if not image.tags:
                raise InputError(f"{args.image_json} names no tag to describe")
            source = f"docker:{name}:{image.tags[-1]}"
    # A registry on this machine speaks plain HTTP (the local platform, act).
    local = name.startswith(("127.0.0.1:", "localhost:"))
    count = build.sbom(source, Path(args.output), insecure_registry=args.insecure_registry or local)
    print(f"SBOM of {source}: {count} components -> {args.output}")
    return 0


def record_attestation(attestation_id: str, url: str, output: Path) -> None:
    """``attestation.json`` for the report, from the attest job's outputs."""
    jobfiles.write_attestation(output, jobfiles.AttestationRecord(attestation_id, url))


def cmd_report(args: argparse.Namespace) -> int:
    """Render the CI report; summary, file, and the sticky comment."""
    settings = common.settings()
    green = publish_report(
        settings,
        Path(args.reports),
        Path(args.output),
        sha=args.sha or settings.sha,
        branch=args.branch,
        pr=int(args.pr) if args.pr else None,
        artifacts_from_api=args.artifacts_from_api,
    )
    return 0 if green or not args.strict else 1


def publish_report(
    settings: Settings,
    reports: Path,
    output: Path,
    *,
    sha: str,
    branch: str,
    pr: int | None,
    artifacts_from_api: bool,
) -> bool:
    """The CI report as an operation: render, write, summary, comment; returns green or not."""
    from pipeline import inputs, report  # noqa: PLC0415

    if artifacts_from_api:
        from pipeline.run_artifacts import list_artifacts  # noqa: PLC0415

        try:
            common.write_json(reports / "artifacts.json", list_artifacts(common.github(settings), settings))
        except PipelineError as error:  # the report still renders; the section says why
            print(actions.command("warning", f"artifact links unavailable: {error}"))
    data = inputs.load(reports, sha, settings.run_url, branch)
    hint = "hatch run ci verify --digest {digest}"
    if settings.repository:
        repo = settings.repository
        hint = f"gh attestation verify oci://{{image}} --repo {repo} --signer-workflow {repo}/.github/workflows/ci.yml"
    body = report.render(data, verify_hint=hint)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(body, encoding="utf-8")
    actions.append_summary(settings.step_summary, body)
    print(f"report written to {output} ({len(body)} characters)")
    if pr is not None:
        common.comment(settings, pr, report.CI_MARKER, body)
    return report.overall(data)


def cmd_ci_report(args: argparse.Namespace) -> int:
    """The CI report job in one command, configured by the workflow's env.

    Records the attestation, links the artifacts, and comments only on
    same-repository PRs: a fork's token is read-only, so a fork PR gets the job
    summary and a notice instead. It never combines coverage: this job runs
    the base branch's code, and coverage data can only be reported against
    the sources that were measured (the ``coverage`` job combines them).
    """
    settings = common.settings()
    reports = Path(args.reports)
    reports.mkdir(parents=True, exist_ok=True)
    job = settings.job
    if job.attestation_id:
        record_attestation(job.attestation_id, job.attestation_url, reports / "attestation.json")
    number = job.pr_number
    same_repository = job.head_repository == settings.repository
    dependabot = job.pr_author == "dependabot[bot]"
    if number and not same_repository:
        print(
            actions.command(
                "notice",
                "pull request from a fork: the report is in the job summary, "
                "no comment is posted (the token is read-only)",
            )
        )
    elif number and dependabot:
        print(
            actions.command(
                "notice",
                "Dependabot pull request: the report is in the job summary, "
                "no comment is posted (Dependabot's token is read-only)",
            )
        )
    publish_report(
        settings,
        reports,
        reports / "ci-report.md",
        sha=job.head_sha or settings.sha,
        branch=job.head_ref,
        pr=int(number) if number and same_repository and not dependabot else None,
        artifacts_from_api=bool(settings.run_id),
    )
    return 0


def cmd_all_green(args: argparse.Namespace) -> int:
    """One required check for branch protection: every job CI needs, judged."""
    from pipeline.verdict import judge_needs  # noqa: PLC0415

    try:
        needs = json.loads(common.settings().job.needs)
    except ValueError:
        raise InputError("NEEDS is not JSON (set it to ${{ toJSON(needs) }})") from None
    ok, lines = judge_needs(needs)
    for line in lines:
        print(line)
    return 0 if ok else 1


def cmd_local(args: argparse.Namespace) -> int:
    """The whole pipeline on this machine."""
    from pipeline.local import PLATFORM_SCRIPT, run_local  # noqa: PLC0415

    return run_local(container=not args.no_container, reports=Path(args.reports), platform_script=PLATFORM_SCRIPT)
