"""Media helpers shared by sources, sinks and stages: image files, PyAV errors, V4L2 device nodes."""
