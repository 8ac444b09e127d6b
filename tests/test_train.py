"""scout train: labels, location split, patches, checkpoints, resume, fine-tuning, CLI errors."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from click.testing import CliRunner

from scout.cli import cli
from scout.commands import model_cmds
from scout.errors import InputError, ModelError, OutputError
from scout.io import write_gpkg_layer
from scout.labels import read_labels
from scout.model import load_model
from scout.synth import make_scene
from scout.train import IGNORE, PatchSampler, TrainSettings, prepare_images, split_by_location, train

TINY = TrainSettings(name="tiny", base_channels=4, depth=1, patch_px=48, batch_size=2, epochs=2, steps_per_epoch=2, val_patches=4, tile_size=64, threads=1, sprites=6)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    images, frames = [], []
    for seed in (11, 12):
        s = make_scene(root / "scenes", seed, size_px=160, gsd_m=0.1, boundary=seed == 12)
        images.append(s.image_path)
        for layer in ("truth", "lookalikes"):
            frames.append(gpd.read_file(s.truth_path, layer=layer)[["class", "geometry"]])
    labels = root / "labels.gpkg"
    write_gpkg_layer(gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs), labels, "labels")
    return root, images, labels


def test_train_writes_model_card_and_checkpoint_then_resumes(data, tmp_path):
    _, images, labels = data
    out = tmp_path / "m"
    result = train(images, labels, out, TINY)
    assert result.epochs_run == 2 and len(result.history) == 2
    loaded = load_model(out)  # sha256 checked
    card = loaded.card
    assert card.classes == ("background", "poppy", "cannabis") and card.bands == ("red", "green", "blue")
    assert card.gsd_m == 0.1 and card.receptive_field_px > 1
    assert len(card.normalization["mean"]) == 3 and all(0 < m < 1 for m in card.normalization["mean"])
    assert card.training["best_epoch"] == result.best_epoch
    assert (tmp_path / "m.ckpt.safetensors").exists() and (tmp_path / "m.ckpt.json").exists()
    more = train(images, labels, out, TrainSettings(**{**TINY.__dict__, "epochs": 3}), resume=True)
    assert more.epochs_run == 3 and [h["epoch"] for h in more.history] == [1, 2, 3]
    with pytest.raises(OutputError, match="m.safetensors: exists; use --overwrite"):
        train(images, labels, out, TINY)
    assert train(images, labels, out, TINY, overwrite=True).epochs_run == 2  # a fresh start, not epoch 4


def test_fine_tune_keeps_bands_and_gsd(data, tmp_path):
    _, images, labels = data
    base = tmp_path / "base"
    train(images, labels, base, TINY)
    tuned = train(images, labels, tmp_path / "tuned", TrainSettings(**{**TINY.__dict__, "epochs": 1}), init=base)
    assert tuned.card.normalization == load_model(base).card.normalization
    assert tuned.card.training["init"].startswith(str(base)) and "version" in tuned.card.training["init"]
    assert tuned.card.training["init_training"]["settings"] == load_model(base).card.training["settings"]
    with pytest.raises(ModelError, match="keeps the model's bands"):
        train(images, labels, tmp_path / "bad", TrainSettings(**{**TINY.__dict__, "gsd_m": 0.2}), init=base)


def test_patches_label_plots_and_ignore_nodata(data):
    _, images, labels = data
    ims = prepare_images(images, read_labels(labels), ("red", "green", "blue"))
    sampler = PatchSampler(ims, TrainSettings(patch_px=64, plot_share=1.0), 0.1)
    x, y, dtype = sampler.batch(np.random.default_rng(0), 6, jitter=True)
    assert x.shape == (6, 3, 64, 64) and y.shape == (6, 64, 64) and dtype == "uint8"
    assert (np.isin(y, [1, 2])).any()  # patches centred on plots hold plot pixels
    # the image with a flight boundary yields ignored pixels outside it
    boundary_img = ims[1]
    corner = boundary_img.area.bounds
    _, lab = sampler.read(1, corner[0] + 1, corner[3] - 1, 0.1)
    assert (lab == IGNORE).any()


def test_rehearsal_scenes_give_their_share_of_patches_whatever_their_area(data):
    """A fine-tune's own flight is drawn at 1 - rehearsal_share, however small beside the rehearsal scenes."""
    _, images, labels = data
    own, scene = prepare_images(images, read_labels(labels), ("red", "green", "blue"))
    own = replace(own, area=shapely.box(*own.area.bounds[:2], own.area.bounds[0] + 4, own.area.bounds[1] + 4))  # 16 m² of 256
    rehearsed = [replace(scene, rehearsal=True)] * 3
    for share in (0.5, 0.2, 1.0):
        sampler = PatchSampler([own, *rehearsed], TrainSettings(rehearsal_share=share), 0.1)
        rng = np.random.default_rng(1)
        drawn = np.array([sampler.centre(rng)[0] for _ in range(2000)])
        assert abs((drawn == 0).mean() - (1 - share)) < 0.04, share
    plain = PatchSampler([own, scene, scene, scene], TrainSettings(rehearsal_share=0.9), 0.1)  # no rehearsal: by area
    rng = np.random.default_rng(1)
    assert (np.array([plain.centre(rng)[0] for _ in range(2000)]) == 0).mean() < 0.1


