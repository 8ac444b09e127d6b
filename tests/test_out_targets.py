"""Whatever ``--out`` names, ``scout detect`` loses no byte of a user's file (issue 17).

``--out`` may name nothing, an empty folder, a user's folder, a Scout run, a folder holding
someone else's ``run.json``, a Scout run with a user's file added, a file, a symlink (to an
empty folder, a run, a user's folder), a dangling symlink, or a run that cannot be replaced;
beside it may lie a user's folders or files named like Scout's temporary, backup and lock
names (``.X.partial``, ``.X.old``, ``.X.lock``).  Asked with ``--overwrite``, ``--resume`` or
neither, a run either completes where the link points (keeping the link) or is refused in one
line, exit 2, with everything that was there still there.

The property test draws 25 fixed (derandomized) combinations; the explicit tests pin the
cases reproduced in issue 17.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from conftest import can_make_unreplaceable, invoke, snapshot, unreplaceable

FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

FRESH = ("missing", "empty", "link_to_empty", "dangling_link")  # nothing there yet: a run must go ahead
RUNS = ("scout_run", "link_to_run", "unreplaceable_run")  # a finished Scout run
FOREIGN = ("user", "foreign_run_json", "run_with_user_file", "file", "link_to_user")  # never replaced
KINDS = FRESH + RUNS + FOREIGN
DECOYS = (".{}.old", ".{}.partial", ".{}.lock")  # a user's things under Scout's hidden names
MODES = ((), ("--overwrite",), ("--resume",))


@dataclass
class Sandbox:
    """An ``--out`` target of one kind, and every user byte and link placed around it."""

    out: Path
    target: Path  # where the run lands: ``out``, or where the link points
    kind: str
    user_files: dict[Path, bytes] = field(default_factory=dict)
    links: dict[Path, str] = field(default_factory=dict)
    run_before: dict[str, str] | None = None  # snapshot of a finished run at ``target``

    def user_file(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.user_files[path] = data

    def check_nothing_lost(self) -> None:
        for path, data in self.user_files.items():
            assert path.is_file() and path.read_bytes() == data, f"user file {path} lost or changed"
        for link, points_to in self.links.items():
            assert link.is_symlink() and os.readlink(link) == points_to, f"symlink {link} replaced"


def make_sandbox(base: dict[str, Path], kind: str, decoys: frozenset[str] = frozenset()) -> Sandbox:
    d = Path(tempfile.mkdtemp(dir=base["dir"], prefix="case-"))
    out = d / "runs" / "victim"
    out.parent.mkdir()
    target = d / "elsewhere" / "target" if kind.endswith("link") or kind.startswith("link_") else out
    box = Sandbox(out, target, kind)
    if target != out:
        target.parent.mkdir()
        points_to = os.path.relpath(target, out.parent)
        out.symlink_to(points_to)
        box.links[out] = points_to
    if kind in ("empty", "link_to_empty"):
        target.mkdir()
    elif kind in ("user", "link_to_user"):
        box.user_file(target / "report.docx", b"a week of fieldwork")
        box.user_file(target / "photos" / "plot-17.jpg", b"\xff\xd8 jpeg bytes")
    elif kind == "foreign_run_json":
        box.user_file(target / "run.json", b'{"foo": 1}\n')
        box.user_file(target / "notes.txt", b"my notes")
    elif kind == "file":
        box.user_file(target, b"not a folder")
    elif kind in RUNS or kind == "run_with_user_file":
        shutil.copytree(base["run"], target)
        if kind == "run_with_user_file":
            box.user_file(target / "notes.txt", b"what the team saw on 12 May")
        box.run_before = snapshot(target)
    for pattern in decoys:
        for name in {out.name, target.name}:
            decoy = out.parent / pattern.format(name) if name == out.name else target.parent / pattern.format(name)
            if pattern.endswith(".lock"):
                box.user_file(decoy, b"my lock-picking notes")
            else:
                box.user_file(decoy / "keep.txt", f"the user's {decoy.name}".encode())
    return box


def detect(base: dict[str, Path], box: Sandbox, *flags: str):
    with unreplaceable(box.target) if box.kind == "unreplaceable_run" else contextlib.nullcontext():
        return invoke("detect", base["image"], "--out", box.out, "--model", base["model"], *flags)


def check_contract(result, box: Sandbox) -> str:
    """exit 0 and a complete run at ``box.target`` (a link kept), or exit 2 in one line; nothing of the user's lost,
    no temporary or backup folder of Scout's left behind."""
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: {result.output!r} {result.exception!r}"
    assert "Traceback" not in result.output, result.output
    box.check_nothing_lost()
    scouts = [p for folder in {box.out.parent, box.target.parent} for p in folder.iterdir()
              if p.name.startswith((f".{box.out.name}.", f".{box.target.name}.")) and p not in box.user_files and not any(
                  u.is_relative_to(p) for u in box.user_files)]
    if result.exit_code == 0:
        assert not scouts, f"left behind: {scouts}"
        run = json.loads((box.target / "run.json").read_text())
        assert run["complete"] is True
        return "ran"
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("scout: error: "), result.output
    assert "victim" in lines[0] or "target" in lines[0], lines[0]
    if "are kept in" not in lines[0]:
        assert not scouts, f"left behind: {scouts}"
    if box.run_before is not None:
        assert snapshot(box.target) == box.run_before, "the existing run changed"
    return "refused"


