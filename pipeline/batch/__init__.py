"""`litecam batch`: the offline transcode graph run over many files, or over one long file in
chunks, as tasks on a process pool or a Ray cluster.

- `plan`: which files, where each output goes, and (``--split``) the keyframe-aligned chunks.
- `worker`: one task — the transcode graph over a whole file or over one chunk.
- `join`: a split file's chunk files concatenated (packets copied, not re-encoded) with the
  source's audio, into what a single-process `litecam transcode` writes.
- `backends`: where tasks run — `LocalBackend` (process pool) or `RayBackend`.
- `manifest`: the record of finished and failed work in the output folder (resumable runs).
- `runner`: the driver tying them together, with progress and the final summary.
"""
