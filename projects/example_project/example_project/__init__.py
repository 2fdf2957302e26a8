"""The template project's package: importing it registers its components into tr2m's
registries (``custom_imports`` in the project's configs does that)."""
from .example_depther import ExampleConvDepther, example_conv_depth

__all__ = ['ExampleConvDepther', 'example_conv_depth']
