"""Auto-framing: a virtual camera operator that pans and zooms to keep the person well framed.

The stage goes after the background stage and before the upscaler. It never resamples: it decides a
crop — `frame.crop` = (x, y, width, height) in frame pixels, with the frame's aspect ratio — and the
upscale stage (`pipeline.stages.upscale`) enlarges that crop to the output size, with the network
tier when the crop is enlarged at least `upscale.stage.NETWORK_MIN_ZOOM` (1.5) times and the
scheduler has the time, bicubic otherwise.
The crop is taken from the composited picture (and its alpha), so the mask, the matte and the
background were computed once on the whole frame and stay aligned; no model runs on the zoomed view.

**Where the person is**: the bounding box of the segmentation mask (`frame.mask`, probability ≥ 0.5,
`pipeline.roi.person_box`). **Framing rules** (`Framing`), giving a target centre and zoom:
* a person wholly inside the frame is fitted with `head_room` (a fraction of the crop's height) above
  the head, and is centred when the zoom limit leaves room around them;
* a person cut by the frame's bottom edge (the usual webcam shot) is framed head and shoulders: the
  eyes — estimated at 40 % of a head height below the top, a head being half the shoulders' width —
  on the upper third line, the shoulders' width filling `1 / shoulder_fill` of the crop;
* the zoom stays within [`min_zoom`, `max_zoom`] and the crop inside the frame.
**Moving like an operator** (`VirtualCamera`): a dead zone (the target only moves when the wanted
centre leaves `dead_zone` × the crop's size around it, or the wanted zoom differs by more than
`ZOOM_DEAD_ZONE`), then each axis (centre x, centre y, zoom) follows the target as a critically damped
spring (no overshoot, settles in about `settle_s`), its speed capped at `max_speed` frame widths per
second (pan) and `max_speed` × `max_zoom` zoom units per second. **Scene cuts** (a `discont` frame, or a
thumbnail that changed by more than `CUT_LEVELS` on average) snap the camera to the new target. **Nobody
there** for `LOST_S` seconds: back to the whole frame, at half speed.

Offline (`lookahead` frames > 0, transcodes): the wanted centre and zoom of each frame are smoothed
with the next `lookahead` frames' (a centred moving average over the window the stage holds back),
which takes out the lag a live operator has; the stage then delays its output by that many frames
(see `Stage.delay` — the graph flushes it at the end of the stream).

Time comes from the frames' `pts_ns` (media time), so a transcode is reproducible and a live run
follows the camera's clock. Units: pixels of the input frame; speeds per second of media time.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.caps import Caps
from pipeline.errors import GraphError, UserError
from pipeline.frame import Frame
from pipeline.params import Param, check_bool, number_in
from pipeline.roi import person_box
from pipeline.stage import Stage

ZOOM_DEAD_ZONE = 0.12
"""The target zoom changes only when the wanted zoom differs from it by more than this fraction."""
CUT_LEVELS = 40.0
"""Mean absolute change of a 32×18 grey thumbnail (levels) that counts as a scene cut."""
LOST_S = 1.0
"""Seconds without a person before the camera goes back to the whole frame."""
LIMITS = {
    "min_zoom": (1.0, 4.0),
    "max_zoom": (1.0, 4.0),
    "dead_zone": (0.0, 0.3),
    "max_speed": (0.05, 2.0),
    "head_room": (0.0, 0.3),
}
"""Allowed range of each setting (inclusive); the preset keys are `autoframe_<name>`."""
AUTOFRAME = Param(
    "autoframe",
    check_bool,
    False,
    "Auto-framing: pan and zoom to keep the person framed; the "
    "crop is enlarged to the output size by the upscaler (the network from a 1.5x zoom on).",
    live=True,
    flag="--autoframe",
    flag_type=bool,
)
_RULES = {
    "min_zoom": (1.0, "the widest view, frame size / crop size (1 = the whole frame)"),
    "max_zoom": (2.0, "the closest view (2 = half the frame's width)"),
    "dead_zone": (0.05, "how far (a fraction of the crop) the person may move before the camera follows"),
    "max_speed": (0.5, "the fastest pan, frame widths per second (zoom: this x max_zoom per second)"),
    "head_room": (0.08, "space above the head, a fraction of the crop's height"),
}
RULE_PARAMS = {
    name: Param(f"autoframe_{name}", number_in(*LIMITS[name]), default, f"Auto-framing: {text}.", live=True)
    for name, (default, text) in _RULES.items()
}
"""The framing rules as settings (`autoframe_<name>`), ranges from `LIMITS`."""


@dataclass
class Framing:
    """The operator's rules (see the module docstring). Zooms are frame size / crop size (≥ 1)."""

    min_zoom: float = RULE_PARAMS["min_zoom"].default
    max_zoom: float = RULE_PARAMS["max_zoom"].default
    dead_zone: float = RULE_PARAMS["dead_zone"].default
    max_speed: float = RULE_PARAMS["max_speed"].default
    head_room: float = RULE_PARAMS["head_room"].default
    settle_s: float = 0.8
    """About how long a critically damped move takes to settle (4 time constants)."""
    shoulder_fill: float = 1.6
    """Head-and-shoulders shot: the crop is this many shoulder widths wide."""
    body_fill: float = 0.85
    """Whole person: the box takes this fraction of the crop's height (or 1/1.25 of its width)."""

    def check(self) -> Framing:
        """`UserError` naming the setting and its range for any value out of `LIMITS`."""
        for name, (lo, hi) in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                raise UserError(f"autoframe_{name} = {value!r}: expected a number from {lo} to {hi}")
        if self.min_zoom > self.max_zoom:
            raise UserError(
                f"autoframe_min_zoom ({self.min_zoom}) must not exceed autoframe_max_zoom ({self.max_zoom})"
            )
        return self

    @classmethod
    def from_settings(cls, settings) -> Framing:
        """The rules a run's `Settings` ask for (`autoframe_<name>` keys)."""
        return cls(**{name: getattr(settings, param.key) for name, param in RULE_PARAMS.items()})

    def target(self, box, width: int, height: int) -> tuple[float, float, float]:
        """(centre x, centre y, zoom) that frames the person `box` = (x, y, w, h) in a width×height frame."""
        bx, by, bw, bh = box
        cut_at_bottom = by + bh >= height * 0.98
        if cut_at_bottom:
            crop_w = self.shoulder_fill * bw
            zoom = self.clamp_zoom(width / max(crop_w, 1.0))
            crop_h = height / zoom
            head_h = 0.5 * bw
            eyes_y = by + 0.4 * head_h
            cy = eyes_y - crop_h / 3 + crop_h / 2
            cy = min(cy, by - self.head_room * crop_h + crop_h / 2)  # never cut the top of the head
        else:
            crop_h = max(bh / self.body_fill, 1.25 * bw * height / width)
            zoom = self.clamp_zoom(height / max(crop_h, 1.0))
            crop_h = height / zoom
            cy = min(by + bh / 2, by - self.head_room * crop_h + crop_h / 2)
        return bx + bw / 2, cy, zoom

    def clamp_zoom(self, zoom: float) -> float:
        """`zoom` (output size / crop size) held within `min_zoom`…`max_zoom`."""
        return min(max(zoom, self.min_zoom), self.max_zoom)


