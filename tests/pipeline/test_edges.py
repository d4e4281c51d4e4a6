"""Bad input and failure paths of the helpers, each with the line a user sees."""

import json
import os
import subprocess
import sys

import pytest
from coverage import CoverageData

from pipeline import build, docker, inputs, markdown, pulls
from pipeline.cli import main
from pipeline.errors import CheckFailed, GitHubError, InputError
from pipeline.settings import Settings
from pipeline.verify import Expectations


def test_python_dash_m_pipeline_reports_usage_errors_with_status_2():
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "verify", "--bogus"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stderr == "error: python -m pipeline: unrecognized arguments: --bogus\n"
    assert "Traceback" not in result.stderr


def test_combine_coverage(tmp_path, capsys):
    assert main(["combine-coverage", str(tmp_path)]) == 2
    (tmp_path / "app.py").write_text("a = 1\nb = 2\n")
    for python, lines in (("3.10", [1]), ("3.13", [2])):
        data = CoverageData(basename=str(tmp_path / f".coverage.{python}"))
        data.add_lines({str(tmp_path / "app.py"): lines})
        data.write()
    assert main(["combine-coverage", str(tmp_path)]) == 0
    assert "combined 2 data files: total 100.00%" in capsys.readouterr().out
    assert (tmp_path / "coverage.xml").exists()


def test_build_refuses_bad_references():
    with pytest.raises(InputError, match="no image references"):
        build.build([])
    with pytest.raises(InputError, match="not a valid image reference"):
        build.build(["ghcr.io/o/r:-bad"])
    assert build._json_list("not json") == []
    assert build._json_list('{"a": 1}') == []


def test_sbom_needs_syft(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CheckFailed, match="syft is not installed"):
        build.sbom("docker:x:y", tmp_path / "sbom.json")


