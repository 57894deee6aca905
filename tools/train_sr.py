"""Train litecam's super-resolution models on one CPU thread (PyTorch; train-time only).

    python -m tools.train_sr --model xlsr --scale 2 --minutes 80 --out runs/xlsr_x2
    python -m tools.train_sr --model xlsr --scale 2 --out runs/xlsr_x2 --resume
    python -m tools.train_sr --model xlsr --scale 3 --minutes 10 --out runs/xlsr_x3 \
        --init-from runs/xlsr_x2/last.pt
    python -m tools.train_sr --model litesr --lite-channels 6 --lite-blocks 3 --out runs/litesr_c6 \
        --init-from runs/litesr_c5/last.pt   # a narrower LiteSR is widened: it starts as that model

Data: ``../shared/data/sr/train`` (T91 + BSDS200; ``--data`` overrides).  LR images are made once with
MATLAB-compatible bicubic (``tools.sr_data.imresize``, rounded to uint8) and kept in memory.  Each step
samples ``--batch`` random LR patches of one size drawn from [``--patch-min``, ``--patch-max``] (and
the matching HR patches), with random flips and 90° rotations.  Charbonnier loss, Adam, one-cycle LR
(cosine warm-up to ``--lr`` over the first ``--warmup`` fraction, cosine decay to lr/1000).

The schedule is a pure function of the step and ``total_steps``.  With ``--steps`` given it is used as
is; otherwise the first ``--calib-steps`` steps are timed and ``total_steps`` is sized so that the run
fills ``--minutes``.  ``total_steps`` is stored in the checkpoint, so ``--resume`` continues the same
schedule.  Checkpoints (model, optimizer, schedule, step, every RNG state) go to ``OUT/last.pt`` every
``--ckpt-minutes`` and at the end; Set5 validation PSNR-Y is logged every ``--val-minutes`` to
``OUT/log.txt``.  One CPU thread (``torch.set_num_threads(1)``); ``--device cuda`` runs the network
on a GPU instead (patches are still cut on the CPU; checkpoints are saved with CPU tensors).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from tools.sr_data import degrade, list_images, load_rgb, psnr_y, shared_data_dir  # noqa: E402
from tools.sr_models import build_model, count_params  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def log(out: Path, msg: str) -> None:
    line = f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} {msg}"
    print(line, flush=True)
    with open(out / "log.txt", "a") as f:
        f.write(line + "\n")


def load_pairs(folder: Path, scale: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(HR uint8, LR uint8) for every image under ``folder`` (standard degradation)."""
    pairs = []
    for p in list_images(folder):
        hr, lr = degrade(load_rgb(p), scale)
        pairs.append((hr, lr))
    return pairs