class _Axis:
    """One critically damped, speed-limited coordinate: position x, velocity v (units per second)."""

    def __init__(self, x: float):
        self.x, self.v = x, 0.0

    def step(self, goal: float, dt: float, omega: float, max_speed: float) -> None:
        """Advance by `dt` s toward `goal` (exact critically damped solution), capping |speed|.

        Never past the goal: the speed is also kept at most omega × the distance left, from which a
        critically damped move cannot overshoot (a capped speed would otherwise carry it past)."""
        if dt <= 0:
            return
        y0 = self.x - goal
        decay = math.exp(-omega * dt)
        y = (y0 + (self.v + omega * y0) * dt) * decay
        moved = y - y0
        limit = max_speed * dt
        if abs(moved) > limit:
            moved = math.copysign(limit, moved)
        if y0 != 0 and (y0 + moved) * y0 <= 0:  # would reach or pass the goal: stop there
            self.x, self.v = goal, 0.0
            return
        self.x += moved
        v = moved / dt
        self.v = math.copysign(min(abs(v), omega * abs(self.x - goal)), v)

    def snap(self, x: float) -> None:
        self.x, self.v = x, 0.0


class VirtualCamera:
    """The crop's path: dead zone + critically damped, speed-limited pan and zoom (module docstring).

    `update(target, dt)` moves toward `target` = (cx, cy, zoom) or None (nobody there); `snap(target)`
    jumps (a scene cut). `crop()` is the current (x, y, w, h) in whole pixels: even sizes, the frame's
    aspect ratio, inside the frame.
    """

    def __init__(self, width: int, height: int, framing: Framing):
        self.width, self.height, self.framing = width, height, framing
        full = (width / 2, height / 2, framing.min_zoom)
        self.goal = full
        self.axes = [_Axis(v) for v in full]
        self.lost_s = 0.0

    def _full(self) -> tuple[float, float, float]:
        return self.width / 2, self.height / 2, self.framing.min_zoom

    def snap(self, target) -> None:
        self.goal = self._clamped(target or self._full())
        for axis, value in zip(self.axes, self.goal):
            axis.snap(value)
        self.lost_s = 0.0

    def update(self, target, dt: float) -> None:
        f = self.framing
        slow = 1.0
        if target is None:
            self.lost_s += dt
            if self.lost_s >= LOST_S:
                self.goal, slow = self._full(), 0.5
        else:
            self.lost_s = 0.0
            gx, gy, gz = self.goal
            tx, ty, tz = self._clamped(target)
            crop_w, crop_h = self.width / gz, self.height / gz
            if (
                abs(tx - gx) > f.dead_zone * crop_w
                or abs(ty - gy) > f.dead_zone * crop_h
                or abs(tz / gz - 1) > ZOOM_DEAD_ZONE
            ):
                self.goal = (tx, ty, tz)
        omega = 4.0 / f.settle_s
        speeds = (f.max_speed * self.width * slow, f.max_speed * self.width * slow, f.max_speed * f.max_zoom * slow)
        for axis, goal, speed in zip(self.axes, self.goal, speeds):
            axis.step(goal, dt, omega, speed)

    def _clamped(self, target) -> tuple[float, float, float]:
        """`target` with its zoom in the limits and its centre where the crop stays inside the frame."""
        cx, cy, zoom = target
        zoom = self.framing.clamp_zoom(zoom)
        half_w, half_h = self.width / zoom / 2, self.height / zoom / 2
        return (min(max(cx, half_w), self.width - half_w), min(max(cy, half_h), self.height - half_h), zoom)

    @property
    def zoom(self) -> float:
        return self.axes[2].x

    def crop(self) -> tuple[int, int, int, int]:
        cx, cy, zoom = (axis.x for axis in self.axes)
        zoom = min(max(zoom, 1.0), self.framing.max_zoom)
        w = min(self.width, max(2, int(round(self.width / zoom / 2)) * 2))
        h = min(self.height, max(2, int(round(w * self.height / self.width / 2)) * 2))
        x = int(round(min(max(cx - w / 2, 0), self.width - w)))
        y = int(round(min(max(cy - h / 2, 0), self.height - h)))
        return x, y, w, h


