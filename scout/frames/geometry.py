"""Pure camera geometry: from a photo's attitude and lens to a homography onto the ground.

Coordinates: the ground is local east/north/up in metres around the point under the camera
(``x`` east, ``y`` north, ground at ``z = slope_x * x + slope_y * y``, the camera at ``z = agl``);
pixels are ``(column, row)`` with (0, 0) at the top-left corner of the top-left pixel (pixel
centres at +0.5).  "Upright" pixels are the photo turned as its EXIF orientation says; the
attitude refers to them.  A camera's axes are OpenCV's: x right, y down, z along the view.

Why a homography: a pinhole camera maps a plane to a plane projectively, so one 3x3 matrix
places every pixel on flat (or evenly sloping) ground exactly, and its inverse tells which
pixel shows a ground point.  Lens distortion is left out (under a pixel at model GSD for the
cameras tested, see the README).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from numpy.typing import ArrayLike

DOWN_MOUNTS = {0: 0, 90: 1, 180: 2, 270: 3}
"""Quarter turns of a fixed camera about its view axis, clockwise seen from above (0: the
photo's top edge points forward)."""


def ned_from_body(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Rotation of a body with Tait-Bryan angles (z-y'-x'': yaw, pitch, roll) into north/east/down."""
    y, p, r = (math.radians(a) for a in (yaw_deg, pitch_deg, roll_deg))
    rz = np.array([[math.cos(y), -math.sin(y), 0], [math.sin(y), math.cos(y), 0], [0, 0, 1]])
    ry = np.array([[math.cos(p), 0, math.sin(p)], [0, 1, 0], [-math.sin(p), 0, math.cos(p)]])
    rx = np.array([[1, 0, 0], [0, math.cos(r), -math.sin(r)], [0, math.sin(r), math.cos(r)]])
    return rz @ ry @ rx


ENU_FROM_NED = np.array([[0.0, 1, 0], [1, 0, 0], [0, 0, -1]])
BODY_FROM_GIMBAL_CAMERA = np.array([[0.0, 0, 1], [1, 0, 0], [0, 1, 0]])
"""A gimbal's body looks along its x axis: the camera's z (view) is body x, its x (right) body y,
its y (down in the photo) body z."""


def body_from_down_camera(mount_deg: int = 0) -> np.ndarray:
    """A camera fixed under an aircraft looking down: view = body z (down); photo top = forward
    for ``mount_deg`` 0, turned clockwise (seen from above) by 90, 180 or 270."""
    base = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])  # columns: camera x = body y, y = -body x, z = body z
    t = math.radians(mount_deg)
    turn = np.array([[math.cos(t), -math.sin(t), 0], [math.sin(t), math.cos(t), 0], [0, 0, 1]])
    return turn @ base


def camera_rotation(yaw_deg: float, pitch_deg: float, roll_deg: float, attitude: str, mount_deg: int = 0) -> np.ndarray:
    """World (east, north, up) from camera (x right, y down, z view), 3x3.

    ``attitude`` ``"gimbal"``: the angles are the camera's own (DJI: pitch -90 looks straight
    down, with the photo's top edge toward the yaw); ``"aircraft"``: the aircraft's, with the
    camera fixed looking down (``mount_deg``: see :func:`body_from_down_camera`)."""
    body = BODY_FROM_GIMBAL_CAMERA if attitude == "gimbal" else body_from_down_camera(mount_deg)
    return ENU_FROM_NED @ ned_from_body(yaw_deg, pitch_deg, roll_deg) @ body


def off_nadir_deg(rotation: np.ndarray) -> float:
    """Angle between the camera's view axis and straight down (0: nadir; 90: the horizon)."""
    view_up = float(rotation[2, 2])  # z (up) component of the view direction
    return math.degrees(math.acos(max(-1.0, min(1.0, -view_up))))


def intrinsics(focal_px: float, width: int, height: int) -> np.ndarray:
    """Pinhole camera matrix, principal point at the photo's centre."""
    return np.array([[focal_px, 0, width / 2], [0, focal_px, height / 2], [0, 0, 1.0]])


def ground_to_pixel(k: np.ndarray, rotation: np.ndarray, agl_m: float, slope: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Homography from local ground (x east, y north, metres from the point under the camera)
    to upright pixels, for a camera ``agl_m`` above ground that rises ``slope`` (dz/dx, dz/dy)."""
    plane = np.array([[1.0, 0, 0], [0, 1, 0], [slope[0], slope[1], -agl_m]])  # (x, y, 1) -> ground point - camera
    return k @ rotation.T @ plane


def orientation_matrix(orientation: int, width: int, height: int) -> np.ndarray:
    """Stored pixels -> upright pixels for EXIF ``orientation`` 1-8 of a stored ``width`` x ``height`` photo."""
    w, h = float(width), float(height)
    return {
        1: np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 1]]),
        2: np.array([[-1.0, 0, w], [0, 1, 0], [0, 0, 1]]),
        3: np.array([[-1.0, 0, w], [0, -1, h], [0, 0, 1]]),
        4: np.array([[1.0, 0, 0], [0, -1, h], [0, 0, 1]]),
        5: np.array([[0.0, 1, 0], [1, 0, 0], [0, 0, 1]]),
        6: np.array([[0.0, -1, h], [1, 0, 0], [0, 0, 1]]),
        7: np.array([[0.0, -1, h], [-1, 0, w], [0, 0, 1]]),
        8: np.array([[0.0, 1, 0], [-1, 0, w], [0, 0, 1]]),
    }[orientation]


def upright_size(orientation: int, width: int, height: int) -> tuple[int, int]:
    return (height, width) if orientation >= 5 else (width, height)


def project(h: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Homogeneous (u, v, w) of points ``x``, ``y`` through homography ``h`` (3x3).  Written out
    element by element: a (n, 3) @ (3, 3) product went through BLAS, 30x slower on a busy machine."""
    h = np.asarray(h, dtype=float).reshape(3, 3)
    return (h[0, 0] * x + h[0, 1] * y + h[0, 2], h[1, 0] * x + h[1, 1] * y + h[1, 2], h[2, 0] * x + h[2, 1] * y + h[2, 2])


def apply(h: np.ndarray, xy: ArrayLike) -> np.ndarray:
    """Points (n, 2) through homography ``h`` (3x3) -> (n, 2)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    u, v, w = project(h, xy[:, 0], xy[:, 1])
    return np.column_stack([u / w, v / w])


def translate(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0, dx], [0, 1, dy], [0, 0, 1]])


def pixel_scale_m(pixel_to_ground: np.ndarray, col: float, row: float) -> float:
    """Ground metres per pixel at a pixel (square root of the area one pixel covers there)."""
    h = pixel_to_ground
    x, y, w = h @ np.array([col, row, 1.0])
    jac = np.array([[h[0, 0] * w - x * h[2, 0], h[0, 1] * w - x * h[2, 1]], [h[1, 0] * w - y * h[2, 0], h[1, 1] * w - y * h[2, 1]]]) / (w * w)
    return math.sqrt(abs(float(np.linalg.det(jac))))


def border(width: float, height: float, per_side: int = 8) -> np.ndarray:
    """Points around a photo's edge, clockwise from the top-left corner (n, 2)."""
    t = np.linspace(0, 1, per_side, endpoint=False)
    return np.concatenate([
        np.column_stack([t * width, np.zeros_like(t)]),
        np.column_stack([np.full_like(t, width), t * height]),
        np.column_stack([(1 - t) * width, np.full_like(t, height)]),
        np.column_stack([np.zeros_like(t), (1 - t) * height]),
    ])


def below_horizon(rotation: np.ndarray, k: np.ndarray, polygon: np.ndarray, min_depression_deg: float = 10.0) -> np.ndarray:
    """The part of a pixel ``polygon`` (n, 2) whose view rays point at least ``min_depression_deg``
    below the horizon (clipped on a line in the photo, so the ground it maps to is finite)."""
    # a ray's up component is linear in homogeneous pixels: c @ (u, v, 1); keep c @ p <= -s * |ray|,
    # with |ray| taken at its largest over the photo (so the clip line is straight)
    c = (rotation @ np.linalg.inv(k))[2]
    corners = np.column_stack([polygon, np.ones(len(polygon))])
    longest = max(np.linalg.norm(np.linalg.inv(k) @ p) for p in corners)
    limit = -math.sin(math.radians(min_depression_deg)) * longest
    out: list[np.ndarray] = []
    for a, b in zip(corners, np.roll(corners, -1, axis=0)):
        fa, fb = c @ a - limit, c @ b - limit
        if fa <= 0:
            out.append(a[:2])
        if fa * fb < 0:
            out.append((a + (b - a) * fa / (fa - fb))[:2])
    return np.array(out).reshape(-1, 2)


def ground_polygon(pixel_to_ground: np.ndarray, pixels: Sequence[Sequence[float]] | np.ndarray) -> shapely.Polygon:
    """The ground polygon of a pixel polygon (empty when fewer than 3 points are left)."""
    pts = np.asarray(pixels, dtype=float)
    if len(pts) < 3:
        return shapely.Polygon()
    return shapely.Polygon(apply(pixel_to_ground, pts))
