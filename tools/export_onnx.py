"""Export a super-resolution checkpoint to ONNX (opset 17, dynamic H×W) and check it (train-time tool).

    python -m tools.export_onnx runs/xlsr_x2/last.pt pipeline/models/xlsr_x2.onnx
    python -m tools.export_onnx runs/xlsr_x2/last.pt pipeline/models/xlsr_x2.onnx \\
        --int8 pipeline/models/xlsr_x2_int8.onnx
    python -m tools.export_onnx --random esrt:2 /tmp/esrt_rand.onnx      # architecture check only
    python -m tools.export_onnx runs/litesr_x2/last.pt pipeline/models/litesr_x2.onnx

The ONNX model takes ``lr``: float32 N×3×H×W RGB in [0, 1] (N, H, W dynamic) and returns ``sr``:
float32 N×3×(H·s)×(W·s) in [0, 1].  XLSR is written in its deploy arrangement (``sr_models.XLSRDeploy``:
fused heads, no concat, output conv padded to 8k channels; same function).  After export, ONNX Runtime
(CPU provider) is compared with the PyTorch training graph on a few input sizes; the tool exits non-zero if the
max abs error exceeds ``--tol`` (1e-4).

LiteSR also gets its weights written beside the ONNX file as ``<name>.npz`` (``w0``, ``b0``, ``w1``, …,
first layer first, float32): the runtime's fused Numba kernel (``kernels.litesr``) reads those, and the
tool checks that kernel against PyTorch on uint8 frames (at most 1 level apart: rounding).

``--int8`` also writes a statically quantised copy (``onnxruntime.quantization.quantize_static``, QDQ
format, uint8 activations and per-channel weights, percentile ranges, first/last convs in float; see
:func:`quantize`) calibrated on ``--calib-n`` random LR
patches from the training set, and reports its max abs difference from fp32 on the check inputs.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from tools.sr_models import XLSR, LiteSR, XLSRDeploy, build_model, count_params  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CHECK_SIZES = [(1, 37, 53), (2, 64, 48), (1, 90, 160)]


def load_checkpoint(path: Path) -> tuple[torch.nn.Module, dict]:
    ck = torch.load(path, map_location="cpu", weights_only=False)
    model = build_model(ck["model_name"], ck["scale"], **ck.get("model_kwargs", {}))
    model.load_state_dict(ck["model"])
    model.eval()
    return model, ck


def export(model: torch.nn.Module, out: Path, opset: int = 17) -> None:
    """Write ``model`` as ONNX; XLSR is exported as its :class:`XLSRDeploy` rearrangement (same
    function, faster in ONNX Runtime), which :func:`verify` then checks against the training graph."""
    out.parent.mkdir(parents=True, exist_ok=True)
    model = model.to(memory_format=torch.contiguous_format).eval()
    if isinstance(model, XLSR):
        model = XLSRDeploy(model).eval()
    if isinstance(model, LiteSR) and model.rep:
        model = model.deploy()
    dummy = torch.rand(1, 3, 64, 64)
    torch.onnx.export(
        model,
        (dummy,),
        str(out),
        opset_version=opset,
        input_names=["lr"],
        output_names=["sr"],
        dynamic_axes={"lr": {0: "n", 2: "h", 3: "w"}, "sr": {0: "n", 2: "h_out", 3: "w_out"}},
        do_constant_folding=True,
        dynamo=False,
    )
    import onnx

    m = onnx.load(str(out))
    onnx.checker.check_model(m)


def lite_layers(model: LiteSR) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """LiteSR's conv weights and biases (branches fused), first layer first (the order
    `kernels.litesr` runs them)."""
    layers = model.layers()
    return ([w.numpy().astype(np.float32) for w, _ in layers], [b.numpy().astype(np.float32) for _, b in layers])


def write_lite_weights(model: LiteSR, onnx_path: Path) -> Path:
    """Write ``<onnx_path stem>.npz`` (w0, b0, w1, b1, …) for the runtime's Numba kernel."""
    weights, biases = lite_layers(model)
    out = onnx_path.with_suffix(".npz")
    arrays = {}
    for i, (w, b) in enumerate(zip(weights, biases)):
        arrays[f"w{i}"], arrays[f"b{i}"] = w, b
    np.savez(out, **arrays)
    return out