def _holds_plots(im) -> bool:
    plots = im.labels.geometry.values[im.labels["value"].to_numpy() > 0]
    return bool(shapely.intersects(plots, im.area).any())


def test_single_image_split_holds_out_a_strip_with_plots_on_both_sides(data):
    _, images, labels = data
    every = read_labels(labels)
    ims = prepare_images(images[1:], every, ("red", "green", "blue"))  # two of its three plots lie in the west
    minx, _, maxx, _ = ims[0].area.bounds
    plots = ims[0].labels[ims[0].labels["value"] > 0]
    for name, keep in [("all", plots), ("west", plots[plots.geometry.bounds["maxx"] < minx + (maxx - minx) * 0.6])]:
        assert len(keep) >= 2, name
        im = replace(ims[0], labels=pd.concat([ims[0].labels[ims[0].labels["value"] == 0], keep]))
        train_ims, val_ims = split_by_location([im], 0.25, margin_m=2.0)
        t, v = train_ims[0].area, val_ims[0].area
        assert shapely.distance(t, v) >= 2.0 - 1e-6  # no patch can straddle the split
        assert _holds_plots(train_ims[0]) and _holds_plots(val_ims[0]), name  # an eastern strip would hold none for "west"


def test_whole_images_held_out_are_picked_to_hold_plots(data):
    _, images, labels = data
    base = prepare_images(images[:1], read_labels(labels), ("red", "green", "blue"))[0]
    unlabelled = base.labels[base.labels["value"] == 0]
    for labelled in [(0, 1), (3, 4), (1, 4), (0, 2, 3)]:
        ims = [replace(base, info=replace(base.info, path=f"/flights/f{i}.tif"), labels=base.labels if i in labelled else unlabelled)
               for i in range(5)]
        train_ims, val_ims = split_by_location(ims, 0.2, margin_m=2.0)
        assert len(val_ims) == 1 and len(train_ims) == 4
        assert any(_holds_plots(im) for im in val_ims) and any(_holds_plots(im) for im in train_ims), labelled
    ims[2:] = [replace(im, labels=unlabelled) for im in ims[2:]]
    ims[1] = replace(ims[1], labels=unlabelled)  # one labelled image of five: strips, as for a single image
    train_ims, val_ims = split_by_location(ims, 0.2, margin_m=2.0)
    assert len(val_ims) == len(train_ims) == 5 and _holds_plots(train_ims[0]) and _holds_plots(val_ims[0])


