"""Command-line tools as importable modules: each ``tr2m/cli/<tool>.py`` has ``main(argv=None)``
and imports what is heavy inside its functions; ``tools/<tool>.py`` is a thin wrapper."""
