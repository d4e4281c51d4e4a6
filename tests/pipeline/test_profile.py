"""The service profile: every field read once, each problem one line naming the field."""

import copy
import sys

import pytest

from pipeline import profile
from pipeline.cli import main
from pipeline.errors import InputError
from projects import ROOT, service_project

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the 3.10 cell of the matrix
    import tomli as tomllib

DOCUMENT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def document(**changes):
    """This repository's pyproject.toml with ``[tool.service-pipeline]`` keys replaced (None removes)."""
    data = copy.deepcopy(DOCUMENT)
    table = data["tool"]["service-pipeline"]
    for key, value in changes.items():
        path = key.split("__")
        target = table
        for part in path[:-1]:
            target = target[part.replace("_", "-")]
        name = path[-1].replace("_", "-")
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    return data


def test_this_repositorys_profile():
    service = profile.parse(DOCUMENT)
    assert service.distribution == "sample-app"
    assert service.file_prefix == "sample_app"
    assert service.version_file == "src/sample_app/__init__.py"
    assert service.smoke == profile.Run(("2", "3"), 0, "5")
    assert service.bad_input == profile.Run(("2", "abc"), 2, None)
    assert [r.label for r in service.runs] == ["run 2 3", "run 2 abc"]
    assert service.image == ""
    assert (service.dockerfile, service.context) == ("Dockerfile", ".")
    assert service.environment_for_branch("main") == "production"
    assert service.environment_for_branch("develop") == "staging"
    assert service.environment_for_branch("feature") == ""
    assert service.environment_for_branch("pull-requests") == ""
    assert service.pull_request_environment == "preview"
    assert service.deploy_branches == ("main", "develop")
    assert service.version(ROOT)


def test_defaults_come_from_the_project_and_hatch():
    data = document(distribution=None, version_file=None, environments=None, dockerfile=None, context=None)
    service = profile.parse(data)
    assert service.distribution == DOCUMENT["project"]["name"]
    assert service.version_file == DOCUMENT["tool"]["hatch"]["version"]["path"]
    assert service.environments == profile.DEFAULT_ENVIRONMENTS
    assert (service.dockerfile, service.context) == ("Dockerfile", ".")


def test_a_service_without_a_bad_input_run_has_one_run():
    service = profile.parse(document(smoke={"args": ["--version"], "output": "1.0"}))
    assert service.runs == (profile.Run(("--version",), 0, "1.0"),)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "red"}, "[tool.service-pipeline] has no field 'colour' (known: "),
        ({"smoke__timeout": 3}, "[tool.service-pipeline.smoke] has no field 'timeout'"),
        ({"smoke__bad_input__output": "x"}, "[tool.service-pipeline.smoke.bad-input] has no field 'output'"),
        ({"smoke": None}, "[tool.service-pipeline] smoke is missing"),
        ({"smoke": "2 3"}, "[tool.service-pipeline.smoke] must be a table, not str"),
        ({"smoke__args": "2 3"}, "smoke] args must be a list of strings (the entrypoint's arguments), not '2 3'"),
        ({"smoke__args": [2, 3]}, "smoke] args must be a list of strings"),
        ({"smoke__args": None}, "smoke] args must be a list of strings (the entrypoint's arguments), not missing"),
        ({"smoke__args": ["a\x00b"]}, "smoke] args holds a NUL character"),
        ({"smoke__output": None}, "[tool.service-pipeline.smoke] output is missing"),
        ({"smoke__output": 5}, "smoke] output must be a non-empty string, not 5"),
        ({"smoke__exit_code": "0"}, "smoke] exit-code must be an exit code from 0 to 255, not '0'"),
        ({"smoke__exit_code": True}, "smoke] exit-code must be an exit code from 0 to 255, not True"),
        ({"smoke__exit_code": 256}, "exit code from 0 to 255, not 256"),
        ({"smoke__bad_input__exit_code": 0}, "bad-input] exit-code must not be 0: a bad-input run must fail"),
        ({"smoke__bad_input__exit_code": None}, "bad-input] exit-code must be an exit code from 0 to 255, not missing"),
        ({"distribution": "not a name"}, "distribution must be a distribution name, not 'not a name'"),
        ({"distribution": ""}, "distribution must be a non-empty string, not ''"),
        ({"version_file": "/etc/passwd"}, "version-file must be a path inside the repository, not '/etc/passwd'"),
        ({"version_file": "../x/__init__.py"}, "version-file must be a path inside the repository"),
        ({"dockerfile": "..\\Dockerfile"}, "dockerfile must be a path inside the repository"),
        ({"context": "../.."}, "context must be a path inside the repository"),
        (
            {"image": "ghcr.io/Octo/App"},
            "image must be registry/name in lowercase, without a tag, not 'ghcr.io/Octo/App'",
        ),
        ({"image": "ghcr.io/octo/app:latest"}, "image must be registry/name in lowercase, without a tag"),
        ({"image": "ghcr.io/a/b/"}, "image must be registry/name"),
        ({"image": "ghcr.io//b"}, "image must be registry/name"),
        ({"image": "ghcr.io/a/../b"}, "image must be registry/name"),
        ({"image": "ghcr.io"}, "image must be registry/name"),
        ({"dockerfile": "Docker\nfile"}, "dockerfile must be a path inside the repository"),
        ({"version_file": "v\x00.py"}, "version-file must be a path inside the repository"),
        (
            {"environments": {"main": "production", "pull-requests": "production"}},
            "pull-requests deploys to 'production', which is main's",
        ),
        ({"environments": {}}, "environments] must be a table of branch = environment"),
        ({"environments": {"main": 3}}, "environments] main must name a GitHub environment, not 3"),
        ({"environments": {"main": "a,b"}}, "environments] main must name a GitHub environment, not 'a,b'"),
        ({"environments": {"feat..x": "x"}}, "environments] 'feat..x' is not a branch name"),
        ({"environments": {"a b": "x"}}, "environments] 'a b' is not a branch name"),
    ],
)
def test_each_bad_field_is_one_line_naming_it(changes, message):
    with pytest.raises(InputError) as raised:
        profile.parse(document(**changes))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_no_table_says_where_it_goes():
    with pytest.raises(InputError, match=r"x.toml has no \[tool.service-pipeline\] table: the service profile"):
        profile.parse({"project": {"name": "x"}}, "x.toml")


