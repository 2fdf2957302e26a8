"""tr2m: relative monocular depth to metric depth with language and images."""
from .utils.checkpoint import allow_mmengine_checkpoints
from .version import __version__

# Checkpoints written by mmengine hold a few non-tensor objects (HistoryBuffer, numpy arrays);
# allowlist exactly those so they load with torch.load(weights_only=True).
allow_mmengine_checkpoints()

__all__ = ['__version__']
