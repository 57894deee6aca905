"""The effect chain a run's `Settings` ask for, shared by the CLI commands, `litecam batch` workers
and the benchmarks: segment → matte (when on) → background → upscale (when `scale` > 1)."""
from __future__ import annotations

from pipeline.presets import Settings


def make_effects(settings: Settings, keep_alpha: bool = False):
    """([segment, matte (when on), background], background)."""
    from pipeline.stages.background import Background
    from pipeline.stages.matte import matte_for
    from pipeline.stages.segment import Segment

    segment = Segment(settings.segmenter, roi=settings.roi)
    background = Background(settings.background, edge_lo=settings.edge_low, edge_hi=settings.edge_high,
                            keep_alpha=keep_alpha, no_bleed=settings.no_bleed,
                            light_wrap=settings.light_wrap, light_wrap_px=settings.light_wrap_px)
    matte = matte_for(settings)
    return [segment, *([matte] if matte else []), background], background


def make_upscale(settings: Settings, *, strict: bool) -> list:
    """[] for scale 1, else [Upscale] (strict: offline, a missing model is an error, not bicubic).
    Live (not strict) with a replaced background and `sr_person_only`, the network runs on the
    person's box only: the rest is blurred or replaced, where bicubic shows no difference."""
    if settings.scale == 1:
        return []
    from pipeline.stages.upscale import Upscale

    person_only = not strict and settings.sr_person_only and settings.background != "none"
    return [Upscale(settings.scale, settings.sr_model, strict=strict, engine=settings.sr_engine,
                    person_only=person_only)]


def offline_stages(settings: Settings) -> list:
    """Every stage of an offline transcode (best tiers, a missing SR model is an error)."""
    return [*make_effects(settings)[0], *make_upscale(settings, strict=True)]
