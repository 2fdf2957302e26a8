"""The ``tr2m`` command (console script ``tr2m = tr2m.cli.main:main``)."""
