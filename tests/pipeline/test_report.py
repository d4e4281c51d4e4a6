import json
import os
import re
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import inputs, report
from pipeline.grammar import TAG
from pipeline.image import image_name, image_ref, publish_decision, sanitize_branch

GOLDEN = Path(__file__).parent / "golden"
SHA = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "d" * 64


def gate(python, verdict="passed", total=95.0, passed=10, failed=0):
    return {
        "verdict": verdict,
        "threshold": 90.0,
        "precision": 2,
        "total": total,
        "total_display": f"{total:.2f}",
        "python": python,
        "duration_seconds": 1.5,
        "tests": {"passed": passed, "failed": failed, "skipped": 1, "errors": 0},
        "files": [],
    }


def junit(cases):
    body = "".join(
        f'<testcase classname={quoteattr(c)} name={quoteattr(n)} time="{t}">{extra}</testcase>'
        for c, n, t, extra in cases
    )
    return f'<?xml version="1.0"?><testsuites><testsuite>{body}</testsuite></testsuites>'


def coverage_xml(percent, files=()):
    """coverage.py's XML: each file has 100 lines, ``rate`` of them hit."""

    def lines(rate):
        hit = round(rate * 100)
        return "".join(f'<line number="{n}" hits="{1 if n <= hit else 0}"/>' for n in range(1, 101))

    classes = "".join(f'<class filename="{f}" line-rate="{r}"><lines>{lines(r)}</lines></class>' for f, r in files)
    return (
        f'<coverage lines-valid="100" lines-covered="{percent}" branches-valid="0" branches-covered="0">'
        f"<packages><package><classes>{classes}</classes></package></packages></coverage>"
    )


def write(directory, name, data):
    path = directory / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))


def green(directory):
    for py in ("3.10", "3.13"):
        write(directory, f"gate-{py}.json", gate(py))
        write(directory, f"junit-{py}.xml", junit([("tests.t", f"test_{i}", i / 10, "") for i in range(8)]))
    write(directory, "coverage.xml", coverage_xml(95, [("src/a.py", 0.5), ("src/b.py", 1.0)]))
    write(
        directory,
        "image.json",
        {
            "name": "ghcr.io/octo/app",
            "tags": ["main", f"sha-{SHA}"],
            "digest": DIGEST,
            "pushed": True,
            "reason": "push to main",
        },
    )
    write(directory, "sbom.json", {"bomFormat": "CycloneDX", "components": [{}] * 42})
    write(directory, "attestation.json", {"id": "123", "url": "https://github.com/octo/app/attestations/123"})
    write(
        directory,
        "trivy.json",
        {
            "Results": [
                {
                    "Vulnerabilities": [
                        {
                            "VulnerabilityID": "CVE-1",
                            "Severity": "HIGH",
                            "PkgName": "openssl",
                            "InstalledVersion": "1",
                            "FixedVersion": "2",
                        },
                        {"VulnerabilityID": "CVE-2", "Severity": "LOW", "PkgName": "zlib", "InstalledVersion": "1"},
                    ]
                }
            ]
        },
    )
    write(directory, "artifacts.json", [{"name": "reports-3.10", "url": "https://github.com/octo/app/a/1"}])


def check_golden(name, text):
    path = GOLDEN / f"{name}.md"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()


def render(directory, **kwargs):
    return report.render(inputs.load(directory, SHA, "https://github.com/octo/app/actions/runs/1", "main"), **kwargs)


def test_all_green(tmp_path):
    green(tmp_path)
    text = render(tmp_path)
    assert text.startswith(report.CI_MARKER)
    assert report.overall(inputs.load(tmp_path))
    check_golden("all-green", text)


def test_gate_failed(tmp_path):
    green(tmp_path)
    write(tmp_path, "gate-3.13.json", gate("3.13", "failed", 80.0))
    write(tmp_path, "coverage.xml", coverage_xml(85))
    check_golden("gate-failed", render(tmp_path))


def test_hostile_test_names_are_escaped(tmp_path):
    green(tmp_path)
    message = "boom ``` @someone <script>alert(1)</script> | " + "x" * 10_000
    name = "test_x[a|b`c<script>@someone]"
    write(tmp_path, "junit-3.13.xml", junit([("t", name, 1, f"<failure message={quoteattr(message)}/>")]))
    write(tmp_path, "gate-3.13.json", gate("3.13", passed=0, failed=1))
    text = render(tmp_path)
    outside_code = re.sub(r"(`{3,})text\n.*?\n\1", "", text, flags=re.DOTALL)
    assert "<script>" not in outside_code
    assert "@someone" not in outside_code
    assert "a&#124;b&#96;c&lt;script&gt;&#64;someone" in text
    check_golden("hostile", text)


