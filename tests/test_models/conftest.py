"""Model tests register every component first (the batch builder is in the root conftest.py)."""
from tr2m.utils import register_all_modules

register_all_modules()