def _thumbnail(pixels: np.ndarray) -> np.ndarray:
    """32×18 float32 grey picture of a BGR(A) frame (for scene-cut detection)."""
    step = max(1, min(pixels.shape[0] // 36, pixels.shape[1] // 64))  # every step-th pixel first: cheap
    small = cv2.resize(np.ascontiguousarray(pixels[::step, ::step]), (32, 18), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGRA2GRAY if small.shape[2] == 4 else cv2.COLOR_BGR2GRAY).astype(np.float32)


class AutoFrame(Stage):
    """Decide each frame's crop (`frame.crop`); see the module docstring.

    framing: the rules (`Framing`, checked). enabled: off, every frame gets no crop (the whole frame),
    and turning it on glides in from the whole frame (the stream's first frame snaps: it is a cut).
    lookahead: offline smoothing window, in frames (0 live).
    """

    name = "autoframe"
    updatable = frozenset({"enabled", "framing"})
    params = (AUTOFRAME, *RULE_PARAMS.values())
    absent_hint = (
        "this run started without auto-framing, so there is no autoframe stage to change "
        "(restart with --autoframe or autoframe = true)"
    )

    @classmethod
    def check_settings(cls, settings) -> None:
        Framing.from_settings(settings).check()

    def settings_change(self, new, changed: set[str]):
        framing = Framing.from_settings(new).check()
        return lambda: self.update(enabled=new.autoframe, framing=framing)

    def __init__(self, framing: Framing | None = None, *, enabled: bool = True, lookahead: int = 0):
        self.framing = (framing or Framing()).check()
        self.enabled = enabled
        if not isinstance(lookahead, int) or lookahead < 0:
            raise UserError(f"autoframe lookahead must be a whole number of frames >= 0, got {lookahead!r}")
        self.lookahead = lookahead
        self.camera: VirtualCamera | None = None
        self._last_pts: int | None = None
        self._last_thumb: np.ndarray | None = None
        self._held: collections.deque = collections.deque()
        """Offline: (frame, wanted target or None, cut) not yet sent on, oldest first."""
        self.last_crop: tuple[int, int, int, int] | None = None

    @property
    def delay(self) -> int:
        """Frames this stage holds back before answering (the offline look-ahead window)."""
        return self.lookahead

    def open(self, caps: Caps) -> Caps:
        if not caps.width or not caps.height:
            raise GraphError("the autoframe stage needs the frame size")
        self.camera = VirtualCamera(caps.width, caps.height, self.framing)
        return caps

    def wanted(self, frame: Frame):
        """The framing target of `frame`'s person, or None when nobody is there (or no mask)."""
        if frame.mask is None:
            return None
        box = person_box(frame.mask, frame.width, frame.height)
        return None if box is None else self.framing.target(box, frame.width, frame.height)

    def _is_cut(self, frame: Frame) -> bool:
        thumb = _thumbnail(frame.pixels)
        cut = frame.discont or self._last_thumb is None or float(np.mean(np.abs(thumb - self._last_thumb))) > CUT_LEVELS
        self._last_thumb = thumb
        return cut

    def process(self, frame: Frame) -> Frame | None:
        self.apply_updates()
        assert self.camera is not None, "open() comes before process()"
        self.camera.framing = self.framing
        if not self.enabled:  # the whole frame; turned on again, the view glides in from it
            if self.last_crop is not None:
                self.camera.snap(None)
                self.last_crop = None
            frame.crop = None
            self._last_pts = frame.pts_ns
            self._last_thumb = _thumbnail(frame.pixels)
            return frame
        cut = self._is_cut(frame)
        target = self.wanted(frame)
        if self.lookahead == 0:
            return self._move(frame, target, cut)
        self._held.append((frame, target, cut))
        if len(self._held) <= self.lookahead:
            return None
        return self._release()

    def flush(self) -> list[Frame]:
        """Offline, at the end of the stream: the frames still held back, in order."""
        out = []
        while self._held:
            out.append(self._release())
        return out

    def _release(self) -> Frame:
        """The oldest held frame, moved toward the mean target of it and the frames after it that
        belong to the same shot (up to the first cut)."""
        frame, _, cut = self._held[0]
        window = []
        for i, (_, t, c) in enumerate(self._held):
            if i > 0 and c:
                break
            if t is not None:
                window.append(t)
        target = tuple(float(np.mean([t[k] for t in window])) for k in range(3)) if window else None
        self._held.popleft()
        return self._move(frame, target, cut)

    def _move(self, frame: Frame, target, cut: bool) -> Frame:
        dt = 0.0 if self._last_pts is None else max(frame.pts_ns - self._last_pts, 0) / 1e9
        self._last_pts = frame.pts_ns
        assert self.camera is not None, "open() comes before process()"
        if cut:
            self.camera.snap(target)
        else:
            self.camera.update(target, dt)
        self.last_crop = self.camera.crop()
        frame.crop = self.last_crop
        return frame

    @staticmethod
    def frame_zoom(frame: Frame) -> float:
        """frame width / crop width (1.0 without a crop)."""
        return 1.0 if frame.crop is None else frame.width / frame.crop[2]
