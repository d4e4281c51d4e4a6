"""release-publish: a draft until every asset is there with its digest checked; resumable; exact refusals.

Driven over real HTTP against the fake API, which keeps drafts, asset digests
and states as GitHub does, with faults injected between the writes.
"""

import hashlib

import pytest

from pipeline import github, publish
from pipeline.cli import main

TAG = "v0.2.0"
FILES = {"sample_app-0.2.0-py3-none-any.whl": b"wheel bytes", "sample_app-0.2.0.tar.gz": b"sdist bytes"}
SBOM = {"sample-app.cdx.json": b'{"bomFormat": "CycloneDX"}'}


@pytest.fixture
def release_dirs(tmp_path, monkeypatch):
    monkeypatch.setattr(github, "BACKOFF", 0.01)
    monkeypatch.setattr(publish, "SETTLE", 0.05)
    dist, sbom = tmp_path / "dist", tmp_path / "sbom"
    for folder, files in ((dist, FILES), (sbom, SBOM)):
        folder.mkdir()
        for name, data in files.items():
            (folder / name).write_bytes(data)
    notes = tmp_path / "notes.md"
    notes.write_text("### Added\n- a thing\n")
    return ["release-publish", "--tag", TAG, "--notes", str(notes), "--dir", str(dist), "--dir", str(sbom)]


ALL = {**FILES, **SBOM}


def _assets(release):
    return {a["name"]: a for a in release["assets"]}


def _complete(release):
    assets = _assets(release)
    return sorted(assets) == sorted(ALL) and all(
        a["state"] == "uploaded" and a["digest"] == "sha256:" + hashlib.sha256(ALL[n]).hexdigest()
        for n, a in assets.items()
    )


def _writes(fake):
    return [(m, p.split("?")[0]) for m, p in fake.requests if m != "GET"]


def test_the_release_stays_a_draft_until_every_asset_is_there(fake_github, release_dirs, capsys):
    assert main(release_dirs) == 0
    (made,) = fake_github.release_list
    assert made["draft"] is False
    assert made["prerelease"] is False
    assert made["body"] == "### Added\n- a thing\n"
    assert _complete(made)
    writes = _writes(fake_github)
    # Created as a draft, filled, and only then published: the PATCH is the last write.
    assert writes[0] == ("POST", "/repos/octo/app/releases")
    assert [m for m, _ in writes[1:-1]] == ["POST"] * len(ALL)
    assert writes[-1] == ("PATCH", f"/repos/octo/app/releases/{made['id']}")
    assert "published v0.2.0 with 3 assets, every digest checked" in capsys.readouterr().out


def test_a_failure_between_create_and_the_last_upload_leaves_a_draft_a_rerun_completes(
    fake_github, release_dirs, capsys
):
    fake_github.refuse_posts = {3: 400}  # create, upload 1, upload 2: refused, nothing applied
    assert main(release_dirs) == 1
    capsys.readouterr()
    (made,) = fake_github.release_list
    assert made["draft"] is True  # never public half-filled
    assert len(made["assets"]) == 1
    fake_github.requests.clear()
    assert main(release_dirs) == 0
    assert "resuming the draft release v0.2.0" in capsys.readouterr().out
    (made,) = fake_github.release_list
    assert made["draft"] is False
    assert _complete(made)
    uploaded = [p for m, p in _writes(fake_github) if p.startswith("/uploads/")]
    assert len(uploaded) == 2  # only what was missing


def test_a_rerun_of_the_published_complete_release_changes_nothing(fake_github, release_dirs, capsys):
    assert main(release_dirs) == 0
    fake_github.requests.clear()
    assert main(release_dirs) == 0
    assert "already published with these 3 assets: unchanged" in capsys.readouterr().out
    assert _writes(fake_github) == []


def test_different_bytes_under_the_same_name_are_refused_by_name(fake_github, release_dirs, capsys):
    made = fake_github.add_release(TAG)
    for name, data in ALL.items():
        fake_github.add_asset(made, name, b"other bytes" if name.endswith(".tar.gz") else data)
    fake_github.requests.clear()
    assert main(release_dirs) == 1
    err = capsys.readouterr().err
    assert "different bytes under the names sample_app-0.2.0.tar.gz" in err
    assert "whl" not in err
    assert "refusing to change a published release" in err
    assert _writes(fake_github) == []


def test_a_draft_with_different_bytes_is_refused_and_never_published(fake_github, release_dirs, capsys):
    made = fake_github.add_release(TAG, draft=True)
    fake_github.add_asset(made, "sample-app.cdx.json", b"{}")
    assert main(release_dirs) == 1
    assert "holds different bytes under the names sample-app.cdx.json: refusing to publish it" in (
        capsys.readouterr().err
    )
    assert made["draft"] is True
    assert len(made["assets"]) == 1