def verify_lite_kernel(model: LiteSR, npz: Path) -> int:
    """Max |kernel − PyTorch| in uint8 levels on random smooth frames (the runtime path: OpenCV bicubic
    plus the fused kernel); raises above 1 (rounding of the bicubic picture before the detail is added)."""
    import cv2

    from kernels.litesr import LiteSRKernel

    kernel = LiteSRKernel.from_npz(npz, model.scale)
    s = model.scale
    rng = np.random.default_rng(0)
    worst = 0
    for _, h, w in CHECK_SIZES:
        bgr = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (5, 5), 1.5)
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(bgr[..., ::-1])).permute(2, 0, 1)[None].float() / 255
            ref = model(x)[0].permute(1, 2, 0).numpy()[..., ::-1]
        ref8 = np.clip(np.round(ref * 255), 0, 255).astype(np.int16)
        out = cv2.resize(bgr, (w * s, h * s), interpolation=cv2.INTER_CUBIC)
        kernel.add_detail(bgr, out)
        worst = max(worst, int(np.abs(out.astype(np.int16) - ref8).max()))
    if worst > 1:
        raise SystemExit(f"FAIL: the Numba kernel with {npz} is {worst} levels from PyTorch (> 1)")
    return worst


def ort_session(path: Path, threads: int = 1):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def verify(model: torch.nn.Module, onnx_path: Path, tol: float, seed: int = 0) -> float:
    """Max abs error ONNX Runtime vs PyTorch over CHECK_SIZES; raises if > tol or shapes differ."""
    sess = ort_session(onnx_path)
    g = torch.Generator().manual_seed(seed)
    worst = 0.0
    for n, h, w in CHECK_SIZES:
        x = torch.rand(n, 3, h, w, generator=g)
        with torch.no_grad():
            ref = model(x).numpy()
        got = sess.run(["sr"], {"lr": x.numpy()})[0]
        if got.shape != ref.shape:
            raise SystemExit(f"FAIL: {onnx_path}: shape {got.shape} != PyTorch {ref.shape} for input {x.shape}")
        err = float(np.abs(got - ref).max())
        print(f"  {n}x3x{h}x{w} -> {tuple(got.shape)}: max |ORT - torch| = {err:.2e}")
        worst = max(worst, err)
    if worst > tol:
        raise SystemExit(f"FAIL: {onnx_path}: max abs error {worst:.2e} > {tol:.0e}")
    return worst


def calibration_patches(scale: int, n: int, size: int = 48, seed: int = 0) -> list[np.ndarray]:
    """``n`` random LR patches (1×3×size×size float32 in [0, 1]) from the training set."""
    from tools.sr_data import degrade, list_images, load_rgb, shared_data_dir

    files = list_images(shared_data_dir(REPO) / "sr" / "train")
    if not files:
        raise SystemExit("no training images for calibration under ../shared/data/sr/train")
    rng = np.random.default_rng(seed)
    cache: dict[int, np.ndarray] = {}
    out: list[np.ndarray] = []
    while len(out) < n:
        k = int(rng.integers(len(files)))
        if k not in cache:
            cache[k] = degrade(load_rgb(files[k]), scale)[1]
        lr = cache[k]
        if min(lr.shape[:2]) < size:  # a few T91 images are smaller than a patch
            continue
        y = int(rng.integers(0, lr.shape[0] - size + 1))
        x = int(rng.integers(0, lr.shape[1] - size + 1))
        p = lr[y : y + size, x : x + size].astype(np.float32) / 255.0
        out.append(np.ascontiguousarray(p.transpose(2, 0, 1)[None]))
    return out


