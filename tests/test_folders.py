"""What Scout may replace or delete: only folders and files it can prove it wrote (issue 17)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import can_make_unreplaceable, unreplaceable
from scout.errors import OutputError
from scout.folders import FORMAT_KEY, Inventory, check_replaceable, check_scratch, folder_lock, out_path, replace_folder, replaced_folder

TASKS = Inventory("folder of test tasks", "summary.json", "test-tasks/1", ("summary.json", "tasks.geojson", "team_*.gpx"))
RUN = Inventory("test run folder", "run.json", "test-run/1", ("run.json", "plots.gpkg", "probability.tif"), (("tasks", TASKS.format),),
                legacy=(("scout_version", "fingerprint"),))


def folder(path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return path


def marked(kind: Inventory) -> str:
    return json.dumps({FORMAT_KEY: kind.format})


def test_a_folder_is_scouts_when_marked_and_holding_only_scouts_files(tmp_path):
    run = folder(tmp_path / "run", {"run.json": marked(RUN), "plots.gpkg": "", "plots.gpkg-wal": "", "probability.tif.aux.xml": "",
                                    ".plots.k2j4.part.gpkg": "", "tasks/summary.json": marked(TASKS), "tasks/team_01.gpx": ""})
    check_replaceable(run, RUN)
    (run / "tasks" / "route notes.txt").write_text("the bridge is out")
    with pytest.raises(OutputError, match=r"run: holds tasks/route notes\.txt, which Scout did not write"):
        check_replaceable(run, RUN)


@pytest.mark.parametrize(("record", "says"), [
    (None, "holds files but no run.json"),
    ('{"foo": 1}', "its run.json is not Scout's"),
    ("not json", "its run.json is not Scout's"),
    ('{"scout_version": "0.1.0", "fingerprint": "ab", "complete": true}', None),  # a run written before the marker
])
def test_a_folder_without_scouts_record_is_not_replaced(tmp_path, record, says):
    files = {"plots.gpkg": ""} if record is None else {"run.json": record, "plots.gpkg": ""}
    target = folder(tmp_path / "out", files)
    if says is None:
        check_replaceable(target, RUN)
    else:
        with pytest.raises(OutputError, match=says):
            check_replaceable(target, RUN)


def test_scratch_names_are_used_only_when_scouts(tmp_path):
    check_scratch(tmp_path / ".run.old", RUN, "backup")  # absent
    (tmp_path / ".run.old").mkdir()
    check_scratch(tmp_path / ".run.old", RUN, "backup")  # empty
    folder(tmp_path / ".run.old", {"run.json": marked(RUN)})
    check_scratch(tmp_path / ".run.old", RUN, "backup")  # Scout's
    folder(tmp_path / ".run.partial", {"essay.docx": "mine"})
    with pytest.raises(OutputError, match=r"\.run\.partial: Scout names its staging folder so, and this is not Scout's"):
        check_scratch(tmp_path / ".run.partial", RUN, "staging folder")


def test_replacing_through_a_symlink_keeps_the_link(tmp_path):
    target = folder(tmp_path / "disk" / "run", {"run.json": marked(RUN)})
    (tmp_path / "links").mkdir()
    link = tmp_path / "links" / "run"
    link.symlink_to(target)
    new = folder(tmp_path / "disk" / ".run.partial", {"run.json": marked(RUN), "plots.gpkg": "new"})
    replace_folder(new, out_path(link), RUN)
    assert link.is_symlink() and (link / "plots.gpkg").read_text() == "new"
    assert sorted(p.name for p in (tmp_path / "disk").iterdir()) == ["run"]
    dangling = tmp_path / "links" / "later"
    dangling.symlink_to(tmp_path / "disk" / "later")
    assert out_path(dangling) == tmp_path / "disk" / "later"


def test_a_replaced_folder_has_the_permissions_mkdir_gives(tmp_path):
    """Built under a temporary name, not with tempfile's private 0700: a run shared on a server stays readable."""
    (tmp_path / "plain").mkdir()
    with replaced_folder(tmp_path / "tasks", TASKS) as new:
        (new / "summary.json").write_text(marked(TASKS))
    assert (tmp_path / "tasks").stat().st_mode == (tmp_path / "plain").stat().st_mode


def test_a_failed_replace_says_where_the_finished_folder_is(tmp_path):
    new = folder(tmp_path / ".run.partial", {"run.json": marked(RUN)})
    blocker = folder(tmp_path / ".run.old", {"mine.txt": "keep"})  # a user's folder with the backup's name
    target = folder(tmp_path / "run", {"run.json": marked(RUN)})
    with pytest.raises(OutputError, match=r"\.run\.old: Scout names its backup of the folder it replaces so"):
        replace_folder(new, target, RUN)
    assert (blocker / "mine.txt").read_text() == "keep" and (new / "run.json").exists() and (target / "run.json").exists()


def test_a_users_file_with_the_locks_name_is_refused_and_kept(tmp_path):
    lock = tmp_path / ".run.lock"
    lock.write_text("my notes")
    with pytest.raises(OutputError, match=r"\.run\.lock: Scout names the lock"), folder_lock(tmp_path / "run"):
        pass
    assert lock.read_text() == "my notes"
    lock.write_text("12345\n")  # a user's file of digits (older Scouts wrote bare process ids: not proof enough)
    with pytest.raises(OutputError, match=r"\.run\.lock: Scout names the lock"), folder_lock(tmp_path / "run"):
        pass
    assert lock.read_text() == "12345\n"
    for left in ("", f"scout detect, process {os.getpid() + 1}\n"):  # just made by another Scout; left by a killed one
        lock.write_text(left)
        with folder_lock(tmp_path / "run"):
            assert lock.read_text() == f"scout detect, process {os.getpid()}\n"
        assert not lock.exists()


def test_a_rename_that_fails_after_the_run_says_where_the_finished_folder_is(tmp_path):
    if not can_make_unreplaceable(tmp_path):
        pytest.skip("cannot make a folder unreplaceable here (root on a file system without chattr +i)")
    new = folder(tmp_path / ".run.partial", {"run.json": marked(RUN), "plots.gpkg": "new"})
    target = folder(tmp_path / "run", {"run.json": marked(RUN), "plots.gpkg": "old"})
    with unreplaceable(target), pytest.raises(OutputError, match=r"run: cannot be replaced \(.+\); the finished test run folder is in .+\.run\.partial"):
        replace_folder(new, target, RUN)
    assert (new / "plots.gpkg").read_text() == "new" and (target / "plots.gpkg").read_text() == "old"
