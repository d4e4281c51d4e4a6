"""The all-green verdict: only the results GitHub gives pass, and only where they may (verdict.judge_needs)."""

import pytest

from pipeline.verdict import judge_needs


@pytest.mark.parametrize("result", ["timed_out", "unknown", "zzz", "successful", "skipped!", "", "Success"])
@pytest.mark.parametrize("job", ["test", "attest"])
def test_a_result_that_is_not_exactly_success_or_an_allowed_skip_blocks(job, result):
    ok, lines = judge_needs({job: {"result": result}})
    assert not ok
    assert lines == [f"{job}: {result or 'unknown'} (BLOCKS)"]


def test_success_passes_and_a_skip_passes_only_for_jobs_that_may_skip():
    assert judge_needs({"test": {"result": "success"}, "attest": {"result": "skipped"}}) == (
        True,
        ["attest: skipped (ok)", "test: success (ok)"],
    )
    assert judge_needs({"test": {"result": "skipped"}})[0] is False