def _first_and_last_convs(path: Path) -> list[str]:
    """Names of the convs that read the input ``lr`` and of the last conv (kept in float)."""
    import onnx

    convs = [n for n in onnx.load(str(path)).graph.node if n.op_type == "Conv"]
    keep = [n.name for n in convs if n.input[0] == "lr"]
    return keep + [convs[-1].name]


def quantize(fp32_path: Path, int8_path: Path, scale: int, n: int) -> list[str]:
    """Static INT8 quantisation, QDQ format.

    uint8 activations and uint8 per-channel weights (U8U8: ORT's u8s8 kernels can saturate on AVX2 CPUs
    without VNNI, which cost 5 dB here), activation ranges from the 99.999th percentile of ``n``
    training LR patches, and the convs reading the input and the output conv left in float (first/last
    layers are the most sensitive).  On XLSR ×2 these choices took the INT8 loss on Set5 from -5.1 dB
    (defaults) to -0.18 dB.  Returns the names of the convs left in float.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    patches = calibration_patches(scale, n)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(patches)

        def get_next(self):
            p = next(self.it, None)
            return None if p is None else {"lr": p}

    pre = int8_path.with_suffix(".pre.onnx")
    quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
    keep_float = _first_and_last_convs(pre)
    try:
        quantize_static(
            str(pre),
            str(int8_path),
            Reader(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QUInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.Percentile,
            extra_options={"CalibPercentile": 99.999},
            nodes_to_exclude=keep_float,
        )
    finally:
        pre.unlink(missing_ok=True)
    return keep_float


def compare_int8(fp32_path: Path, int8_path: Path, scale: int) -> None:
    a, b = ort_session(fp32_path), ort_session(int8_path)
    for p in calibration_patches(scale, 4, size=64, seed=123):
        ya = a.run(["sr"], {"lr": p})[0]
        yb = b.run(["sr"], {"lr": p})[0]
        d = np.abs(ya - yb)
        print(
            f"  int8 vs fp32 on a 64x64 training patch: max {d.max():.4f}, mean {d.mean():.5f} "
            f"(PSNR {10 * np.log10(1.0 / max(float(np.mean((ya - yb) ** 2)), 1e-12)):.1f} dB)"
        )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", nargs="?", type=Path, help="train_sr.py checkpoint (OUT/last.pt)")
    ap.add_argument("out", type=Path, help="ONNX file to write")
    ap.add_argument("--random", metavar="MODEL:SCALE", help="export a random-init model instead (check only)")
    ap.add_argument("--esrt-config", default="litecam")
    ap.add_argument("--int8", type=Path, help="also write a static INT8 (QDQ) model here")
    ap.add_argument("--calib-n", type=int, default=100)
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    if args.random:
        name, s = args.random.split(":")
        torch.manual_seed(0)
        kw = {"config": args.esrt_config} if name == "esrt" else {}
        model, scale = build_model(name, int(s), **kw).eval(), int(s)
        desc = f"random-init {name} x{scale}"
    else:
        if args.checkpoint is None:
            ap.error("give a checkpoint or --random")
        model, ck = load_checkpoint(args.checkpoint)
        scale = ck["scale"]
        desc = f"{ck['model_name']} x{scale} from {args.checkpoint} (step {ck['step']})"
    print(f"exporting {desc}: {count_params(model):,} params -> {args.out}")
    export(model, args.out)
    err = verify(model, args.out, args.tol)
    print(
        f"OK: ONNX Runtime matches PyTorch (max abs error {err:.2e} <= {args.tol:.0e}); "
        f"{args.out.stat().st_size / 1024:.0f} KiB"
    )
    if isinstance(model, LiteSR):
        npz = write_lite_weights(model, args.out)
        print(f"wrote {npz}; the Numba kernel matches PyTorch within {verify_lite_kernel(model, npz)} level(s)")
    if args.int8:
        kept = quantize(args.out, args.int8, scale, args.calib_n)
        print(
            f"wrote {args.int8} ({args.int8.stat().st_size / 1024:.0f} KiB), calibrated on {args.calib_n} "
            f"training LR patches; left in float: {kept}"
        )
        compare_int8(args.out, args.int8, scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