def test_fork_pr_without_image(tmp_path):
    green(tmp_path)
    write(
        tmp_path,
        "image.json",
        {
            "name": "ghcr.io/octo/app",
            "tags": [],
            "digest": "",
            "pushed": False,
            "reason": "pull request from a fork: built and tested, not pushed",
        },
    )
    for name in ("sbom.json", "attestation.json", "trivy.json"):
        (tmp_path / name).unlink()
    check_golden("fork", render(tmp_path))


def test_missing_inputs(tmp_path):
    write(tmp_path, "gate-3.12.json", "{not json")
    write(tmp_path, "junit-3.12.xml", "<broken")
    write(tmp_path, "sbom.json", {"x": 1})
    write(tmp_path, "artifacts.json", {"x": 1})
    write(tmp_path, "coverage.xml", "<nope")
    text = render(tmp_path)
    assert not report.overall(inputs.load(tmp_path))
    check_golden("missing", text)
    assert "missing" in report.render(inputs.load(tmp_path / "nothing"))


def test_size_cap_with_3000_tests_and_400_files(tmp_path):
    green(tmp_path)
    cases = [("t", f"test_{i}", 0.01, f'<failure message="{"m" * 500}"/>' if i % 3 == 0 else "") for i in range(3000)]
    write(tmp_path, "junit-3.13.xml", junit(cases))
    write(tmp_path, "coverage.xml", coverage_xml(50, [(f"src/f{i}.py", 0.1) for i in range(400)]))
    text = render(tmp_path, limit=20_000)
    assert len(text) <= 20_000
    assert "Cut to fit GitHub's size limit" in text
    assert len(render(tmp_path)) <= report.COMMENT_LIMIT


@pytest.mark.parametrize("limit", [6_000, 12_000, 20_000, report.COMMENT_LIMIT])
def test_an_over_limit_report_keeps_as_many_failures_as_fit(tmp_path, limit):
    # The failures section used to be dropped whole when it did not fit.
    green(tmp_path)
    cases = [("t", f"test_{i}", 0.01, f'<failure message="{"m" * 1400}"/>') for i in range(200)]
    write(tmp_path, "junit-3.13.xml", junit(cases))
    text = render(tmp_path, limit=limit)
    assert len(text) <= limit
    shown = text.count("(Python 3.13, failed)</summary>")
    assert shown >= 1
    assert f"… and {200 - shown} more in the JUnit artifacts." in text
    assert "<summary>t::test&#95;0 (Python 3.13, failed)</summary>" in text


def test_a_report_of_exactly_the_limit_is_not_cut():
    from pipeline import comments  # noqa: PLC0415

    body = "x" * comments.MAX_BODY
    assert comments.fit_body(body) == body
    longer = comments.fit_body(body + "y")
    assert len(longer) == comments.MAX_BODY
    assert longer.endswith("comment limit)\n")


@given(st.text(max_size=300))
def test_every_branch_gives_a_valid_tag(branch):
    tag = sanitize_branch(branch)
    assert tag == "" or TAG.fullmatch(tag)
    for t in image_ref("ghcr.io", "Octo/App", SHA, branch, 7).tags:
        assert TAG.fullmatch(t)


def test_image_name_and_tags():
    ref = image_ref("ghcr.io", "Octo/App", SHA, "feat/a", 7)
    assert ref.name == image_name("ghcr.io", "Octo/App") == "ghcr.io/octo/app"
    assert ref.tags == ("pr-7", f"pr-7-sha-{SHA}")  # a PR never takes its branch's tag
    assert image_ref("ghcr.io", "octo/app", SHA, "main").tags == ("main", f"sha-{SHA}")
    assert image_ref("ghcr.io", "octo/app", SHA, "develop").tags == ("develop", f"develop-sha-{SHA}")


@pytest.mark.parametrize("head", ["main", "develop"])
def test_a_back_merge_pr_takes_neither_the_branch_nor_its_commit_tag(head):
    # A PR of main into develop has the head "main" and main's commit: its
    # image (of the merge commit, under the PR's identity) must not take
    # `main` or `sha-<main's commit>`, which main's CD and the release resolve.
    tags = image_ref("ghcr.io", "octo/app", SHA, head, 12).tags
    assert tags == ("pr-12", f"pr-12-sha-{SHA}")
    assert not {head, f"sha-{SHA}", f"develop-sha-{SHA}"} & set(tags)


