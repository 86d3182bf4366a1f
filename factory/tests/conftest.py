"""Shared fixtures: the micro pack, built once per test session for test_micro_build.py and
test_micro_eval.py (every stage for real on a few clips, about two minutes on 2 CPU cores)."""
import time

import pytest


@pytest.fixture(scope="session")
def micro_build(tmp_path_factory):
    """data -> text -> VAE -> vocoder -> teacher -> pack on the micro recipe, in a fresh work dir."""
    from soundstep_factory.build import build

    root = tmp_path_factory.mktemp("work")
    mp = pytest.MonkeyPatch()
    mp.setenv("SOUNDSTEP_WORK", str(root))
    started = time.time()
    try:
        result = build("micro", out=root / "pack")
    finally:
        mp.undo()
    return {"root": root, "pack": root / "pack", "result": result, "seconds": time.time() - started}


@pytest.fixture(scope="module")
def micro(micro_build):
    """The micro build, with SOUNDSTEP_WORK pointing at its work dir for the tests of one module."""
    from soundstep_factory.config import load_config

    mp = pytest.MonkeyPatch()
    mp.setenv("SOUNDSTEP_WORK", str(micro_build["root"]))
    yield {**micro_build, "cfg": load_config("micro")}
    mp.undo()


@pytest.fixture(scope="session")
def linked_work_dir(micro_build):
    """make(root, names): a fresh work root whose micro recipe links `names` (files or stage folders)
    from the micro build's work dir: what a build would remake identically, or what a test only reads."""
    def make(root, names):
        (root / "micro").mkdir(parents=True)
        for name in names:
            (root / "micro" / name).symlink_to(micro_build["root"] / "micro" / name)
        return root
    return make
