"""Person segmentation with the MediaPipe selfie models bundled in the mediapipe 0.10.21 wheel.

Tiers (best first): `general` (256×256 input) and `landscape` (144×256 input, ~40% cheaper).
The frame is shrunk to the model's input size here (`shrink_to`, then BGR→RGB on the small image),
so MediaPipe never touches a full-resolution image. Output: `frame.mask`, float32 (h, w) person
probability in [0, 1] at model resolution, for the whole frame (the general model's square input
stretches a 16:9 frame; the mask is stretched back the same way when it is upsampled).

With `roi=True` the model runs on a crop around the person (`pipeline.roi.RoiTracker`: found on
the whole frame, then tracked, re-acquired every half second of media time and whenever lost), so
a person who fills a small part of the frame is segmented at a useful resolution. The mask then has a fixed
size per frame size, `roi_mask_size` (the matte stage's guide size: 320×180 at 720p), finer than
the model's where the crop is small; outside the crop it is 0, except on whole-frame frames, where
the whole-frame mask fills it.

`people = "main"` keeps only the main person (`pipeline.people.MainPerson`; the tracker then follows
them alone), and `mask_reuse` runs the model only when the picture changed (`pipeline.motion`).
"""

from __future__ import annotations

import collections
import contextlib
import os
import sys
from fractions import Fraction
from pathlib import Path

# MediaPipe logs through glog/absl to stderr at C level; keep the terminal for our own messages.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from kernels.blur import halve, shrink_factor, small_size  # noqa: E402
from pipeline.caps import Caps  # noqa: E402
from pipeline.errors import UserError  # noqa: E402
from pipeline.frame import Frame  # noqa: E402
from pipeline.motion import MAX_GAP_S, MotionGate  # noqa: E402
from pipeline.params import Param, check_bool, one_of  # noqa: E402
from pipeline.people import MainPerson  # noqa: E402
from pipeline.power import SAVER_MAX_GAP_S, SAVER_MIN_GAP_S  # noqa: E402
from pipeline.roi import RoiTracker, paste_crop_mask  # noqa: E402
from pipeline.stage import Stage, TierSwitch  # noqa: E402

# model name -> (MediaPipe model_selection, (input width, input height))
SEGMENTER_MODELS = {
    "general": (0, (256, 256)),
    "landscape": (1, (256, 144)),
}
HALF_RATE = "landscape-half-rate"
SEGMENTER_TIERS = ("general", "landscape", HALF_RATE)
"""Best quality first. `landscape-half-rate` runs the landscape model on every other frame and
reuses the previous mask in between (always running on a `discont` frame)."""


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence file descriptor 2 (C++ logging of TFLite/absl) for the duration of the block.

    Only used while a session is created and warmed up, when the graph's threads are not running.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


SELFIE_GRAPH = "mediapipe/modules/selfie_segmentation/selfie_segmentation_cpu.binarypb"
"""The CPU graph of the wheel's selfie segmentation (relative to the folder holding `mediapipe`)."""


class SelfieGraph:
    """One MediaPipe selfie-segmentation graph, the one `mediapipe.solutions.selfie_segmentation`
    runs (same graph file, models, side packet and outputs: bit-identical masks), driven through
    the framework bindings that wrapper itself uses (`mediapipe.python._framework_bindings`, fixed
    by the mediapipe==0.10.21 pin) instead of the wrapper, which builds a namedtuple class on every
    call: 0.21 instead of 0.47 CPU-ms per frame on the calling thread (the model itself, ~5.5 ms
    for landscape, runs on MediaPipe's own thread either way).

    `model_selection`: 0 general (256×256 input), 1 landscape (256×144).
    """

    def __init__(self, model_selection: int):
        import mediapipe
        from mediapipe.framework import calculator_pb2
        from mediapipe.python import packet_creator
        from mediapipe.python._framework_bindings import calculator_graph, resource_util

        root = Path(mediapipe.__file__).resolve().parents[1]
        resource_util.set_resource_dir(str(root))  # the graph loads its model by package path
        config = calculator_pb2.CalculatorGraphConfig()
        config.ParseFromString((root / SELFIE_GRAPH).read_bytes())
        self._graph = calculator_graph.CalculatorGraph(graph_config=config)
        # The output lands in a list the callback closes over: a callback holding `self` would make
        # a graph <-> self cycle that Python's collector cannot see through MediaPipe's C++ graph
        # (~20 MB kept per SelfieGraph).
        self._masks: list = []
        masks = self._masks
        self._graph.observe_output_stream("segmentation_mask", lambda _stream, packet: masks.append(packet), True)
        self._graph.start_run({"model_selection": packet_creator.create_int(model_selection)})
        self._timestamp_us = 0

    def run(self, rgb: np.ndarray) -> np.ndarray:
        """The person probability, float32 (h, w) in [0, 1], of one uint8 RGB image (h, w, 3)
        (the graph resizes it to the model's input and the mask back to (h, w))."""
        from mediapipe.python import packet_creator, packet_getter
        from mediapipe.python._framework_bindings import image_frame

        self._timestamp_us += 33333  # packets need increasing timestamps; the value is unused
        image = packet_creator.create_image_frame(rgb, image_format=image_frame.ImageFormat.SRGB)
        self._graph.add_packet_to_input_stream(stream="image", packet=image.at(self._timestamp_us))
        self._graph.wait_until_idle()
        if not self._masks:
            raise RuntimeError(f"MediaPipe's selfie graph gave no mask for a {rgb.shape} image")
        packet = self._masks.pop()
        return np.array(packet_getter.get_image_frame(packet).numpy_view(), dtype=np.float32)

    def close(self) -> None:
        self._graph.close()
        self._masks.clear()


