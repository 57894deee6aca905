"""litecam's developer tools: benchmarks, evaluations, SR training and export; run as `python -m tools.NAME`."""
