"""The effect chain a run's `Settings` ask for, shared by the CLI commands, `litecam batch` workers
and the benchmarks: restore (when on) → light (when auto) → segment → matte (when on) → background →
autoframe (when on) → upscale (when `scale` > 1, or auto-framing: it enlarges the crop)."""

from __future__ import annotations

from pipeline.settings import Settings

LOOKAHEAD_S = 0.5
"""Offline auto-framing smooths each frame's framing over this much of the frames after it."""


def picture_stages(settings: Settings, *, offline: bool = False) -> list:
    """The stages that correct the input picture before segmentation: [restore (when on), light (when
    auto)]. offline: a missing restore model is an error."""
    stages: list = []
    if settings.restore:
        from pipeline.stages.restore import Restore

        stages.append(Restore(model=settings.restore_model, strict=offline))
    if settings.light == "auto":
        from pipeline.stages.light import Light

        stages.append(Light())
    return stages


def make_effects(settings: Settings, keep_alpha: bool = False, *, offline: bool = False):
    """([*picture_stages, segment, matte (when on), background, autoframe (when on)], background).
    offline: the auto-framing looks ahead `LOOKAHEAD_S` (the whole file is there)."""
    from pipeline.stages.background import Background
    from pipeline.stages.matte import matte_for
    from pipeline.stages.segment import Segment

    segment = Segment(settings.segmenter, roi=settings.roi, people=settings.people, mask_reuse=settings.mask_reuse)
    background = Background(
        settings.background,
        edge_lo=settings.edge_low,
        edge_hi=settings.edge_high,
        keep_alpha=keep_alpha,
        no_bleed=settings.no_bleed,
        light_wrap=settings.light_wrap,
        light_wrap_px=settings.light_wrap_px,
    )
    matte = matte_for(settings)
    stages = [segment, *([matte] if matte else []), background]
    stages[:0] = picture_stages(settings, offline=offline)
    if settings.autoframe:
        from pipeline.stages.autoframe import AutoFrame, Framing

        lookahead = round(LOOKAHEAD_S * float(settings.fps)) if offline else 0
        stages.append(AutoFrame(Framing.from_settings(settings), lookahead=lookahead))
    return stages, background


def make_upscale(settings: Settings, *, strict: bool) -> list:
    """[] for scale 1 without auto-framing, else [Upscale] (strict: offline, a missing model is an
    error, not bicubic).
    Live (not strict) with a replaced background and `sr_person_only`, the network runs on the
    person's box only: the rest is blurred or replaced, where bicubic shows no difference."""
    if settings.scale == 1 and not settings.autoframe:
        return []
    from pipeline.stages.upscale.stage import Upscale

    person_only = not strict and settings.sr_person_only and settings.background != "none"
    return [
        Upscale(
            settings.scale,
            settings.sr_model,
            strict=strict,
            engine=settings.sr_engine,
            person_only=person_only,
            detail_check=settings.sr_detail == "checked",
        )
    ]


def offline_stages(settings: Settings) -> list:
    """Every stage of an offline transcode (best tiers, a missing SR model is an error)."""
    return [*make_effects(settings, offline=True)[0], *make_upscale(settings, strict=True)]
