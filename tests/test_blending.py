import numpy as np
import pytest
import shapely
from rasterio.windows import Window

from scout.blending import P_STEPS, Assembler, accumulate, finalize, pack, ramp, unpack, weight_window
from scout.tiling import TileSpec, make_grid, plan_blocks


def test_ramp_is_positive_symmetric_and_flat_inside():
    r = ramp(64, 16)
    assert (r > 0).all() and np.allclose(r, r[::-1])
    assert np.all(r[16:48] == 1) and r[0] < 0.1
    assert np.all(ramp(8, 0) == 1)


def test_overlapping_ramps_blend_without_seams():
    # two 1-D tiles overlapping by 16: blended constant inputs stay constant, and a step
    # between them becomes a linear ramp, not a jump at the tile edge.
    size, overlap = 64, 16
    w = ramp(size, overlap)
    total = np.zeros(112)
    wsum = np.zeros(112)
    total[:64] += 0.2 * w
    wsum[:64] += w
    total[48:] += 0.8 * w
    wsum[48:] += w
    blended = total / wsum
    assert np.allclose(blended[:48], 0.2) and np.allclose(blended[64:], 0.8)
    assert np.all(np.diff(blended[48:64]) > 0)


def _random_block_results(seed: int, block_tiles: int):
    rng = np.random.default_rng(seed)
    spec = TileSpec(size=32, overlap=8, block_tiles=block_tiles)
    grid = make_grid((0, 0, 13.0, 9.0), 0.1, "EPSG:32647", spec)
    blocks = plan_blocks(grid, spec, shapely.box(0, 0, 13.0, 9.0))
    tile_probs = {t.tile_id: rng.random((2, 32, 32)).astype(np.float32) for b in blocks for t in b.tiles}
    valid = rng.random((grid.height, grid.width)) > 0.1
    weights = weight_window(32, 8)
    results = {}
    for b in blocks:
        w = b.window
        v = valid[w.row_off : w.row_off + w.height, w.col_off : w.col_off + w.width]
        results[b.block_id] = pack(*accumulate(w, [t.window for t in b.tiles], np.stack([tile_probs[t.tile_id] for t in b.tiles]), weights, v))
    # the whole raster blended at once, as reference
    whole = accumulate(Window(0, 0, grid.width, grid.height), [t.window for b in blocks for t in b.tiles],
                       np.stack([tile_probs[t.tile_id] for b in blocks for t in b.tiles]), weights, valid)
    return grid, blocks, results, whole


@pytest.mark.parametrize("block_tiles", [1, 2, 3])
def test_assembler_equals_whole_raster_blend_in_any_order(block_tiles):
    grid, blocks, results, (wsums, wweights) = _random_block_results(0, block_tiles)
    ref_probs, ref_valid = finalize(wsums, wweights)
    out = np.full((2, grid.height, grid.width), -1.0, np.float32)
    written = np.zeros((grid.height, grid.width), int)

    def emit(win, probs, valid):
        r, c, h, w = int(win.row_off), int(win.col_off), int(win.height), int(win.width)
        out[:, r : r + h, c : c + w] = np.where(valid, probs, -1)
        written[r : r + h, c : c + w] += 1

    asm = Assembler({b.block_id: b.window for b in blocks}, emit)
    order = np.random.default_rng(1).permutation(len(blocks))
    for i in order:
        asm.add(int(i), *results[int(i)])
    assert asm.complete
    assert (written == 1).all()  # every pixel emitted exactly once
    expected = np.where(ref_valid, ref_probs, -1)
    assert np.abs(out - expected).max() <= 0.5 / P_STEPS + 1e-6  # one rounding to a uint16 step, no more


def test_assembler_refuses_a_block_twice():
    asm = Assembler({0: Window(0, 0, 4, 4)}, lambda *a: None)
    asm.add(0, np.zeros((1, 4, 4), np.uint16), np.ones((4, 4), np.float32))
    with pytest.raises(ValueError):
        asm.add(0, np.zeros((1, 4, 4), np.uint16), np.ones((4, 4), np.float32))


def test_invalid_pixels_get_zero_weight():
    probs = np.ones((1, 1, 4, 4), np.float32)
    valid = np.ones((4, 4), bool)
    valid[0] = False
    sums, wsum = accumulate(Window(0, 0, 4, 4), [Window(0, 0, 4, 4)], probs, weight_window(4, 0), valid)
    p, v = finalize(sums, wsum)
    assert not v[0].any() and v[1:].all() and np.allclose(p[0, 1:], 1.0)


def test_pack_keeps_tiny_and_certain_probabilities_to_a_uint16_step():
    # background probabilities times edge weights are far below float16's normal range:
    # packing must keep them (as 0 or a step), keep 1.0 exact and mark no-weight pixels invalid
    probs = np.array([[[1e-9, 1e-5, 0.5, 1.0]]], np.float32)
    wsum = np.array([[2**-14, 1.0, 3.0, 2**-14]], np.float32)
    packed, w = pack(probs * wsum, wsum)
    assert packed.dtype == np.uint16 and w.dtype == np.float32
    back, valid = unpack(packed, w)
    assert valid.all() and np.abs(back - probs).max() <= 0.5 / P_STEPS
    assert back[0, 0, 3] == 1.0
    _, valid = unpack(*pack(probs, np.zeros((1, 4), np.float32)))
    assert not valid.any()