def test_one_commit_pushed_to_two_branches_gets_two_commit_tags():
    main, develop = image_ref("r.io", "o/a", SHA, "main").tags, image_ref("r.io", "o/a", SHA, "develop").tags
    assert not set(main) & set(develop)


@pytest.mark.parametrize("branch", ["develop-sha-" + "a" * 40, "pr-7-sha-x", "pr-12-anything"])
def test_a_branch_never_takes_a_scoped_commit_tag(branch):
    assert sanitize_branch(branch) == f"branch-{branch}"
    assert sanitize_branch("..-x" + "y" * 300) == "x" + "y" * 127


@pytest.mark.parametrize(
    ("event_name", "ref", "event", "expected"),
    [
        ("push", "refs/heads/main", {}, True),
        ("push", "refs/heads/dev", {}, False),
        (
            "pull_request",
            "",
            {"pull_request": {"head": {"repo": {"full_name": "octo/app"}}, "user": {"login": "me"}}},
            True,
        ),
        (
            "pull_request",
            "",
            {"pull_request": {"head": {"repo": {"full_name": "fork/app"}}, "user": {"login": "me"}}},
            False,
        ),
        (
            "pull_request",
            "",
            {"pull_request": {"head": {"repo": {"full_name": "octo/app"}}, "user": {"login": "dependabot[bot]"}}},
            False,
        ),
        ("pull_request", "", {}, False),
        ("schedule", "", {}, False),
    ],
)
def test_publish_decision(event_name, ref, event, expected):
    assert publish_decision(event_name, ref, event, "octo/app", ("main",))[0] is expected


@pytest.mark.parametrize(
    ("ref", "branches", "expected"),
    [
        ("refs/heads/develop", ("main", "develop"), True),
        ("refs/heads/develop", ("main",), False),
        ("refs/heads/main", ("develop",), False),
        ("refs/heads/staging", ("main", "develop"), False),
        ("refs/tags/develop", ("main", "develop"), False),
        ("refs/heads/develop2", ("main", "develop"), False),
    ],
)
def test_only_the_profiles_deploy_branches_publish(ref, branches, expected):
    assert publish_decision("push", ref, {}, "octo/app", branches)[0] is expected


@pytest.mark.parametrize(
    "branch",
    ["sha-" + "a" * 40, "SHA-" + "b" * 40, "pr-7", "latest", "1.2.3", "0.2", "7", "sha-anything"],
)
def test_a_branch_never_takes_a_tag_ci_writes_itself(branch):
    tag = sanitize_branch(branch)
    assert tag == f"branch-{branch}"
    ref = image_ref("ghcr.io", "octo/app", "c" * 40, branch)
    assert ref.tags == (f"branch-{branch}", f"branch-{branch}-sha-" + "c" * 40)


@pytest.mark.parametrize("branch", ["feature/sha-x", "pr-7a", "preview", "v1.2.3", "shafts"])
def test_ordinary_branches_keep_their_names(branch):
    assert not sanitize_branch(branch).startswith("branch-")


@pytest.mark.parametrize(
    ("event_name", "ref", "event", "push", "reason"),
    [
        # Found by mutation testing: each value sorts on the other side of the one compared.
        ("workflow_dispatch", "refs/heads/main", {}, False, "event workflow_dispatch does not publish"),
        ("merge_group", "refs/heads/main", {}, False, "event merge_group does not publish"),
        ("", "refs/heads/main", {}, False, "event unknown does not publish"),
        ("push", "refs/heads/release", {}, False, "push to refs/heads/release, which deploys nowhere (main do)"),
        ("push", "refs/heads/a", {}, False, "push to refs/heads/a, which deploys nowhere"),
        (
            "pull_request",
            "refs/pull/7/merge",
            {"pull_request": {"head": {"repo": {"full_name": "zoo/app"}}, "user": {"login": "z"}}},
            False,
            "from a fork",
        ),
        (
            "pull_request",
            "refs/pull/7/merge",
            {"pull_request": {"head": {"repo": {"full_name": "Octo/App"}}, "user": {"login": "alice"}}},
            True,
            "from this repository",
        ),
        (
            "pull_request",
            "refs/pull/7/merge",
            {"pull_request": {"head": {"repo": {"full_name": "octo/app"}}, "user": {"login": "zed"}}},
            True,
            "from this repository",
        ),
    ],
)
def test_publish_decision_edges(event_name, ref, event, push, reason):
    allowed, why = publish_decision(event_name, ref, event, "octo/app", ("main",))
    assert allowed is push
    assert reason in why


def test_an_image_reference_cannot_be_changed():
    import dataclasses  # noqa: PLC0415

    ref = image_ref("ghcr.io", "octo/app", SHA)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.name = "evil"
