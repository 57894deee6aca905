"""litecam benchmarks: per-stage ms, CPU-ms per frame, fps, latency, memory — printed, and as JSON.

Run from the repository root as ``python -m tools.bench [MODE] [options]``; every report names the
machine it was taken on (CPU model, ISA features, cores, Python), and `--json PATH` writes it. One
mode per run, one module each:

- (no mode flag) ``effect``: the effect chain per frame, litecam against a naive full-resolution
  baseline — fps, effect CPU-ms per frame, latency ms, per-stage ms; `--repeat N` takes the median
  run, `--overlay` adds the overlay sink's encoding CPU-ms per frame, and the per-kernel table
  (`--no-kernels` skips it).
      python -m tools.bench --repeat 5 --overlay --json out/bench.json
- ``--live``: the deadline scheduler on a paced camera, optionally upscaled and under a CPU load —
  fps, latency ms, tiers over time, recovery seconds after the load; `--plot` a PNG.
      python -m tools.bench --live --size 640x360 --scale 2 --seconds 40 \\
          --load-at 15 --load-seconds 10 --json out/live.json --plot out/live.png
- ``--soak MINUTES``: a long live run — resident-memory growth (MiB), threads, latency p95 drift
  (ms), ring fill against capacity.
      python -m tools.bench --soak 30 --json out/soak.json
- ``--control``: the control page's server — request-to-frame latency of a change (ms) and the CPU a
  polling page costs (CPU-ms per second and per frame).
      python -m tools.bench --control --json out/control.json
- ``--overlay-page``: the overlay page in headless Chromium — the page's frame rate, capture-to-page
  latency (ms) and its parts, the sink's encoding CPU-ms per frame.
      python -m tools.bench --overlay-page --seconds 10 --json out/overlay-page.json
- ``--batch [VIDEO ...]``: `litecam batch` throughput with 1 and 2 pool workers (and on Ray) —
  wall seconds, fps, ratio to transcoding the files one after another.
      python -m tools.bench --batch --batch-ray --json out/batch.json
- ``--upscale [VIDEO]``: `litecam upscale` ×2 of a 640×360 video as a user runs it, per engine,
  against bicubic — wall seconds, fps, CPU seconds, wall-time ratio.
      python -m tools.bench --upscale --upscale-engines auto,openvino-bf16,openvino --repeat 3
  ``--upscale-earlier DIR`` adds an earlier litecam checked out in DIR as the previous behaviour.
- ``--chain VIDEO ...``: the live effect chain on recordings played at their rate, this litecam and a
  baseline (an earlier checkout, or these settings changed) in turns — process and effect CPU-ms per
  frame, per stage, model runs per second, the per-round ratios.
      python -m tools.bench --chain ../shared/data/video/talking_head_410x412.mp4 --chain-earlier DIR

Shared helpers live in ``tools.bench.common``. ``tools.bench.engines`` is the upscaler's inference
engine benchmark, run on its own: ``python -m tools.bench.engines``.
"""