def load_cached_pairs(path: Path, scale: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(HR uint8, LR uint8) crops from a ``tools.sr_degrade`` cache, checked to be at ``scale``."""
    cache = np.load(path)
    hr, lr = cache["hr"], cache["lr"]
    if hr.shape[1] != lr.shape[1] * scale:
        raise SystemExit(f"{path} holds x{hr.shape[1] / lr.shape[1]:g} pairs, not x{scale}")
    return list(zip(hr, lr))


class PatchSampler:
    """Random aligned LR/HR patch batches with flips and 90° rotations, from in-memory images."""

    def __init__(self, pairs, scale: int, rng: np.random.Generator, teacher: list[np.ndarray] | None = None):
        self.pairs = pairs
        self.teacher = teacher
        self.scale = scale
        self.rng = rng
        areas = np.array([lr.shape[0] * lr.shape[1] for _, lr in pairs], dtype=np.float64)
        self.prob = areas / areas.sum()  # sample images by area: every LR pixel equally likely

    def batch(self, n: int, p: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """LR, HR and (with a teacher) the teacher's patches, as float N×3×h×w in [0, 1]."""
        s = self.scale
        lrs = np.empty((n, p, p, 3), np.uint8)
        hrs = np.empty((n, p * s, p * s, 3), np.uint8)
        tes = np.empty((n, p * s, p * s, 3), np.float32) if self.teacher else None
        idx = self.rng.choice(len(self.pairs), size=n, p=self.prob)
        for i, k in enumerate(idx):
            while min(self.pairs[k][1].shape[:2]) < p:  # a few T91 images are smaller than the largest patch
                k = int(self.rng.choice(len(self.pairs), p=self.prob))
            hr, lr = self.pairs[k]
            y = int(self.rng.integers(0, lr.shape[0] - p + 1))
            x = int(self.rng.integers(0, lr.shape[1] - p + 1))
            crops = [lr[y : y + p, x : x + p], hr[y * s : (y + p) * s, x * s : (x + p) * s]]
            if tes is not None:
                assert self.teacher is not None  # tes exists only with a teacher
                crops.append(self.teacher[k][y * s : (y + p) * s, x * s : (x + p) * s])
            t = int(self.rng.integers(0, 8))
            if t & 1:
                crops = [c[:, ::-1] for c in crops]
            if t & 2:
                crops = [c[::-1] for c in crops]
            if t & 4:
                crops = [c.transpose(1, 0, 2) for c in crops]
            lrs[i], hrs[i] = crops[0], crops[1]
            if tes is not None:
                tes[i] = crops[2]
        to_t = lambda z: torch.from_numpy(z).permute(0, 3, 1, 2).float().div_(255.0)  # noqa: E731
        te_t = torch.from_numpy(tes).permute(0, 3, 1, 2).contiguous() if tes is not None else None
        return to_t(lrs), to_t(hrs), te_t


def charbonnier(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    return torch.sqrt((x - y) ** 2 + eps * eps).mean()


def one_cycle_lr(step: int, total: int, max_lr: float, warmup: float) -> float:
    """Cosine warm-up from max_lr/25 to max_lr over warmup·total steps, then cosine to max_lr/1000."""
    total = max(total, 1)
    w = max(int(total * warmup), 1)
    lo, end = max_lr / 25.0, max_lr / 1000.0
    if step < w:
        return lo + (max_lr - lo) * 0.5 * (1 - math.cos(math.pi * step / w))
    t = min((step - w) / max(total - w, 1), 1.0)
    return end + (max_lr - end) * 0.5 * (1 + math.cos(math.pi * t))


@torch.no_grad()
def validate(model, val_pairs, scale: int, device: str = "cpu") -> float:
    model.eval()
    scores = []
    for hr, lr in val_pairs:
        x = torch.from_numpy(lr).permute(2, 0, 1)[None].float().div_(255.0).to(device)
        y = model(x)[0].permute(1, 2, 0).cpu().numpy()
        sr = np.clip(np.round(y * 255.0), 0, 255).astype(np.uint8)
        scores.append(psnr_y(sr, hr, scale))
    model.train()
    return float(np.mean(scores))


def rng_states(np_rng: np.random.Generator) -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np_rng.bit_generator.state, "python": random.getstate()}


def set_rng_states(st: dict, np_rng: np.random.Generator) -> None:
    torch.set_rng_state(st["torch"])
    np_rng.bit_generator.state = st["numpy"]
    random.setstate(st["python"])


def save_ckpt(path: Path, model, opt, sched: dict, step: int, np_rng, args, extra: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": {k: v.cpu() for k, v in model.state_dict().items()},
            "optimizer": opt.state_dict(),
            "schedule": sched,
            "step": step,
            "rng": rng_states(np_rng),
            "args": vars(args),
            "model_name": args.model,
            "scale": args.scale,
            "model_kwargs": model_kwargs(args),
            **extra,
        },
        tmp,
    )
    os.replace(tmp, path)


def model_kwargs(args) -> dict:
    if args.model == "litesr":
        return {"channels": args.lite_channels, "blocks": args.lite_blocks, "rep": args.lite_rep}
    return {"config": args.esrt_config} if args.model == "esrt" else {}