def test_a_missing_distribution_or_version_file_without_defaults():
    data = {"tool": {"service-pipeline": {"smoke": {"args": [], "output": "x"}}}}
    with pytest.raises(InputError, match=r"\] distribution is missing"):
        profile.parse(data)
    data["tool"]["service-pipeline"]["distribution"] = "x"
    with pytest.raises(InputError, match=r"\] version-file is missing"):
        profile.parse(data)


def test_the_version_file_must_hold_a_version(tmp_path):
    service = profile.parse(document(version_file="v.py"))
    with pytest.raises(InputError, match="version-file v.py: No such file"):
        service.version(tmp_path)
    (tmp_path / "v.py").write_text("VERSION = 1\n")
    with pytest.raises(InputError, match='v.py: the package has no line __version__ = "..."'):
        service.version(tmp_path)
    (tmp_path / "v.py").write_text('__version__ = "1.2.3"\n')
    assert service.version(tmp_path) == "1.2.3"


def test_a_command_with_a_broken_profile_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    service_project(tmp_path)
    text = (tmp_path / "pyproject.toml").read_text().replace('output = "5"', "output = 5")
    (tmp_path / "pyproject.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/app")
    assert main(["deploy", "--sha", "c" * 40, "--no-verify"]) == 2
    err = capsys.readouterr().err
    assert err == "error: [tool.service-pipeline.smoke] output must be a non-empty string, not 5\n"


def test_an_image_name_of_the_oci_grammar_is_taken():
    assert profile.parse(document(image="registry.example:5000/team/my-app__x.y")).image == (
        "registry.example:5000/team/my-app__x.y"
    )


def test_files_that_are_not_utf8_are_named(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_bytes(b"[tool]\nname = '\xff'\n")
    monkeypatch.chdir(tmp_path)
    assert main(["sbom-dist", "--dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.endswith("pyproject.toml is not UTF-8 text (TOML is)\n")
    service = profile.parse(document(version_file="v.py"))
    (tmp_path / "v.py").write_bytes(b"__version__ = '\xff'\n")
    with pytest.raises(InputError, match="version-file v.py is not UTF-8 text"):
        service.version(tmp_path)


def test_a_pyproject_that_is_not_toml_is_named(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyproject.toml").write_text("[tool\n")
    monkeypatch.chdir(tmp_path)
    assert main(["sbom-dist", "--dir", str(tmp_path)]) == 2
    assert "pyproject.toml is not valid TOML" in capsys.readouterr().err


def test_no_sample_app_literal_is_left_in_the_helpers():
    # sample_app is this repository's own service; the helpers learn it from the profile.
    # The local runners and the local authority are not part of what the jobs install.
    local_only = {"local.py", "release_local.py"}
    found = []
    for path in (ROOT / "src" / "pipeline").rglob("*.py"):
        if path.name in local_only or "authority" in path.parts:
            continue
        text = path.read_text()
        found += [f"{path.name}: {word}" for word in ("sample_app", "sample-app") if word in text]
    found += [f"{p.name}" for p in (ROOT / "plugins").rglob("*.py") if "sample_app" in p.read_text()]
    assert found == []
