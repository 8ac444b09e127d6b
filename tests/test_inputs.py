"""Imagery as users name it: files, folders and list files, in the library (scout.inputs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import painted_scene, write_raster
from scout.detection import plan_run
from scout.errors import ImageryError
from scout.inputs import expand_images


def test_a_folder_gives_its_rasters_sorted_and_nothing_else(tmp_path: Path):
    for name in ("b.TIF", "a.tif", "c.vrt", "notes.txt", "a.tif.aux.xml", "labels.gpkg"):
        (tmp_path / name).write_text("x")
    assert expand_images([tmp_path]) == [tmp_path / "a.tif", tmp_path / "b.TIF", tmp_path / "c.vrt"]


def test_a_list_file_is_read_relative_to_itself_without_comments(tmp_path: Path):
    (tmp_path / "lists").mkdir()
    listing = tmp_path / "lists" / "may.lst"
    listing.write_text("# flights of 12 May\n\n  ../north.tif  \n/data/south.tif\n", encoding="utf-8")
    assert expand_images([str(listing), "east.tif"]) == [tmp_path / "lists" / "../north.tif", Path("/data/south.tif"), Path("east.tif")]


def test_files_as_given_and_expanding_twice_changes_nothing(tmp_path: Path):
    (tmp_path / "a.tif").write_text("x")
    once = expand_images([tmp_path, tmp_path / "missing.tif"])
    assert once == [tmp_path / "a.tif", tmp_path / "missing.tif"]  # a missing file is opened, and refused, later
    assert expand_images(once) == once


def test_gbk_list_from_older_chinese_windows(tmp_path: Path):
    listing = tmp_path / "航线.txt"
    listing.write_bytes("勐腊 北坡.tif\r\n".encode("gbk"))
    assert expand_images([listing]) == [tmp_path / "勐腊 北坡.tif"]


def test_unusable_folders_and_lists_are_one_line_errors(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageryError, match=r"empty: folder holds no rasters \(\.img, \.jp2, \.tif, \.tiff, \.vrt\)"):
        expand_images([tmp_path / "empty"])
    binary = tmp_path / "flights.txt"
    binary.write_bytes(b"\xff\xfe\x00\xd8\x81")
    with pytest.raises(ImageryError, match="flights.txt: not a text list of image paths"):
        expand_images([binary])


def test_the_library_plans_a_folder_as_the_command_does(tmp_path: Path, rgb_model: Path):
    flights = tmp_path / "flights"
    flights.mkdir()
    write_raster(flights / "a.tif", painted_scene(200, 200, [("poppy", 20, 20, 80, 80)]))
    (tmp_path / "list.txt").write_text("flights/a.tif\n", encoding="utf-8")
    by_folder, by_list = plan_run([flights], model=rgb_model), plan_run([tmp_path / "list.txt"], model=rgb_model)
    assert [i.path for i in by_folder.plan.images] == [i.path for i in by_list.plan.images] == [str(flights / "a.tif")]
    (tmp_path / "none.txt").write_text("# none yet\n", encoding="utf-8")
    with pytest.raises(ImageryError, match="no imagery given"):
        plan_run([tmp_path / "none.txt"], model=rgb_model)