def shrink_to(image: np.ndarray, size: tuple[int, int], levels: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """Resize `image` to `size` (width, height) for the model, cheaply.

    Halves with INTER_AREA while the image is at least twice the target (exact 2:1 area averaging is
    OpenCV's fast path; `kernels.blur.halve`, sharing `levels`, the frame's cache of reductions,
    with the matte and background stages), then one INTER_LINEAR step: 0.6 ms instead of 1.8 ms
    for a direct INTER_AREA from 1280×720 to 256×144, within one grey level on average.
    """
    width, height = size
    factor = 1
    while image.shape[1] >= 4 * factor * width and image.shape[0] >= 4 * factor * height:
        factor *= 2
    if image.shape[1] >= 2 * width and image.shape[0] >= 2 * height:
        image = halve(image, 2 * factor, levels)
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def roi_mask_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of the mask with ROI tracking: the frame halved while its longer side stays
    at least 256 (the models' longer side) — the guide size of the matte stage, so it runs there
    at its usual cost."""
    return small_size(width, height, shrink_factor(width, height, 256))


def check_segmenter(name: str) -> str:
    if name not in SEGMENTER_MODELS:
        raise UserError(f"--segmenter {name!r}: choose one of {', '.join(SEGMENTER_MODELS)}")
    return name


SEGMENTER = Param(
    "segmenter",
    one_of(tuple(SEGMENTER_MODELS)),
    "landscape",
    "Selfie model: general (256x256 input) or landscape (256x144, cheaper).",
    live=True,
    flag="--segmenter",
    choices=tuple(SEGMENTER_MODELS),
)
ROI = Param(
    "roi",
    check_bool,
    True,
    "Run the model on a crop around the person, tracked from frame to frame, "
    "so a person far from the camera is segmented at a useful resolution.",
)
PEOPLE_CHOICES = ("all", "main")
PEOPLE = Param(
    "people",
    one_of(PEOPLE_CHOICES),
    "all",
    "Who is cut out: all (every person in the picture) or main (the person the camera is on: largest, "
    "most central, followed over time; bystanders and a second person go to the background).",
    live=True,
    flag="--people",
    choices=PEOPLE_CHOICES,
)
MASK_REUSE = Param(
    "mask_reuse",
    check_bool,
    False,
    "Run the person model only when the picture changed (at once on motion or a cut, and at least "
    "5 times a second); between runs the last mask is used again.",
    live=True,
)


class Segment(Stage):
    """Runs the selfie model and attaches `frame.mask`: on every frame, or with `mask_reuse` only when
    the picture changed (`pipeline.motion.MotionGate`; the last mask again in between); with
    `people = main`, every person but the main one sent to the background (`pipeline.people`)."""

    name = "segment"
    params = (SEGMENTER, ROI, PEOPLE, MASK_REUSE)
    cpu_runs_elsewhere = True  # inference runs on MediaPipe's own thread: count wall time as CPU
    tier_quality = {"general": 1.0, "landscape": 0.95, HALF_RATE: 0.8}
    tier_cost_hint = {"general": 1.7, "landscape": 1.0, HALF_RATE: 0.55}

    updatable = frozenset({"people", "mask_reuse", "power_saving"})

    def __init__(
        self,
        model: str = SEGMENTER.default,
        *,
        roi: bool = ROI.default,
        people: str = PEOPLE.default,
        mask_reuse: bool = MASK_REUSE.default,
    ):
        self.model = check_segmenter(model)
        self.roi = bool(roi)
        self.people = people
        self.mask_reuse = bool(mask_reuse)
        self._main_person = MainPerson()
        self._gate = MotionGate()
        self._runs_pts: collections.deque[int] = collections.deque(maxlen=256)
        """Media times of the recent model runs (for runs per second)."""
        self._tracker: RoiTracker | None = None
        self._switch = TierSwitch(self, self.model, label="segmenter ", used=self.model)
        self._ceiling = self.model
        """The model the settings ask for: the best tier offered (the scheduler may go below it, never above)."""
        self._sessions: dict[str, SelfieGraph] = {}
        self._last_mask: np.ndarray | None = None
        self._may_reuse_next = False
        """True right after a half-rate frame ran the model: the next frame may reuse its mask."""
        self.model_runs = 0
        """Frames the model ran on (the others reused the previous mask), for model runs per second."""
        self.power_saving = False
        """Power saver (`pipeline.power`): mask reuse on, with the saver's gaps between model runs."""

    def _session(self, model: str) -> SelfieGraph:
        if model not in self._sessions:
            selection, (width, height) = SEGMENTER_MODELS[model]
            with quiet_native_stderr():
                session = SelfieGraph(selection)
                session.run(np.zeros((height, width, 3), np.uint8))  # the first call logs, too
            self._sessions[model] = session
        return self._sessions[model]

    def open(self, caps: Caps) -> Caps:
        for model in SEGMENTER_MODELS:  # both, so a switch at run time never stalls a frame
            self._session(model)
        return caps

    @property
    def tiers(self) -> tuple[str, ...]:
        """`SEGMENTER_TIERS` from the model the settings ask for down: a run set to landscape never
        switches to the general model, whatever the slack."""
        return SEGMENTER_TIERS[SEGMENTER_TIERS.index(self._ceiling) :]

    @property
    def tier(self) -> str:
        return self._switch.requested

    def set_tier(self, tier: str) -> None:
        """Switch tier at the next frame (thread-safe; the scheduler's choice among `tiers`)."""
        if tier not in self.tiers:
            raise ValueError(f"segment tier {tier!r}: choose one of {self.tiers}")
        self._switch.request(tier)

    def tier_failed(self, tier: str, reason: str) -> str | None:
        """A model that raises stops the graph: there is no other engine to fall back to."""
        return None

    def set_model(self, model: str) -> None:
        """Use `model` from the next frame on, and offer no tier above it (`UserError` for an unknown
        model name)."""
        self._ceiling = check_segmenter(model)
        self.set_tier(model)

    def settings_change(self, new, changed: set[str]):
        def apply() -> None:
            if "segmenter" in changed:
                self.set_model(new.segmenter)
            if "people" in changed:
                self.update(people=new.people)
            if "mask_reuse" in changed:
                self.update(mask_reuse=new.mask_reuse)

        return apply

    def set_power_saving(self, on: bool) -> None:
        """Power saver on or off from the next frame (thread-safe; `pipeline.power.PowerGovernor`)."""
        self.update(power_saving=bool(on))

    def _only_main(self, mask: np.ndarray) -> np.ndarray:
        """`mask` with `people = main`: every person but the main one sent to the background."""
        return self._main_person.keep(mask) if self.people == "main" else mask

    def segment(
        self, pixels_bgr: np.ndarray, model: str | None = None, levels: dict[int, np.ndarray] | None = None
    ) -> np.ndarray:
        """The person probability (float32, model resolution) of one BGR(A) image (`levels`: its
        cache of reductions, `Frame.reductions`)."""
        model = model or self.model
        if model == HALF_RATE:
            model = "landscape"
        size = SEGMENTER_MODELS[model][1]
        if pixels_bgr.shape[2] != 3:
            pixels_bgr, levels = pixels_bgr[:, :, :3], None  # the cache is of the 4-channel image
        small = shrink_to(pixels_bgr, size, levels)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        return self._session(model).run(rgb)

    def person_mask(
        self, pixels_bgr: np.ndarray, pts_ns: int = 0, discont: bool = True, levels: dict[int, np.ndarray] | None = None
    ) -> np.ndarray:
        """The mask `process` attaches for the frame at `pts_ns` with the current model: ROI-tracked
        when `roi` is on (`discont`: an unrelated image, acquire afresh), else the whole frame's.
        `levels`: the frame's cache of reductions."""
        if discont:
            self._main_person.reset()
        if self.roi:
            return self.segment_tracked(pixels_bgr, self.model, pts_ns, discont, levels)
        return self._only_main(self.segment(pixels_bgr, self.model, levels))

    def segment_tracked(
        self,
        pixels_bgr: np.ndarray,
        model: str,
        pts_ns: int,
        discont: bool,
        levels: dict[int, np.ndarray] | None = None,
    ) -> np.ndarray:
        """The person probability of one frame with ROI tracking (float32, `roi_mask_size`): the
        model on the tracker's crop, and on the whole frame when the tracker asks for it. With
        `people = main` the tracker follows the main person only."""
        h, w = pixels_bgr.shape[:2]
        input_w, input_h = SEGMENTER_MODELS["landscape" if model == HALF_RATE else model][1]
        tracker = self._tracker
        if tracker is None or (tracker.frame_w, tracker.frame_h) != (w, h):
            tracker = self._tracker = RoiTracker(w, h, input_w / input_h)
            discont = True
        tracker.aspect = input_w / input_h  # the tier (and with it the model) may have changed
        mask_w, mask_h = roi_mask_size(w, h)
        if tracker.needs_full_frame(discont, pts_ns):
            whole = self.segment(pixels_bgr, model, levels)
            mask = self._only_main(cv2.resize(whole, (mask_w, mask_h), interpolation=cv2.INTER_LINEAR))
            crop = tracker.acquire(mask, pts_ns)
        else:
            mask = np.zeros((mask_h, mask_w), np.float32)
            crop = tracker.crop
        if crop is not None:
            x, y, cw, ch = crop
            paste_crop_mask(self.segment(pixels_bgr[y : y + ch, x : x + cw], model), crop, w, h, mask)
            mask = self._only_main(mask)
        tracker.update(mask)
        return mask

    def process(self, frame: Frame) -> Frame:
        people_before, saving_before = self.people, self.power_saving
        self.apply_updates()
        if self.people != people_before:
            self._main_person.reset()
        if self.power_saving != saving_before:
            self._gate.max_gap_s = SAVER_MAX_GAP_S if self.power_saving else MAX_GAP_S
            self._gate.min_gap_s = SAVER_MIN_GAP_S if self.power_saving else 0.0
        reuse = self.mask_reuse or self.power_saving
        self.model = self._switch.requested
        self._switch.ran(self.model)
        if self.model == HALF_RATE and self._may_reuse_next and not frame.discont:
            frame.mask = self._last_mask
            self._may_reuse_next = False
        else:
            run = True
            if reuse:
                run = self._gate.decide(frame.pixels, frame.pts_ns, frame.discont, frame.reductions())
                run = run or self._last_mask is None
            if run:
                self.model_runs += 1
                self._runs_pts.append(frame.pts_ns)
                frame.mask = self._last_mask = self.person_mask(
                    frame.pixels, frame.pts_ns, frame.discont, frame.reductions()
                )
                if reuse:
                    self._gate.ran(frame.pts_ns, frame.mask)
            else:
                frame.mask = self._last_mask
            self._may_reuse_next = self.model == HALF_RATE
        if reuse:
            frame.tiers["model"] = f"{self.runs_per_second(frame.pts_ns):.0f} runs/s"
        frame.tiers[self.name] = self.model
        if self.people == "main":
            others = self._main_person.others
            frame.tiers["people"] = f"main ({others} other{'' if others == 1 else 's'} hidden)" if others else "main"
        return frame

    def runs_per_second(self, now_ns: int) -> float:
        """Model runs in the second of media time up to `now_ns`."""
        return float(sum(1 for pts in self._runs_pts if now_ns - 1_000_000_000 < pts <= now_ns))

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()


def person_probability(image_bgr: np.ndarray, model: str = "general") -> np.ndarray:
    """One image's person probability, float32 in [0, 1] at the image's own size (a one-off: the
    model is loaded and released here; for a stream use the `Segment` stage)."""
    segment = Segment(model, roi=False)
    segment.open(Caps(image_bgr.shape[1], image_bgr.shape[0], Fraction(30)))
    try:
        return cv2.resize(segment.segment(image_bgr), image_bgr.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    finally:
        segment.close()