def test_sbom_failure_is_reported(tmp_path, monkeypatch):
    fake = tmp_path / "syft"
    fake.write_text("#!/bin/sh\necho 'could not fetch image' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(CheckFailed, match=r"syft failed \(exit 3\): could not fetch image"):
        build.sbom("docker:x:y", tmp_path / "sbom.json", insecure_registry=True)
    fake.write_text('#!/bin/sh\nfor a; do last="$a"; done\necho "{}" > "${last#cyclonedx-json=}"\n')
    with pytest.raises(CheckFailed, match="syft wrote no usable SBOM"):
        build.sbom("docker:x:y", tmp_path / "sbom.json")


def test_docker_missing_or_unanswered(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert docker.available().startswith("the docker CLI is not installed")
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    fake.chmod(0o755)
    assert docker.available().startswith("no Docker engine answers")
    with pytest.raises(CheckFailed, match=r"docker pull failed \(exit 1\): Cannot connect"):
        docker.docker("pull", "x")
    fake.write_text("#!/bin/sh\n/bin/sleep 5\n")
    run = docker.docker("pull", "x", timeout=0.2)
    assert run.timed_out
    assert docker._text(b"\xff") == "\ufffd"


def test_markdown_limits():
    assert markdown.inline("x" * 10, limit=5) == "xxxx…"
    assert markdown.code("a`b|c\nd", limit=200) == "`a'b\\|c d`"
    assert markdown.code("x" * 10, limit=5) == "`xxxx…`"
    assert markdown.code("") == "``"
    body = markdown.fit([("only", "y" * 500, 0)], 200, "cut {}")
    assert len(body) <= 200
    assert body.endswith("(cut to GitHub's comment size limit)\n")


def test_inputs_tolerate_odd_files(tmp_path):
    (tmp_path / "gate-3.12.json").write_text("[1]")
    (tmp_path / "junit-3.12.xml").write_text('<testsuite><testcase name="t" time="x"/></testsuite>')
    (tmp_path / "coverage.xml").write_text(
        '<coverage lines-valid="0" lines-covered="0"><class filename="a" line-rate="x"/></coverage>'
    )
    loaded = inputs.load(tmp_path)
    (interp,) = loaded.interpreters
    assert interp.gate == inputs.Missing("gate-3.12.json is not a JSON object")
    assert interp.tests[0].seconds == 0.0
    assert loaded.coverage.percent == 100.0
    assert loaded.coverage.files == [("a", 100.0)]  # no statements: nothing missed, as coverage.py counts


def test_pull_request_data_that_is_not_what_github_sends():
    with pytest.raises(GitHubError, match="unexpected pull request data"):
        pulls._matching([{"state": "open", "head": None}], "a" * 40, "o/r")


def test_settings_validation():
    with pytest.raises(InputError, match="PIPELINE_MAX_WAIT"):
        Settings.from_env({"PIPELINE_MAX_WAIT": "soon"})
    with pytest.raises(InputError, match="GITHUB_REPOSITORY is not set"):
        Settings().require_repository()
    assert Settings().run_url == ""
    assert Settings(repository="o/r", run_id="5").run_url == "https://github.com/o/r/actions/runs/5"


def test_event_file_must_be_an_object(tmp_path):
    path = tmp_path / "event.json"
    path.write_text("[]")
    with pytest.raises(InputError, match="is not a JSON object"):
        Settings(event_path=str(path)).event()


def test_expectations_reject_bad_run_numbers():
    # An attempt of 0 would have dropped the run pin; it is refused before any policy.
    with pytest.raises(InputError, match="run attempt"):
        Expectations(repository="o/r", ref="refs/heads/main", run_id="1", run_attempt="0").validate()
    assert Expectations(repository="o/r", ref="refs/heads/main").run_base == ""


def test_verify_usage_errors(capsys):
    assert main(["verify", "--offline", "--repository", "o/r", "--ref", "r"]) == 2
    assert main(["verify", "--offline", "--artifact", "x"]) == 2
    err = capsys.readouterr().err
    assert "give --digest" in err
    assert "--artifact needs exactly one --bundle" in err


def test_deploy_needs_an_image_or_a_sha(capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOSITORY", "o/r")
    assert main(["deploy", "--no-verify"]) == 2
    assert "give --image, or --sha" in capsys.readouterr().err


def test_interrupt_is_one_line(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("pipeline.commands.ci.cmd_pythons", interrupted)
    assert main(["pythons"]) == 1
    assert capsys.readouterr().err == "error: interrupted\n"


def test_attestation_report_json_roundtrip(tmp_path):
    (tmp_path / "attestation.json").write_text(json.dumps({"id": "1", "url": "https://x"}))
    assert inputs.load(tmp_path).attestation == {"id": "1", "url": "https://x"}


def fake_tool(directory, name, script):
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


def test_workflow_command_properties_and_outputs(tmp_path):
    from pipeline import actions  # noqa: PLC0415

    assert actions.command("error", "50%\nbad", file="a,b.py", line=1) == "::error file=a%2Cb.py,line=1::50%25%0Abad"
    out = tmp_path / "out"
    actions.set_outputs(str(out), {"one": "x", "many": "a\nb"})
    lines = out.read_text().splitlines()
    assert lines[0] == "one=x"
    assert lines[1].startswith("many<<ghadelimiter_")
    assert lines[2:4] == ["a", "b"]
    assert lines[4] == lines[1].split("<<")[1]
    actions.set_outputs("", {"x": "y"})
    actions.append_summary("", "ignored")
    actions.append_summary(str(tmp_path / "s.md"), "no newline")
    assert (tmp_path / "s.md").read_text() == "no newline\n"


def test_build_and_push_with_a_stand_in_docker(tmp_path, monkeypatch):
    log = tmp_path / "docker.log"
    fake_tool(
        tmp_path,
        "docker",
        f'echo "$@" >> {log}\ncase "$1" in image) echo \'["elsewhere/app@sha256:' + "a" * 64 + "\"]' ;; esac\n",
    )
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    build.build(["reg/app:v1"], "ctx", revision="abc")
    assert "--network" not in log.read_text()
    assert "--build-arg VCS_REF=abc" in log.read_text()
    with pytest.raises(CheckFailed, match="the registry reported no digest for reg/app"):
        build.push(["reg/app:v1"])


def test_docker_engine_that_hangs(tmp_path, monkeypatch):
    fake_tool(tmp_path, "docker", "/bin/sleep 5\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(docker, "ENGINE_TIMEOUT", 0.2)
    assert docker.available() == "the Docker engine does not answer (timeout)"


def test_matrix_without_hatch(tmp_path, monkeypatch):
    from pipeline.matrix import read_matrix  # noqa: PLC0415

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InputError, match="cannot read the matrix from hatch"):
        read_matrix()


def test_report_edge_cases(tmp_path):
    from pipeline import report  # noqa: PLC0415

    (tmp_path / "gate-3.12.json").write_text(json.dumps({"verdict": "passed", "threshold": 90, "precision": 2}))
    (tmp_path / "trivy.json").write_text(json.dumps({"Results": [{"Vulnerabilities": None}]}))
    loaded = inputs.load(tmp_path)
    assert loaded.interpreters[0].tests == inputs.Missing("junit-3.12.xml was not produced")
    assert not report.overall(loaded)
    assert "**Trivy** (informational): no vulnerabilities found" in report.render(loaded)


def test_artifact_listing_needs_a_run():
    from pipeline.run_artifacts import list_artifacts  # noqa: PLC0415

    with pytest.raises(GitHubError, match="needs GITHUB_REPOSITORY and GITHUB_RUN_ID"):
        list_artifacts(None, Settings())
    assert Settings().event() == {}


def test_expectations_without_optional_claims():
    policy = Expectations(repository="o/r", ref="refs/heads/main").policy()
    assert len(policy._children) == 4
