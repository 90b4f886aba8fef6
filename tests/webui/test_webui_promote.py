"""``python -m chatbot promote``: releases, the atomic link swap, refusing bad models, pruning, rollback, training
into a served link."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from pathlib import Path

import pytest

from chatbot.cli import main
from webui.releases import list_releases, live_release, model_version, promote, prune, rollback


def variant(tiny_model_dir: Path, dest: Path, n: int) -> Path:
    """A copy of the tiny model with its own training time, hence its own version."""
    shutil.copytree(tiny_model_dir, dest)
    meta = json.loads((dest / "meta.json").read_text(encoding="utf-8"))
    meta["created_at"] = f"2025-01-{n:02d}T00:00:00+00:00"
    (dest / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return dest


@pytest.fixture
def trained(tiny_model_dir: Path, tmp_path: Path) -> list[Path]:
    """Seven trained model directories, v1..v7, outside the models folder."""
    return [variant(tiny_model_dir, tmp_path / "trained" / f"v{n}", n) for n in range(1, 8)]


@pytest.fixture
def served(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    return tmp_path / "models" / "default"


def test_promote_adopts_a_plain_directory_and_points_the_served_path_at_the_release(trained, served, capsys):
    shutil.copytree(trained[0], served)  # what `make train` leaves: a plain directory
    assert main(["promote", str(trained[1]), "--model", str(served)]) == 0
    out = capsys.readouterr().out
    v1, v2 = model_version(trained[0]), model_version(trained[1])
    assert v2.startswith("20250102T000000Z-") and v2 in out and v1 in out  # the new version, and what it replaced
    assert served.is_symlink() and os.readlink(served) == f"releases/{v2}"  # relative: the folder can move
    assert live_release(served).name == v2 and (served.parent / "releases" / v1 / "pipeline.yaml").is_file()
    assert main(["promote", "--list", "--model", str(served)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"* {v2}", f"  {v1}"]


@pytest.mark.parametrize("breakage", ["no pipeline.yaml", "truncated pipeline.yaml", "missing component"])
def test_promote_refuses_a_model_that_does_not_load_and_leaves_the_live_one(trained, served, tmp_path, capsys,
                                                                            breakage):
    promote(trained[0], served)
    before = sorted(p.name for p in (served.parent / "releases").iterdir())
    bad = trained[1]
    if breakage == "no pipeline.yaml":
        (bad / "pipeline.yaml").unlink()
    elif breakage == "truncated pipeline.yaml":
        (bad / "pipeline.yaml").write_text("version: 1\npipeline: [", encoding="utf-8")
    else:
        shutil.rmtree(next((bad / "components").glob("*classifier*")))
    assert main(["promote", str(bad), "--model", str(served)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and err.endswith("the live model is unchanged") and "\n" not in err
    assert live_release(served).name == model_version(trained[0])
    assert sorted(p.name for p in (served.parent / "releases").iterdir()) == before


def test_the_served_path_always_resolves_to_a_complete_model(trained, served):
    if not sys.platform.startswith("linux"):
        pytest.skip("the plain-directory swap is gapless only with Linux's renameat2(RENAME_EXCHANGE)")
    shutil.copytree(trained[0], served)
    known = {model_version(p) for p in trained}
    stop, reads, misses = threading.Event(), [0], []
    plain_path = os.path.join(os.path.realpath(served.parent), served.name)

    def read() -> None:
        while not stop.is_set():
            real = os.path.realpath(served)
            complete = os.path.isfile(os.path.join(real, "pipeline.yaml")) and os.path.isfile(
                os.path.join(real, "meta.json"))
            # The version is read from two files; through the plain directory's own path (before it
            # is swapped for the link) the two reads can straddle the swap, which says nothing about
            # the path being missing or torn, so the version is only checked through a resolved link.
            if not complete or (real != plain_path and model_version(real) not in known):
                misses.append(real)
            reads[0] += 1

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for model in trained[1:]:
            promote(model, served, keep=10, validate=None)  # keep all: a pruned release is not a torn one
        rollback(served, keep=10)
    finally:
        stop.set()
        reader.join(10)
    assert reads[0] > 50 and misses == []
    assert live_release(served).name == model_version(trained[-2])


def test_pruning_keeps_the_most_recent_releases_and_never_the_live_one(trained, served, capsys):
    for model in trained[:4]:
        promote(model, served, keep=2, validate=None)
    versions = [model_version(p) for p in trained]
    assert {r["version"] for r in list_releases(served)} == {versions[2], versions[3]}
    # Someone points the served path by hand at the oldest release; pruning still keeps it.
    promote(trained[4], served, keep=5, validate=None)
    os.replace(_link_to(served, served.parent / "releases" / versions[2]), served)
    assert prune(served, keep=1) == (versions[3],)
    assert {r["version"] for r in list_releases(served)} == {versions[2], versions[4]}
    assert main(["promote", str(trained[5]), "--model", str(served), "--keep", "1"]) == 0
    assert "pruned" in capsys.readouterr().out
    assert [r["version"] for r in list_releases(served)] == [versions[5]]


def test_rollback_goes_back_one_release_at_a_time(trained, served, capsys):
    for model in trained[:3]:
        promote(model, served, validate=None)
    v1, v2, v3 = (model_version(p) for p in trained[:3])
    assert main(["promote", "--rollback", "--model", str(served)]) == 0
    assert live_release(served).name == v2 and f"was {v3}" in capsys.readouterr().out
    assert main(["promote", "--rollback", "--model", str(served)]) == 0
    assert live_release(served).name == v1
    assert main(["promote", "--rollback", "--model", str(served)]) == 2
    assert "no earlier release" in capsys.readouterr().err and live_release(served).name == v1
    promote(trained[3], served, validate=None)
    rollback(served)
    assert live_release(served).name == v1  # undoing the last promotion, not the rollbacks


def test_training_into_the_served_link_replaces_the_link_and_leaves_the_release_whole(trained, served):
    from chatbot.pipeline import Pipeline
    from training.train import save_atomically

    promote(trained[0], served, validate=None)
    release = live_release(served)
    files_before = {p.relative_to(release): p.read_bytes() for p in release.rglob("*") if p.is_file()}
    save_atomically(Pipeline.load(trained[1]), served)  # what `chatbot train --out models/default` ends with
    assert served.is_dir() and not served.is_symlink() and (served / "pipeline.yaml").is_file()
    assert {p.relative_to(release): p.read_bytes() for p in release.rglob("*") if p.is_file()} == files_before
    assert not [p.name for p in served.parent.iterdir() if p.name.startswith(".")]  # no stray link or temp folder
    trained_version = model_version(served)
    promote(trained[2], served, validate=None)  # the next promotion keeps the trained model as a release
    assert {r["version"] for r in list_releases(served)} >= {release.name, trained_version}
    assert rollback(served).version == trained_version


def _link_to(served: Path, target: Path) -> Path:
    link = served.with_name(".by-hand")
    os.symlink(os.path.relpath(target, served.parent), link)
    return link
