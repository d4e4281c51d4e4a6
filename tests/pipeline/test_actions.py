"""Workflow commands, step outputs and the job summary."""


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
