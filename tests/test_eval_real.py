"""scripts/eval_real.py on real background-only crops: the share flagged, false plots per hectare, kept in the card."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
REAL = Path(__file__).resolve().parent / "data" / "real"
sys.path.insert(0, str(SCRIPTS))

import eval_real  # noqa: E402  (importable only once scripts/ is on sys.path, above)


def test_eval_real_measures_real_crops_and_keeps_them_in_the_card(tmp_path, rgb_model, capsys):
    images = [REAL / "manila-urban-10cm-256.tif", REAL / "brazil-pasture-10cm-256.tif"]
    out = tmp_path / "rows.json"
    assert eval_real.main(["--images", *map(str, images), "--model", str(rgb_model), "--json", str(out), "--write-card"]) == 0
    rows = json.loads(out.read_text())
    assert [r["image"] for r in rows] == [p.name for p in images]
    for r in rows:
        assert r["aoi_ha"] == pytest.approx(256 * 256 * 0.01 / 1e4, rel=0.1)  # 256 px at 10 cm (less its nodata rim)
        assert 0 <= r["flagged_pct"] <= 100 and r["plots_per_ha"] == pytest.approx(r["plots"] / r["aoi_ha"], rel=0.01)
    card = json.loads(Path(str(rgb_model) + ".json").read_text())
    real = card["metrics"]["real"]
    assert [r["image"] for r in real["images"]] == [p.name for p in images]
    pooled = sum(r["flagged_pct"] * r["aoi_ha"] for r in rows) / sum(r["aoi_ha"] for r in rows)
    assert real["flagged_pct"] == pytest.approx(pooled, abs=1e-3)
    assert "false plots/ha" in capsys.readouterr().out