def expected(kind: str, flags: tuple[str, ...], decoys: frozenset[str]) -> str | None:
    """'ran' or 'refused' where the outcome is certain; None where both are fine (a decoy may block a run)."""
    if kind in FOREIGN:
        return "refused"
    if kind in FRESH:
        return "ran" if decoys <= {".{}.old"} else None
    if "--resume" in flags:  # a finished run: reported, nothing written
        return "ran"
    if not flags or kind == "unreplaceable_run":
        return "refused"
    return "ran" if not decoys else None


@FUZZ
@given(kind=st.sampled_from(KINDS), flags=st.sampled_from(MODES), decoys=st.frozensets(st.sampled_from(DECOYS)))
@example(kind="foreign_run_json", flags=("--overwrite",), decoys=frozenset())
@example(kind="scout_run", flags=("--overwrite",), decoys=frozenset({".{}.old"}))
@example(kind="missing", flags=(), decoys=frozenset({".{}.partial"}))
@example(kind="link_to_run", flags=("--overwrite",), decoys=frozenset())
@example(kind="dangling_link", flags=(), decoys=frozenset())
@example(kind="unreplaceable_run", flags=("--overwrite",), decoys=frozenset())
def test_no_out_target_loses_a_users_byte(base, kind, flags, decoys):
    if kind == "unreplaceable_run" and not can_make_unreplaceable(base["dir"]):
        pytest.skip("cannot make a folder unreplaceable here (root on a file system without chattr +i)")
    box = make_sandbox(base, kind, decoys)
    outcome = check_contract(detect(base, box, *flags), box)
    want = expected(kind, flags, decoys)
    assert want in (None, outcome), f"{kind} {flags} {sorted(decoys)}: {outcome}, expected {want}"


# ---------------------------------------------------------------- the cases of issue 17


@pytest.mark.parametrize(("kind", "names"), [("foreign_run_json", "run.json"), ("run_with_user_file", "notes.txt")])
def test_overwrite_replaces_only_a_folder_of_scouts_files(base, kind, names):
    """A folder holding someone else's run.json ({"foo": 1}), or a Scout run with the user's notes added, is not Scout's to replace."""
    box = make_sandbox(base, kind)
    result = detect(base, box, "--overwrite")
    assert check_contract(result, box) == "refused"
    assert names in result.output


def test_a_users_folders_named_like_scouts_backup_and_staging_are_kept(base):
    box = make_sandbox(base, "scout_run", frozenset({".{}.old"}))
    check_contract(detect(base, box, "--overwrite"), box)  # .victim.old is the user's
    box = make_sandbox(base, "missing", frozenset({".{}.partial"}))
    result = detect(base, box)
    assert check_contract(result, box) == "refused"
    assert ".victim.partial" in result.output


def test_a_users_file_named_like_the_lock_is_kept(base):
    box = make_sandbox(base, "missing", frozenset({".{}.lock"}))
    check_contract(detect(base, box), box)


def test_out_through_a_symlink_writes_where_it_points_and_keeps_the_link(base):
    box = make_sandbox(base, "link_to_empty")
    for flags in ((), ("--overwrite",), ("--overwrite",)):  # the second --overwrite failed with NotADirectoryError
        assert check_contract(detect(base, box, *flags), box) == "ran"
        assert (box.out / "run.json").is_file() and (box.target / "plots.gpkg").is_file()
    box = make_sandbox(base, "dangling_link")
    assert check_contract(detect(base, box), box) == "ran"


def test_a_run_that_cannot_be_replaced_is_refused_before_computing(base):
    if not can_make_unreplaceable(base["dir"]):
        pytest.skip("cannot make a folder unreplaceable here (root on a file system without chattr +i)")
    box = make_sandbox(base, "unreplaceable_run")
    result = detect(base, box, "--overwrite")
    assert check_contract(result, box) == "refused"  # and no finished .victim.partial left: refused before computing
    assert "are kept in" not in result.output


def test_a_run_holding_all_that_scout_adds_to_it_is_replaced(base):
    """Every command that writes into a run folder writes only what the run folder's inventory
    (:data:`scout.runfolder.RUN_FOLDER`) lists, so ``--overwrite`` still replaces it."""
    box = make_sandbox(base, "scout_run")
    lon, lat = json.loads((box.out / "plots.geojson").read_text())["features"][0]["geometry"]["coordinates"][0][0]
    for command in (("tasks", box.out, "--depot", f"{lon},{lat}"), ("qgis", box.out, "--package"), ("review", box.out), ("flights", box.out)):
        assert invoke(*command).exit_code == 0, command
    assert {p.name for p in box.out.iterdir()} >= {"tasks", "flights", "project.qgz", "review.json", "imagery"}
    packaged = box.out / "imagery" / base["image"].name
    assert packaged.is_file()
    box.user_files[packaged] = packaged.read_bytes()  # detected on again: an input, not to be deleted with the run
    box.run_before = snapshot(box.target)
    result = invoke("detect", packaged, "--out", box.out, "--model", base["model"], "--overwrite")
    assert check_contract(result, box) == "refused" and "lies inside" in result.output
    del box.user_files[packaged]
    assert check_contract(detect(base, box, "--overwrite"), box) == "ran"
    assert not (box.out / "tasks").exists() and not (box.out / "imagery").exists()