@pytest.mark.parametrize("change", ["extra", "missing"])
def test_a_published_release_with_other_assets_is_refused(fake_github, release_dirs, capsys, change):
    made = fake_github.add_release(TAG)
    for name, data in ALL.items():
        if not (change == "missing" and name.endswith(".whl")):
            fake_github.add_asset(made, name, data)
    if change == "extra":
        fake_github.add_asset(made, "notes.txt", b"x")
    fake_github.requests.clear()
    assert main(release_dirs) == 1
    err = capsys.readouterr().err
    assert ("assets no local file names: notes.txt" if change == "extra" else "missing sample_app-0.2.0-py3") in err
    assert _writes(fake_github) == []


def test_without_githubs_digest_field_the_bytes_are_downloaded_and_hashed(fake_github, release_dirs, capsys):
    fake_github.asset_digests = False
    made = fake_github.add_release(TAG)
    for name, data in ALL.items():
        fake_github.add_asset(made, name, data)
    assert main(release_dirs) == 0  # the download (redirected, without our token) matched
    assert "unchanged" in capsys.readouterr().out
    fake_github.asset_bytes[made["assets"][0]["id"]] = b"changed"
    assert main(release_dirs) == 1
    assert f"different bytes under the names {made['assets'][0]['name']}" in capsys.readouterr().err


def test_an_incomplete_upload_is_deleted_and_uploaded_again(fake_github, release_dirs):
    fake_github.partial_uploads = 1  # half the bytes stored ("starter"), then the connection resets
    assert main(release_dirs) == 0
    (made,) = fake_github.release_list
    assert _complete(made)
    assert any(m == "DELETE" and "/releases/assets/" in p for m, p in fake_github.requests)


def test_an_incomplete_upload_left_by_an_earlier_run_is_redone(fake_github, release_dirs, capsys):
    made = fake_github.add_release(TAG, draft=True)
    fake_github.add_asset(made, "sample_app-0.2.0.tar.gz", b"sdi", state="starter")
    assert main(release_dirs) == 0
    assert "deleted the incomplete upload of sample_app-0.2.0.tar.gz" in capsys.readouterr().out
    assert _complete(made)
    assert made["draft"] is False


@pytest.mark.parametrize("fault", [502, "reset", ("hold", 0.0)])
def test_an_upload_whose_reply_was_lost_is_not_sent_twice(fake_github, release_dirs, fault):
    fake_github.lose_posts = {2: fault}  # the first upload (the 2nd POST): applied, its reply lost
    assert main(release_dirs) == 0
    (made,) = fake_github.release_list
    assert _complete(made)
    uploads = [p for m, p in _writes(fake_github) if p.startswith("/uploads/")]
    assert len(uploads) == len(ALL)


@pytest.mark.parametrize("fault", [502, "reset"])
def test_a_release_creation_whose_reply_was_lost_makes_one_release(fake_github, release_dirs, fault, monkeypatch):
    fake_github.lost_replies = [fault]
    fake_github.list_lag = 0.3  # GitHub's list shows the new draft only after a while
    monkeypatch.setattr(publish, "SETTLE", 1.0)
    assert main(release_dirs) == 0
    (made,) = fake_github.release_list
    assert _complete(made)
    assert made["draft"] is False


def test_duplicate_drafts_of_the_tag_are_reduced_to_the_oldest(fake_github, release_dirs, capsys):
    oldest = fake_github.add_release(TAG, draft=True)
    fake_github.add_asset(oldest, "sample_app-0.2.0.tar.gz", FILES["sample_app-0.2.0.tar.gz"])
    newer = fake_github.add_release(TAG, draft=True)
    assert main(release_dirs) == 0
    assert fake_github.release_list == [oldest]
    assert f"deleted a duplicate draft of v0.2.0 (id {newer['id']})" in capsys.readouterr().out
    assert _complete(oldest)


def test_drafts_are_not_found_by_tag_as_on_github(fake_github):
    import requests  # noqa: PLC0415

    fake_github.add_release(TAG, draft=True)
    assert requests.get(f"{fake_github.url}/repos/octo/app/releases/tags/{TAG}", timeout=5).status_code == 404
    assert len(requests.get(f"{fake_github.url}/repos/octo/app/releases", timeout=5).json()) == 1


def test_the_comparison_is_exact():
    local = [publish.LocalAsset("a", None, "1" * 64), publish.LocalAsset("b", None, "2" * 64)]
    remote = [{"name": "a", "state": "uploaded"}, {"name": "b", "state": "starter"}, {"name": "c"}]
    seen = publish.compare(local, remote, {"a": "1" * 64})
    assert seen == publish.Comparison(missing=(), incomplete=("b",), different=(), extra=("c",))
    assert not seen.complete
    assert publish.compare(local, remote[:1], {"a": "1" * 63 + "0"}).different == ("a",)
    assert publish.compare(local, remote[:1], {"a": "1" * 64}).missing == ("b",)
    assert publish.compare(local[:1], remote[:1], {"a": ("1" * 64).upper()}).complete
    assert publish._digest_field({"digest": "sha512:" + "1" * 64}) == ""
    assert publish._digest_field({"digest": "sha256:" + "A" * 64}) == "a" * 64
    assert publish._digest_field({"digest": "sha256:abc"}) == ""