@torch.no_grad()
def teacher_outputs(ckpt: Path, pairs, scale: int) -> list[np.ndarray]:
    """The teacher checkpoint's output (float32 HR-sized RGB in [0, 1]) for every training LR image,
    computed once, so distillation costs no teacher pass per step."""
    ck = torch.load(ckpt, map_location="cpu", weights_only=False)
    if ck["scale"] != scale:
        raise SystemExit(f"teacher {ckpt} is x{ck['scale']}, not x{scale}")
    teacher = build_model(ck["model_name"], scale, **ck.get("model_kwargs", {}))
    teacher.load_state_dict(ck["model"])
    teacher.eval()
    outs = []
    for _, lr in pairs:
        x = torch.from_numpy(lr).permute(2, 0, 1)[None].float().div_(255.0)
        outs.append(teacher(x)[0].permute(1, 2, 0).contiguous().numpy())
    return outs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=["xlsr", "esrt", "litesr"], required=True)
    ap.add_argument("--scale", type=int, choices=[1, 2, 3], required=True)
    ap.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget for this run")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    ap.add_argument("--data", type=Path, default=None, help="default: ../shared/data/sr/train")
    ap.add_argument(
        "--pairs",
        type=Path,
        default=None,
        help="train on a cache of realistically degraded (HR, LR) crops written by tools.sr_degrade "
        "instead of bicubic-degraded --data",
    )
    ap.add_argument("--val", type=Path, default=None, help="default: ../shared/data/sr/eval/Set5")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--patch-min", type=int, default=32)
    ap.add_argument("--patch-max", type=int, default=48)
    ap.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    ap.add_argument("--warmup", type=float, default=0.05)
    ap.add_argument(
        "--steps",
        type=int,
        default=0,
        help="total steps (0: size from --minutes); with --resume, resizes the stored schedule",
    )
    ap.add_argument("--calib-steps", type=int, default=60, help="steps timed to size the schedule (at least 1)")
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--val-minutes", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--esrt-config", default="litecam")
    ap.add_argument("--lite-channels", type=int, default=8)
    ap.add_argument("--lite-blocks", type=int, default=1)
    ap.add_argument(
        "--lite-rep",
        action="store_true",
        help="train each LiteSR conv as re-parameterisable branches (fused at export)",
    )
    ap.add_argument(
        "--teacher",
        type=Path,
        default=None,
        help="distil: a checkpoint (e.g. tools/checkpoints/xlsr_x2.pt) whose outputs are a second "
        "target, weighted --teacher-weight (the ground truth keeps weight 1)",
    )
    ap.add_argument("--teacher-weight", type=float, default=0.5)
    ap.add_argument(
        "--bf16",
        action="store_true",
        help="forward pass under bfloat16 autocast (weights, loss and optimizer stay float32): "
        "several times faster where the CPU has AMX-BF16; validation and export stay float32",
    )
    ap.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="where the network trains: cpu (one thread) or cuda (a GPU; the patch sampler stays on the CPU)",
    )
    ap.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="start from another checkpoint's weights where names and shapes match "
        "(e.g. XLSR x3 from XLSR x2: all but the output conv)",
    )
    args = ap.parse_args(argv)
    if args.calib_steps < 1:
        ap.error("--calib-steps must be at least 1")

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    data_root = shared_data_dir(REPO)
    train_dir = args.data or data_root / "sr" / "train"
    val_dir = args.val or data_root / "sr" / "eval" / "Set5"
    if args.pairs is None and not train_dir.is_dir():
        print(f"training data not found: {train_dir}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt_path = args.out / "last.pt"

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    np_rng = np.random.default_rng(args.seed)

    t0 = time.time()
    pairs = load_cached_pairs(args.pairs, args.scale) if args.pairs else load_pairs(train_dir, args.scale)
    val_pairs = load_pairs(val_dir, args.scale) if val_dir.is_dir() else []
    model = build_model(args.model, args.scale, **model_kwargs(args))
    if args.init_from and not args.resume:
        src = torch.load(args.init_from, map_location="cpu", weights_only=False)["model"]
        if getattr(model, "rep", False) and not any(".k3." in k for k in src):
            model.start_from_plain(src)  # a trained plain LiteSR: the same function, extra branches at zero
            print(f"initialised from the plain LiteSR {args.init_from} (re-parameterised branches at zero)", flush=True)
        elif args.model == "litesr" and src["body.0.weight"].shape[0] < model.channels:
            model.widen_from(src)  # a narrower trained LiteSR: the same function, new channels silent
            print(f"widened the LiteSR {args.init_from} to {model.channels} channels (same function)", flush=True)
        else:
            own = model.state_dict()
            same = {k: v for k, v in src.items() if k in own and own[k].shape == v.shape}
            own.update(same)
            model.load_state_dict(own)
            print(
                f"initialised {len(same)}/{len(own)} tensors from {args.init_from}; fresh: "
                f"{sorted(set(own) - set(same))}",
                flush=True,
            )
    # channels_last: ~25% faster convs on one CPU thread
    model = model.to(device=args.device, memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999))
    sched = {"total_steps": args.steps, "max_lr": args.lr, "warmup": args.warmup}
    step = 0
    trained_s = 0.0
    if args.resume:
        ck = torch.load(ckpt_path, map_location=args.device, weights_only=False)
        model.load_state_dict(ck["model"])
        if "optimizer" in ck:
            opt.load_state_dict(ck["optimizer"])
        else:  # a checkpoint committed without its Adam moments (to keep the repository small)
            log(args.out, "checkpoint has no optimizer state: Adam moments start fresh")
        sched = ck["schedule"]
        step = ck["step"]
        trained_s = ck.get("trained_s", 0.0)
        set_rng_states(ck["rng"], np_rng)
        log(args.out, f"resumed at step {step}/{sched['total_steps']} ({trained_s / 60:.1f} min trained)")
        if args.steps and args.steps != sched["total_steps"]:
            # e.g. the machine got busier than at calibration: shorten (or lengthen) the remaining
            # one-cycle decay; the LR continues from the new schedule's value at this step
            log(args.out, f"schedule resized: total_steps {sched['total_steps']} -> {args.steps}")
            sched["total_steps"] = args.steps
    teacher = teacher_outputs(args.teacher, pairs, args.scale) if args.teacher else None
    sampler = PatchSampler(pairs, args.scale, np_rng, teacher)
    log(
        args.out,
        f"{args.model} x{args.scale}: {count_params(model):,} params; {len(pairs)} train images "
        f"loaded + degraded in {time.time() - t0:.1f}s; args {json.dumps(vars(args), default=str)}",
    )

    def do_step(s: int) -> float:
        p = int(np_rng.integers(args.patch_min, args.patch_max + 1))
        lr_b, hr_b, teacher_b = sampler.batch(args.batch, p)
        lr_now = one_cycle_lr(s, sched["total_steps"] or 10**9, sched["max_lr"], sched["warmup"])
        for g in opt.param_groups:
            g["lr"] = lr_now
        lr_b = lr_b.to(args.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        hr_b = hr_b.to(args.device, non_blocking=True)
        if teacher_b is not None:
            teacher_b = teacher_b.to(args.device, non_blocking=True)
        with torch.autocast(torch.device(args.device).type, dtype=torch.bfloat16, enabled=args.bf16):
            sr_b = model(lr_b)
        sr_b = sr_b.float()
        loss = charbonnier(sr_b, hr_b)
        if teacher_b is not None:
            loss = loss + args.teacher_weight * charbonnier(sr_b, teacher_b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())

    start = time.time()
    budget_s = args.minutes * 60.0
    if not sched["total_steps"]:
        # time a few steps (they are real training steps, on the warm-up's starting LR) and size the
        # schedule to the budget; the first third is left out of the timing: it pays for allocator and
        # kernel warm-up (on a GPU it made the steps look three times slower than they were)
        untimed = args.calib_steps // 3
        tc = time.time()
        for i in range(args.calib_steps):
            if i == untimed:
                tc = time.time()
            do_step(step)
            step += 1
        per_step = (time.time() - tc) / (args.calib_steps - untimed)
        remaining = budget_s - (time.time() - start) - 60.0  # leave a minute for validation/saving
        n_val = max(remaining / (args.val_minutes * 60.0), 1)
        val_cost = 20.0 if args.model == "esrt" else 3.0
        sched["total_steps"] = step + max(int((remaining - n_val * val_cost) / per_step), 1)
        log(args.out, f"calibration: {per_step * 1000:.1f} ms/step -> total_steps {sched['total_steps']}")

    last_ckpt = last_val = time.time()
    seg_start = time.time()
    losses = []
    best = -1.0
    while step < sched["total_steps"]:
        losses.append(do_step(step))
        step += 1
        now = time.time()
        if now - last_val >= args.val_minutes * 60.0 and val_pairs:
            v = validate(model, val_pairs, args.scale, args.device)
            best = max(best, v)
            lr_now = one_cycle_lr(step, sched["total_steps"], sched["max_lr"], sched["warmup"])
            log(
                args.out,
                f"step {step}/{sched['total_steps']} loss {np.mean(losses):.5f} lr {lr_now:.2e} "
                f"Set5 x{args.scale} PSNR-Y {v:.3f} dB ({(now - seg_start) / 60 + trained_s / 60:.1f} min)",
            )
            losses = []
            last_val = time.time()
        if now - last_ckpt >= args.ckpt_minutes * 60.0:
            save_ckpt(ckpt_path, model, opt, sched, step, np_rng, args, {"trained_s": trained_s + now - seg_start})
            last_ckpt = time.time()
        if now - start > budget_s * 1.05 + 120:
            log(args.out, f"wall-clock budget exceeded at step {step}; stopping early (resume to finish)")
            break
    trained_s += time.time() - seg_start
    save_ckpt(ckpt_path, model, opt, sched, step, np_rng, args, {"trained_s": trained_s})
    v = validate(model, val_pairs, args.scale, args.device) if val_pairs else float("nan")
    log(
        args.out,
        f"done: step {step}/{sched['total_steps']}, trained {trained_s / 60:.1f} min; "
        f"final Set5 x{args.scale} PSNR-Y {v:.3f} dB; checkpoint {ckpt_path}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