def test_bad_labels_raise_input_error(tmp_path, data):
    _, images, _ = data
    bad = gpd.GeoDataFrame({"kind": ["x"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:32647")
    write_gpkg_layer(bad, tmp_path / "nofield.gpkg", "l")
    with pytest.raises(InputError, match="'class' field"):
        read_labels(tmp_path / "nofield.gpkg")
    bad["class"] = ["tulip"]
    write_gpkg_layer(bad, tmp_path / "tulip.gpkg", "l")
    with pytest.raises(InputError, match="unknown label classes"):
        read_labels(tmp_path / "tulip.gpkg")
    far = gpd.GeoDataFrame({"class": ["poppy"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:32647")
    write_gpkg_layer(far, tmp_path / "far.gpkg", "l")
    with pytest.raises(InputError, match="overlaps any of the images"):
        prepare_images(images, read_labels(tmp_path / "far.gpkg"), ("red", "green", "blue"))


def test_cli_train_errors_are_one_line(tmp_path, data):
    _, images, labels = data
    model_cmds.register(cli)
    pickle = tmp_path / "m.pt"
    pickle.write_bytes(b"\x80\x04.")
    r = CliRunner().invoke(cli, ["train", str(images[0]), "--labels", str(labels), "--out", str(tmp_path / "o"), "--init", str(pickle)])
    assert r.exit_code == 2 and "refused" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["train", str(images[0]), "--labels", str(tmp_path / "missing.gpkg"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "no such file (labels)" in r.output
    existing = tmp_path / "shipped"
    for part in ("shipped.safetensors", "shipped.json"):
        (tmp_path / part).write_text("a model someone relies on")
    r = CliRunner().invoke(cli, ["train", str(images[0]), "--labels", str(labels), "--out", str(existing), "--epochs", "1"])
    assert r.exit_code == 2 and "shipped.safetensors: exists; use --overwrite" in r.output
    assert (tmp_path / "shipped.safetensors").read_text() == "a model someone relies on"
    for option, value in [("--epochs", "0"), ("--steps", "0"), ("--batch-size", "0"), ("--gsd", "-1"), ("--background-within", "-5")]:
        r = CliRunner().invoke(cli, ["train", str(images[0]), "--labels", str(labels), "--out", str(tmp_path / "o"), option, value])
        assert r.exit_code == 2 and f"Invalid value for '{option}'" in r.output, r.output  # not a traceback from deep inside
    assert not list(tmp_path.glob("o*"))


def test_cached_and_windowed_patches_agree(data):
    """Patches cut from the in-memory cache match patches read from the file."""
    _, images, labels = data
    ims = prepare_images(images[:1], read_labels(labels), ("red", "green", "blue"))
    cached = PatchSampler(ims, TrainSettings(patch_px=48), 0.1)
    direct = PatchSampler(ims, TrainSettings(patch_px=48, cache_mb=0), 0.1)
    assert cached.cache and not direct.cache
    minx, miny, maxx, maxy = ims[0].area.bounds
    x, y = minx + 7.0, maxy - 6.0  # on whole pixels of the cache grid
    a, la = cached.read(0, x, y, 0.1)
    b, lb = direct.read(0, x, y, 0.1)
    assert np.abs(a - b).mean() < 1.0 and (la == lb).mean() > 0.99
    big, lbig = cached.read(0, x, y, 0.12)  # scale jitter: resampled from the cache
    assert big.shape == (3, 48, 48) and lbig.shape == (48, 48)


def test_background_within_limits_the_area_to_label_surroundings(data):
    _, images, labels = data
    lab = read_labels(labels)
    full = prepare_images(images[:1], lab, ("red", "green", "blue"))[0]
    near = prepare_images(images[:1], lab, ("red", "green", "blue"), background_within_m=1.0)[0]
    assert 0 < near.area.area < full.area.area
    assert near.area.within(full.labels.union_all().buffer(1.0 + 1e-6))


def test_time_budget_stops_after_the_current_step_and_keeps_a_model(data, tmp_path):
    _, images, labels = data
    r = train(images, labels, tmp_path / "b", TrainSettings(**{**TINY.__dict__, "epochs": 50, "max_minutes": 1e-6}))
    assert r.stopped == "time_budget" and r.epochs_run == 1
    assert load_model(tmp_path / "b").card.training["best_epoch"] == 1


def test_cli_trains_a_model_on_narrow_images(tmp_path, data):
    """Default 160 px patches on 16 m scenes: the validation strip is narrower than a patch."""
    _, images, labels = data
    model_cmds.register(cli)
    out = tmp_path / "cli-model"
    r = CliRunner().invoke(cli, ["train", *map(str, images), "--labels", str(labels), "--out", str(out), "--epochs", "1", "--steps", "1", "--batch-size", "2", "--rehearsal-share", "0.3"])
    assert r.exit_code == 0, r.output
    card = load_model(out).card
    assert "best validation IoU" in r.output and card.name == "cli-model" and card.training["settings"]["rehearsal_share"] == 0.3


def test_polygonal_repairs_bowties_and_drops_lines():
    from scout.aoi import polygonal

    g = shapely.from_wkt(
        ["POLYGON((0 0,2 2,2 0,0 2,0 0))", "GEOMETRYCOLLECTION(POLYGON((0 0,1 0,1 1,0 1,0 0)),LINESTRING(0 0,5 5))", "LINESTRING(0 0,1 1)"]
    )
    bowtie, mixed, line = polygonal(g)
    assert bowtie.is_valid and bowtie.area == pytest.approx(2.0)
    assert mixed.geom_type == "MultiPolygon" and mixed.area == pytest.approx(1.0)
    assert line is None


def test_bands_option_maps_image_bands_for_training(data, tmp_path):
    """A BGR export whose bands carry no names: --bands 3,2,1 says which image band is red, green, blue."""
    _, images, labels = data
    with rasterio.open(images[0]) as src:
        rgb, profile = src.read(), src.profile
    bgr = tmp_path / "bgr.tif"
    with rasterio.open(bgr, "w", **{**profile, "photometric": "MINISBLACK"}) as dst:
        dst.write(rgb[[2, 1, 0]])
    assert [im.indexes for im in prepare_images([bgr], read_labels(labels), ("red", "green", "blue"), image_bands=(3, 2, 1))] == [(3, 2, 1)]
    model_cmds.register(cli)
    r = CliRunner().invoke(cli, ["train", str(bgr), "--labels", str(labels), "--out", str(tmp_path / "m"), "--bands", "3,2,1",
                                 "--epochs", "1", "--steps", "1", "--batch-size", "2", "-q"])
    assert r.exit_code == 0, r.output
    assert load_model(tmp_path / "m").card.training["settings"]["image_bands"] == [3, 2, 1]


@pytest.mark.filterwarnings("error::RuntimeWarning")  # numpy's "Mean of empty slice" leaked to stderr
def test_validation_without_plot_labels_keeps_the_last_epoch(data, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="scout")  # a CLI test with -q before leaves it at errors only
    _, images, labels = data
    with rasterio.open(images[0]) as src:
        bounds, crs = shapely.box(*src.bounds), src.crs
    frame = gpd.read_file(labels).to_crs(crs)
    plots = frame[(frame["class"] != "background") & frame.within(bounds)]
    one = plots.iloc[[int(plots.geometry.area.argmax())]]  # a single plot: no strip can hold it for both training and validation
    one_label = tmp_path / "one.gpkg"
    write_gpkg_layer(one[["class", "geometry"]], one_label, "labels")
    result = train(images[:1], one_label, tmp_path / "m", TrainSettings(**{**TINY.__dict__, "epochs": 3}))
    # an epoch that painted a false plot in validation "scored" 0 and one that did not, NaN: the worse one was kept
    assert "holds no poppy or cannabis labels" in caplog.text
    assert result.best_epoch == result.epochs_run == 3 and np.isnan(result.best_score)
    assert load_model(tmp_path / "m").card.training["best_epoch"] == 3


REAL = Path(__file__).parent / "data" / "real"


def test_background_only_imagery_trains_with_planted_plots(tmp_path):
    """No labels at all: real imagery as negatives, synthetic plots planted as the positives."""
    negatives = [REAL / "manila-urban-10cm-256.tif", REAL / "brazil-pasture-10cm-256.tif"]
    s = replace(TINY, plant_share=1.0, negative_image_share=1.0)
    result = train([], None, tmp_path / "m", s, negatives=negatives)
    card = result.card
    assert card.training["negatives"] == [p.name for p in negatives] and card.training["labels"] is None
    assert "fields" in card.training["planted_families"]
    assert not np.isnan(result.best_score)  # validation held planted plots to score
    with pytest.raises(InputError, match="no training images"):
        train([], None, tmp_path / "none", s)
    with pytest.raises(InputError, match="poppy or cannabis"):  # nothing to learn the plots from
        train([], None, tmp_path / "nothing", replace(s, plant_share=0.0), negatives=negatives)


def _base_and_false_alarms(data, tmp_path) -> tuple[list[Path], Path, Path]:
    """A trained base model and a label file holding only three false alarms (class background)."""
    _, images, labels = data
    base = tmp_path / "base"
    train(images, labels, base, TINY)
    false_alarms = tmp_path / "fa.gpkg"
    every = gpd.read_file(labels)
    write_gpkg_layer(every[every["class"] == "background"].head(3), false_alarms, "labels")
    return images, base, false_alarms


def test_fine_tuning_on_false_alarms_alone_keeps_positives_from_planting(data, tmp_path):
    """A county's first flight: only false-alarm polygons (class background) to learn from."""
    images, base, false_alarms = _base_and_false_alarms(data, tmp_path)
    tuned = train(images[:1], false_alarms, tmp_path / "tuned", replace(TINY, epochs=1), init=base)
    assert tuned.card.training["labels"] == "fa.gpkg" and tuned.epochs_run == 1
    with pytest.raises(InputError, match="no poppy or cannabis polygons"):
        train(images[:1], false_alarms, tmp_path / "noplant", replace(TINY, epochs=1, plant_share=0.0), init=base)


def test_fine_tuning_rehearses_synthetic_scenes_made_once(data, tmp_path, monkeypatch, caplog):
    """A fine-tune on false alarms alone keeps scenes of the model's own generator in the mix (else it forgets its targets)."""
    import scout.train

    images, base, false_alarms = _base_and_false_alarms(data, tmp_path)
    monkeypatch.setattr(scout.train, "REHEARSAL_SCENE_PX", 160)
    with caplog.at_level(logging.INFO, logger="scout.train"):
        tuned = train(images[:1], false_alarms, tmp_path / "tuned", replace(TINY, epochs=1, plant_share=0.0, rehearsal_scenes=4), init=base)
    # five images would hold out whole ones: the user's flight is split apart, so a strip of it validates
    assert f"{images[0].name}: validating on its" in caplog.text
    cache = tmp_path / ".scout-rehearsal" / "drone-0.1m"
    scenes = sorted(cache.glob("drone-7000?.tif"))
    assert len(scenes) == 4 and tuned.card.training["rehearsal_scenes"] == 4
    assert tuned.card.training["images"] == [images[0].name]  # the user's imagery; the rehearsal is counted, not listed
    assert (read_labels(cache / "labels-4.gpkg")["value"] > 0).any()  # plots to keep: planting was off
    stamp = [p.stat().st_mtime_ns for p in scenes]
    train(images[:1], false_alarms, tmp_path / "again", replace(TINY, epochs=1, plant_share=0.0, rehearsal_scenes=2), init=base)
    assert [p.stat().st_mtime_ns for p in scenes[:2]] == stamp[:2]  # made once, reused


def test_encoder_unet_trains_and_loads_converted_encoder_weights(data, tmp_path):
    """torchvision's state dict saved as safetensors (here a saved random state, as a user would
    convert ImageNet weights) loads into the encoder; a wrong file is one clear error."""
    import torchvision
    from safetensors.torch import save_file

    _, images, labels = data
    ref = torchvision.models.mobilenet_v3_small(weights=None)
    weights = tmp_path / "mnv3s.safetensors"
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(weights))
    s = replace(TINY, architecture="encoder_unet", encoder="mobilenet_v3_small", encoder_weights=str(weights), patch_px=64, epochs=1, tile_size=256)
    result = train(images, labels, tmp_path / "enc", s)
    assert result.card.architecture == {"name": "encoder_unet", "encoder": "mobilenet_v3_small"}
    assert result.card.receptive_field_px == 128
    fresh = load_model(tmp_path / "enc")
    assert fresh.net.backbone.features[0][0].weight.shape[1] == 3
    wrong = tmp_path / "resnet.safetensors"
    save_file({k: v.contiguous() for k, v in torchvision.models.resnet18(weights=None).state_dict().items()}, str(wrong))
    with pytest.raises(ModelError, match="resnet.safetensors: no tensor in the file matches the encoder"):
        train(images, labels, tmp_path / "bad", replace(s, encoder_weights=str(wrong)))


def test_encoder_weights_map_rgb_filters_to_four_bands():
    import torch
    import torchvision
    from safetensors.torch import save_file

    from scout.model.nets import build_network, load_encoder_weights

    ref = torchvision.models.mobilenet_v3_small(weights=None).state_dict()
    net = build_network({"name": "encoder_unet", "encoder": "mobilenet_v3_small"}, 4, 3)
    path = __import__("tempfile").mktemp(suffix=".safetensors")
    save_file({k: v.contiguous() for k, v in ref.items()}, path)
    load_encoder_weights(net, path, ("blue", "green", "red", "nir"))
    w, rgb = net.backbone.features[0][0].weight, ref["features.0.0.weight"]
    assert torch.equal(w[:, 0], rgb[:, 2]) and torch.equal(w[:, 2], rgb[:, 0])  # blue <- blue, red <- red
    assert torch.allclose(w[:, 3], rgb.mean(1))  # NIR <- the mean of the RGB filters


@pytest.mark.parametrize("arch", [{"name": "unet", "base_channels": 4, "depth": 2}, {"name": "encoder_unet", "encoder": "mobilenet_v3_small"}])
def test_dropping_a_band_is_feeding_it_its_mean(arch):
    import torch

    from scout.model.nets import build_network, keep_input_bands

    torch.manual_seed(0)
    net = build_network(arch, 4, 3).eval()
    x = torch.randn(2, 4, 64, 64)
    x[:, 3] = 0  # normalised inputs: 0 is the band's mean
    with torch.no_grad():
        full = net(x)
        keep_input_bands(net, [0, 1, 2], 4)
        narrow = net(x[:, :3])
    assert torch.allclose(full, narrow, atol=1e-5)
    with pytest.raises(RuntimeError):
        net(x)  # the network now takes three bands


def test_fine_tune_without_nir_makes_an_rgb_model(tmp_path):
    scenes = [make_scene(tmp_path / "scenes", seed, kind="satellite", size_px=96, gsd_m=0.5) for seed in (5, 6)]
    images = [s.image_path for s in scenes]
    labels = tmp_path / "labels.gpkg"
    write_gpkg_layer(gpd.GeoDataFrame(pd.concat([gpd.read_file(s.truth_path, layer="truth") for s in scenes], ignore_index=True)), labels, "labels")
    sat = replace(TINY, sensor="satellite", epochs=1, plant_share=0.0)
    base = train(images, labels, tmp_path / "base", sat).card
    assert base.bands == ("blue", "green", "red", "nir")
    rgb = train(images, labels, tmp_path / "rgb", replace(sat, sensor="drone", drop_bands=("nir",)), init=tmp_path / "base")  # drone: the CLI's default
    assert rgb.card.bands == ("blue", "green", "red") and rgb.card.gsd_m == base.gsd_m and rgb.card.sensor == "satellite"  # a fine-tune keeps the kind
    assert rgb.card.normalization["mean"] == base.normalization["mean"][:3] and rgb.card.normalization["std"] == base.normalization["std"][:3]
    assert load_model(tmp_path / "rgb").net.down[0][0].weight.shape[1] == 3
    model_cmds.register(cli)
    r = CliRunner().invoke(cli, ["train", str(images[0]), "--labels", str(labels), "--out", str(tmp_path / "x"), "--init", str(tmp_path / "base"), "--drop-band", "swir", "-q"])
    assert r.exit_code != 0 and "cannot drop band(s) swir" in r.output and "Traceback" not in r.output


def test_training_records_the_domain_it_learned(tmp_path):
    from scout import domain

    s = replace(TINY, patch_px=128, plant_share=0.5, negative_image_share=1.0, epochs=1, batch_size=4)
    result = train([], None, tmp_path / "m", s, negatives=[REAL / "manila-urban-10cm-256.tif", REAL / "brazil-pasture-10cm-256.tif"])
    dom = result.card.domain
    assert dom["version"] == domain.VERSION and dom["windows"] >= 40
    assert 0 < dom["distance"]["p50"] < dom["distance"]["p99"]


def test_cli_trains_on_negatives_and_plants_into_a_canvas(tmp_path):
    """The commands a county runs: plant plots into its own clean flight; fine-tune on clean imagery."""
    model_cmds.register(cli)
    canvas = REAL / "brazil-pasture-10cm-256.tif"
    r = CliRunner().invoke(cli, ["synth", str(tmp_path / "planted"), "--seed", "3", "--canvas", str(canvas), "--plots", "2", "--lookalikes", "1"])
    assert r.exit_code == 0, r.output
    assert "brazil-pasture-10cm-256-planted-0003.tif" in r.output
    out = tmp_path / "m"
    clean = [REAL / "brazil-pasture-10cm-256.tif", REAL / "manila-urban-10cm-256.tif"]
    r = CliRunner().invoke(cli, ["train", "--negatives", str(clean[0]), "--negatives", str(clean[1]), "--out", str(out),
                                 "--epochs", "1", "--steps", "1", "--batch-size", "2", "--negatives-share", "1"])
    assert r.exit_code == 0, r.output
    assert load_model(out).card.training["negatives"] == [p.name for p in clean]
    r = CliRunner().invoke(cli, ["train", "--negatives", str(REAL), "--out", str(tmp_path / "mixed"), "--epochs", "1"])
    assert r.exit_code == 2 and "mix pixel types" in r.output  # a satellite scene among drone flights
    r = CliRunner().invoke(cli, ["train", str(canvas), "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "need --labels" in r.output


def test_planting_counts_follow_the_look_alike_rate():
    from scout.train import planting_counts

    rng = np.random.default_rng(0)
    none = [planting_counts(rng, 0.0) for _ in range(500)]
    assert all(lookalikes == 0 for _, lookalikes in none)
    assert 0.1 < np.mean([t == 0 for t, _ in none]) < 0.3  # some patches hold look-alikes only
    many = [planting_counts(rng, 2.0, min_targets=1) for _ in range(2000)]
    assert 1.8 < np.mean([n for _, n in many]) < 2.2 and min(t for t, _ in many) >= 1
