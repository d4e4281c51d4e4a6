import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from pipeline import profile
from pipeline.cli import main
from pipeline.errors import CheckFailed, InputError
from pipeline.guard import decide
from pipeline.matrix import missing_pythons, read_matrix, require_pythons

SHA = "c" * 40
PROFILE = profile.load(Path(__file__).resolve().parents[2])


def event(**run):
    base = {
        "conclusion": "success",
        "head_repository": {"full_name": "octo/app", "owner": {"login": "octo"}},
        "path": ".github/workflows/ci.yml@refs/pull/7/merge",
        "head_sha": SHA,
        "id": 42,
        "run_attempt": 1,
        "event": "pull_request",
        "head_branch": "feat",
    }
    base.update(run)
    return {"workflow_run": base}


@pytest.mark.parametrize(
    ("run", "act", "reason"),
    [
        ({}, True, "pull request"),
        ({"event": "push", "head_branch": "main"}, True, "push to main"),
        ({"event": "push", "head_branch": "dev"}, False, "'dev', which the profile deploys nowhere"),
        ({"event": "push", "head_branch": "develop"}, True, "push to develop"),
        ({"conclusion": "failure"}, False, "concluded"),
        ({"head_repository": {"full_name": "fork/app"}}, False, "not this repository"),
        ({"path": ".github/workflows/evil.yml"}, False, "not this repository's CI"),
        ({"path": ".github/workflows/ci.yml.evil"}, False, "not this repository's CI"),
        ({"path": ".github/workflows/ci.yml.evil@refs/heads/main"}, False, "not this repository's CI"),
        ({"path": "x/.github/workflows/ci.yml"}, False, "not this repository's CI"),
        ({"head_sha": "c" * 40 + "x"}, False, "malformed"),
        ({"head_sha": "c" * 40 + "\n"}, False, "malformed"),
        ({"head_sha": "C" * 40}, False, "malformed"),
        ({"run_attempt": "1x"}, False, "malformed"),
        ({"head_sha": "main"}, False, "malformed"),
        ({"id": "1; rm"}, False, "malformed"),
        ({"event": "schedule"}, False, "not deployed"),
        # CI never pushes a Dependabot PR's image: nothing to deploy, not a red CD.
        ({"actor": {"login": "dependabot[bot]"}}, False, "Dependabot"),
        ({"triggering_actor": {"login": "dependabot[bot]"}}, False, "Dependabot"),
        ({"head_branch": "dependabot/pip/requests-2.99.0"}, False, "Dependabot"),
        # Found by mutation testing: each value sorts on the other side of the one compared.
        ({"conclusion": "timed_out"}, False, "concluded"),
        ({"conclusion": "cancelled"}, False, "concluded"),
        ({"conclusion": None}, False, "concluded"),
        ({"head_repository": {"full_name": "zoo/app"}}, False, "not this repository"),
        ({"head_repository": {"full_name": "octo/app2"}}, False, "not this repository"),
        ({"path": ".github/workflows/a.yml"}, False, "not this repository's CI"),
        ({"path": ".github/workflows/ci.yml"}, True, "pull request"),
        ({"event": "push", "head_branch": "release"}, False, "deploys nowhere"),
        ({"event": "merge_group"}, False, "not deployed"),
        ({"event": "issue_comment", "actor": {"login": "dependabot[bot]"}}, False, "not deployed"),
        ({"event": "push", "head_branch": "main", "actor": {"login": "dependabot[bot]"}}, True, "push to main"),
    ],
)
def test_cd_acts_only_on_successful_same_repo_ci_runs(run, act, reason):
    decision = decide(event(**run), "octo/app", PROFILE)
    assert decision.act is act
    assert reason in decision.reason


def test_cd_guard_outputs(tmp_path, monkeypatch, capsys):
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event()))
    out = tmp_path / "out"
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/app")
    assert main(["cd-guard"]) == 0
    text = out.read_text()
    assert "act=true" in text
    assert f"sha={SHA}" in text
    assert "environment=preview" in text
    assert "fork-head=octo:feat" in text
    assert decide({}, "octo/app", PROFILE).act is False


