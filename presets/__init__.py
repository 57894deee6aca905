"""The built-in presets: `NAME.toml` files shipped inside the package (read with `importlib.resources`,
so they are found from a wheel install as from a checkout). Loaded and validated by `pipeline.presets`."""
