"""Score super-resolution methods by the standard protocol and time them on a 640×360 frame.

    python -m tools.eval_sr                          # ×2 and ×3, every method found, table + timings
    python -m tools.eval_sr --json out/eval_sr.json --scales 2
    python -m tools.eval_sr --no-time                # scores only
    python -m tools.eval_sr --scales 2 --no-time --engines openvino openvino-bf16   # + the runtime's engines

Protocol (``../shared/data/README.md``): HR cropped to a multiple of the scale; LR = MATLAB-compatible
bicubic ``imresize(hr, 1/s)`` rounded to uint8 (``tools.sr_data``); PSNR-Y and SSIM (Wang et al.,
11×11 Gaussian σ = 1.5) on BT.601 Y in [16, 235] with ``s`` pixels shaved; the greyscale ``bridge`` is
replicated to 3 channels.  Means over each set.

Methods: MATLAB bicubic (ours, NumPy); ``cv2.resize`` INTER_CUBIC; OpenCV dnn_superres FSRCNN,
FSRCNN-small and ESPCN (``../shared/data/sr/baselines/*.pb``; Y-channel models, BGR in/out in OpenCV's
API); and every ``pipeline/models/<name>_x<s>[_int8].onnx`` (input ``lr`` N×3×H×W RGB float [0, 1]); a model
with a ``.npz`` beside it (LiteSR) is also scored and timed through the runtime's Numba kernel. With
``--engines openvino openvino-bf16``, each shipped tier is also scored through the runtime's `Upscale`
stage on those engines (OpenVINO in bf16 rounds its arithmetic: this measures what that costs).

Timing: one 640×360 RGB uint8 frame → ×2, median of ``--runs`` runs after a warm-up, with 2 threads
(``cv2.setNumThreads(2)``, ONNX Runtime ``intra_op_num_threads=2``).  For ONNX models the time includes
the NumPy uint8 HWC → float NCHW conversion and back; ``net ms`` is ``session.run`` alone.
Run it while nothing else loads the machine; the numbers are only comparable within one run.

Needs only NumPy, OpenCV and ONNX Runtime (no torch).  Exits 0 with a message when ``../shared/data``
is absent.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from tools.sr_data import degrade, imresize, list_images, load_rgb, psnr_y, shared_data_dir, ssim_y

REPO = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO / "pipeline" / "models"
BASELINES = [("FSRCNN", "fsrcnn"), ("FSRCNN-small", "fsrcnn"), ("ESPCN", "espcn")]


# ----------------------------------------------------------------------------------------- methods
# Each method is fn(lr_rgb_uint8) -> sr_rgb_uint8 for a fixed scale.


def matlab_bicubic(scale: int):
    return lambda lr: imresize(lr, scale, out_uint8=True)


def cv2_cubic(scale: int):
    import cv2

    return lambda lr: cv2.resize(lr, (lr.shape[1] * scale, lr.shape[0] * scale), interpolation=cv2.INTER_CUBIC)


def dnn_superres(pb: Path, algo: str, scale: int):
    import cv2

    sr = cv2.dnn_superres.DnnSuperResImpl.create()  # the same factory as DnnSuperResImpl_create, typed in cv2's stubs
    sr.readModel(str(pb))
    sr.setModel(algo, scale)

    def run(lr):
        bgr = cv2.cvtColor(lr, cv2.COLOR_RGB2BGR)
        return cv2.cvtColor(sr.upsample(bgr), cv2.COLOR_BGR2RGB)

    return run


class OnnxSR:
    """uint8 RGB H×W×3 → ONNX model (``lr`` N×3×H×W float [0, 1]) → uint8 RGB (rounded, clipped)."""

    def __init__(self, path: Path, threads: int = 2):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self.net_s = 0.0

    def __call__(self, lr: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(lr.transpose(2, 0, 1)[None], dtype=np.float32) * np.float32(1 / 255)
        t = time.perf_counter()
        y = self.sess.run(["sr"], {"lr": x})[0]
        self.net_s = time.perf_counter() - t
        return np.clip(y[0].transpose(1, 2, 0) * 255.0 + 0.5, 0, 255).astype(np.uint8)


class LiteSRKernelSR:
    """uint8 RGB → the runtime path of a LiteSR model: OpenCV bicubic plus the fused Numba kernel
    (`kernels.litesr`) with the weights in ``<model>.npz``: what the live tier really outputs."""

    def __init__(self, npz: Path, scale: int):
        from kernels.litesr import LiteSRKernel

        self.kernel = LiteSRKernel.from_npz(npz, scale)
        self.scale = scale

    def __call__(self, lr: np.ndarray) -> np.ndarray:
        import cv2

        bgr = np.ascontiguousarray(lr[..., ::-1])
        h, w = bgr.shape[:2]
        out = cv2.resize(bgr, (w * self.scale, h * self.scale), interpolation=cv2.INTER_CUBIC)
        self.kernel.add_detail(bgr, out)
        return np.ascontiguousarray(out[..., ::-1])


def find_methods(scale: int, data: Path, models_dir: Path, threads: int) -> list[tuple[str, object]]:
    methods: list[tuple[str, object]] = [
        ("bicubic (MATLAB)", matlab_bicubic(scale)),
        ("cv2 INTER_CUBIC", cv2_cubic(scale)),
    ]
    for name, algo in BASELINES:
        pb = data / "sr" / "baselines" / f"{name}_x{scale}.pb"
        if pb.is_file():
            methods.append((f"OpenCV {name}", dnn_superres(pb, algo, scale)))
    for p in sorted(models_dir.glob(f"*_x{scale}*.onnx")):
        methods.append((f"litecam {p.stem}", OnnxSR(p, threads)))
        if p.with_suffix(".npz").is_file():
            methods.append((f"litecam {p.stem} (numba kernel, 1 thread)", LiteSRKernelSR(p.with_suffix(".npz"), scale)))
    return methods


# ----------------------------------------------------------------------------------------- measure


def score(fn, pairs, scale: int) -> tuple[float, float]:
    ps, ss = [], []
    for hr, lr in pairs:
        sr = fn(lr)
        if sr.shape != hr.shape:
            raise RuntimeError(f"output {sr.shape} != HR {hr.shape}")
        ps.append(psnr_y(sr, hr, scale))
        ss.append(ssim_y(sr, hr, scale))
    return float(np.mean(ps)), float(np.mean(ss))


def time_frame(fn, runs: int) -> tuple[float, float | None]:
    """Median ms for a 640×360 RGB frame (a smooth synthetic image with edges; content does not matter
    for these fixed-cost methods); also the median of ``fn.net_s`` for ONNX models."""
    yy, xx = np.mgrid[0:360, 0:640].astype(np.float32)
    frame = np.stack([128 + 100 * np.sin(xx / 23.0), 128 + 100 * np.cos(yy / 17.0), (xx + yy) % 256], axis=-1).astype(
        np.uint8
    )
    fn(frame)  # warm-up (allocations, OpenCV DNN init)
    ts, nets = [], []
    for _ in range(runs):
        t = time.perf_counter()
        fn(frame)
        ts.append(time.perf_counter() - t)
        if isinstance(fn, OnnxSR):
            nets.append(fn.net_s)
    return 1000 * float(np.median(ts)), (1000 * float(np.median(nets)) if nets else None)


class RuntimeSR:
    """uint8 RGB → the runtime's `Upscale` stage with one inference engine (what `litecam upscale
    --engine E --sr-detail full` outputs, e.g. OpenVINO in bf16, or with the network's tail done by
    litecam's kernel): the network alone, so that the scores compare the engines' arithmetic."""

    def __init__(self, tier: str, scale: int, engine: str, threads: int):
        from pipeline.stages.upscale.stage import Upscale

        self.stage = Upscale(scale, tier, strict=True, engine=engine, threads=threads, detail_check=False)
        self.stage.load()

    def __call__(self, lr: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self.stage.upscale(np.ascontiguousarray(lr[..., ::-1]))[..., ::-1])


def runtime_methods(scale: int, engines: list[str], threads: int) -> list[tuple[str, object]]:
    """Each shipped tier at `scale` through the runtime on each of `engines` that runs it."""
    from pipeline.stages.upscale.catalogue import tiers_for
    from pipeline.stages.upscale.engines.registry import ENGINE_CLASSES

    return [
        (f"litecam {tier} x{scale} ({engine}, runtime)", RuntimeSR(tier, scale, engine, threads))
        for tier in tiers_for(scale)
        if tier != "bicubic"
        for engine in engines
        if ENGINE_CLASSES[engine].runs(tier) and ENGINE_CLASSES[engine].suits_this_cpu()
    ]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="default: ../shared/data")
    ap.add_argument("--models", type=Path, default=MODELS_DIR)
    ap.add_argument("--scales", type=int, nargs="+", default=[2, 3])
    ap.add_argument("--sets", nargs="+", default=["Set5", "Set14"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-time", action="store_true")
    ap.add_argument(
        "--engines",
        nargs="+",
        default=[],
        help="also score the shipped models through the runtime on these inference engines "
        "(e.g. openvino openvino-bf16; those that do not suit this CPU are left out)",
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    data = args.data or shared_data_dir(REPO)
    if not (data / "sr" / "eval").is_dir():
        print(f"skipping: {data / 'sr' / 'eval'} not found (shared evaluation data absent)")
        return 0
    import cv2

    cv2.setNumThreads(args.threads)
    results: dict = {
        "machine": platform.processor() or platform.machine(),
        "threads": args.threads,
        "command": " ".join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:])),
        "protocol": "HR modcrop; LR MATLAB bicubic uint8; PSNR-Y/SSIM on BT.601 Y, shave=scale",
        "scales": {},
    }
    for s in args.scales:
        sets = {name: [degrade(load_rgb(p), s) for p in list_images(data / "sr" / "eval" / name)] for name in args.sets}
        rows = {}
        methods = find_methods(s, data, args.models, args.threads) + runtime_methods(s, args.engines, args.threads)
        for label, fn in methods:
            row: dict = {}
            for name, pairs in sets.items():
                p, q = score(fn, pairs, s)
                row[name] = {"psnr_y": round(p, 3), "ssim_y": round(q, 4)}
            if s == 2 and not args.no_time:
                ms, net = time_frame(fn, args.runs)
                row["ms_640x360"] = round(ms, 1)
                if net is not None:
                    row["net_ms_640x360"] = round(net, 1)
            rows[label] = row
            print(f"  x{s} {label}: " + ", ".join(f"{k} {v}" for k, v in row.items()), file=sys.stderr)
        results["scales"][str(s)] = rows

    for s, rows in results["scales"].items():
        print(
            f"\n### ×{s} (PSNR-Y dB / SSIM-Y)"
            + (
                f" — ms: 640×360 → ×2, {args.threads} threads, median of {args.runs}"
                if s == "2" and not args.no_time
                else ""
            )
        )
        head = "| method | " + " | ".join(f"{n} ×{s}" for n in args.sets)
        sep = "|---|" + "---|" * len(args.sets)
        if s == "2" and not args.no_time:
            head += " | ms | net ms"
            sep += "---|---|"
        print(head + " |")
        print(sep)
        for label, row in rows.items():
            cells = [f"{row[n]['psnr_y']:.2f} / {row[n]['ssim_y']:.4f}" for n in args.sets]
            if s == "2" and not args.no_time:
                cells.append(f"{row['ms_640x360']:.0f}")
                cells.append(f"{row['net_ms_640x360']:.0f}" if "net_ms_640x360" in row else "")
            print(f"| {label} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