def test_matrix_read_from_hatch_json():
    show = json.dumps(
        {
            "default": {},
            "test.py3.10": {"python": "3.10"},
            "test.py3.13": {"python": "3.13"},
            "hatch-test.py3.12": {"python": "3.12"},
        }
    )
    assert read_matrix(show) == ["3.10", "3.13"]
    with pytest.raises(InputError):
        read_matrix("{}")
    with pytest.raises(InputError):
        read_matrix("nope")
    with pytest.raises(InputError, match=r"python '\.\./x' is not a version like 3\.12"):
        read_matrix(json.dumps({"test.x": {"python": "../x"}}))
    with pytest.raises(InputError, match="'3.12; rm' is not a version"):
        read_matrix(json.dumps({"test.x": {"python": "3.12; rm"}}))


def test_matrix_from_the_real_hatch_toml(capsys, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    assert main(["matrix"]) == 0
    versions = json.loads(capsys.readouterr().out)["python"]
    assert versions == ["3.10", "3.11", "3.12", "3.13"]
    assert out.read_text().startswith("matrix=")


def fake_python(folder, version, script=None):
    """A ``pythonX.Y`` that answers as that version (or runs ``script``)."""
    path = folder / f"python{version}"
    path.write_text(script or f"#!/bin/sh\necho {version}\n")
    path.chmod(0o755)


def test_missing_interpreter_says_which_and_how(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CheckFailed, match=r"missing interpreters: python3\.99: not on PATH\. Install them"):
        require_pythons(["3.99"])


def test_an_inactive_pyenv_shim_is_not_an_interpreter(monkeypatch, tmp_path):
    shim = '#!/bin/sh\necho "pyenv: python3.10: command not found" >&2\nexit 127\n'
    fake_python(tmp_path, "3.10", shim)
    fake_python(tmp_path, "3.11")
    fake_python(tmp_path, "3.12", "#!/bin/sh\necho 3.11\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CheckFailed) as raised:
        require_pythons(["3.10", "3.11", "3.12", "3.13"])
    message = str(raised.value)
    assert "python3.10: " in message
    assert "does not run: pyenv: python3.10: command not found" in message
    assert "python3.12: " in message
    assert "is Python 3.11" in message
    assert "python3.13: not on PATH" in message
    assert "python3.11" not in message.split(". Install", maxsplit=1)[0]
    assert "`pyenv install 3.10 3.12 3.13` then `pyenv global 3.10 3.11 3.12 3.13`" in message
    assert "\n" not in message


def test_a_long_complaint_of_a_broken_interpreter_is_cut_between_words(monkeypatch, tmp_path):
    complaint = "error while loading shared libraries: " + "libpython3.12.so.1.0 " * 10
    fake_python(tmp_path, "3.12", f'#!/bin/sh\necho "{complaint}" >&2\nexit 127\n')
    monkeypatch.setenv("PATH", str(tmp_path))
    why = missing_pythons(["3.12"])["3.12"]
    assert why.startswith(f"{tmp_path / 'python3.12'} does not run: error while loading shared libraries: libpython")
    assert why.endswith("libpython3.12.so.1.0 …")


def test_the_probe_asks_the_interpreter_itself_not_the_environment_around_it(monkeypatch, tmp_path):
    """A sitecustomize on PYTHONPATH that prints (a debugging aid, a corporate
    hook) must not turn a working interpreter into "is Python <its output>"."""
    (tmp_path / "sitecustomize.py").write_text("print('hello from sitecustomize')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    version = "{}.{}".format(*sys.version_info[:2])
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert missing_pythons([version]) == {}


def test_pythons_command(capsys, tmp_path, monkeypatch):
    """Against the real hatch.toml, with a PATH that holds exactly the interpreters we choose."""
    hatch = shutil.which("hatch")
    assert hatch, "the suite runs under hatch"
    for version in ("3.10", "3.11", "3.12"):
        fake_python(tmp_path, version)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{Path(hatch).parent}")
    assert main(["pythons"]) == 1
    assert "missing interpreters: python3.13: not on PATH. Install them" in capsys.readouterr().err
    fake_python(tmp_path, "3.13")
    assert main(["pythons"]) == 0
    assert capsys.readouterr().out == "interpreters found: python3.10, python3.11, python3.12, python3.13\n"
    assert main(["bogus"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_settings_refuse_bad_environment(monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_REPOSITORY", "not a repo")
    assert main(["cd-guard"]) == 2
    monkeypatch.setenv("GITHUB_REPOSITORY", "o/r")
    monkeypatch.setenv("GITHUB_RUN_ID", "x")
    assert main(["cd-guard"]) == 2
    monkeypatch.setenv("GITHUB_RUN_ID", "1")
    monkeypatch.setenv("GITHUB_EVENT_PATH", "/nonexistent")
    assert main(["cd-guard"]) == 2
    assert "cannot read the event file" in capsys.readouterr().err


@pytest.mark.parametrize("variable", ["FORCE_COLOR", "CLICOLOR_FORCE", "PY_COLORS"])
def test_matrix_reads_hatch_when_the_job_forces_colour(variable, monkeypatch, capsys, tmp_path):
    # ci.yml sets FORCE_COLOR=1 for readable logs; hatch then wrote escape codes
    # before its JSON and the plan job failed on the first push.
    monkeypatch.setenv(variable, "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out"))
    assert main(["matrix"]) == 0
    versions = json.loads(capsys.readouterr().out)["python"]
    assert versions == read_matrix()
    assert "\x1b" not in (tmp_path / "out").read_text()


@pytest.mark.parametrize(
    ("owner", "branch", "fork_head"),
    [
        ("octo", "feat", "octo:feat"),
        ("octo", "feat/x.y-z", "octo:feat/x.y-z"),
        ("oc to", "feat", ""),
        ("octo", "feat;rm", ""),
        ("octo", "feat\nx", ""),
        ("", "feat", ""),
    ],
)
def test_the_fork_head_is_validated_before_use(owner, branch, fork_head):
    data = event(head_branch=branch, head_repository={"full_name": "octo/app", "owner": {"login": owner}})
    assert decide(data, "octo/app", PROFILE).fork_head == fork_head


def test_the_event_names_its_pull_requests_as_validated_numbers():
    data = event(pull_requests=[{"number": 8}, {"number": "9; rm"}, {"number": -1}, "junk", {"number": 7}])
    assert decide(data, "octo/app", PROFILE).outputs()["pull-requests"] == "8,7"


def test_the_decision_cannot_be_changed_after_it_is_made():
    import dataclasses  # noqa: PLC0415

    decision = decide(event(), "octo/app", PROFILE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.act = False


def test_untrusted_text_is_shown_cut_to_its_limit():
    assert decide(event(conclusion="x" * 25), "octo/app", PROFILE).reason == f"CI concluded {'x' * 20!r}"
    assert decide(event(event="y" * 40), "octo/app", PROFILE).reason == f"trigger {'y' * 30!r} is not deployed"
    many = [{"number": n} for n in range(1, 26)]
    assert decide(event(pull_requests=many), "octo/app", PROFILE).pull_requests == ",".join(
        str(n) for n in range(1, 21)
    )
    assert decide(event(pull_requests=[{"number": 1}, {"number": 0}]), "octo/app", PROFILE).pull_requests == "1"


def test_matrix_without_hatch(tmp_path, monkeypatch):
    from pipeline.matrix import read_matrix  # noqa: PLC0415

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InputError, match="cannot read the matrix from hatch"):
        read_matrix()


def test_a_failing_hatch_is_named_with_its_own_reason(tmp_path, monkeypatch):
    hatch = tmp_path / "hatch"
    hatch.write_text(
        "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\necho 'Error parsing config: hatch.toml line 7' >&2\nexit 1\n"
    )
    hatch.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InputError) as caught:
        read_matrix()
    assert str(caught.value) == (
        "cannot read the matrix from hatch: `hatch env show` exited 1: Error parsing config: hatch.toml line 7"
    )
