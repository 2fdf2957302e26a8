"""tr2m: relative monocular depth to metric depth with language and images."""
import sys

from .utils.import_hooks import after_import
from .version import __version__

# Checkpoints written by mmengine hold a few non-tensor objects (HistoryBuffer, numpy arrays);
# allowlist exactly those so they load with torch.load(weights_only=True). Done when torch and
# mmengine are imported (at once if they already are), so `import tr2m` itself stays cheap: a
# tool's --help and its argument errors answer before torch is loaded.
after_import('torch', lambda: __import__('tr2m.utils.checkpoint'))  # it allowlists on import
after_import('mmengine.logging', lambda: 'torch' in sys.modules and __import__(
    'tr2m.utils.checkpoint', fromlist=['_']).allow_history_buffer())  # else: when torch comes
after_import('mmengine.runner.checkpoint', lambda: __import__(
    'tr2m.utils.checkpoint', fromlist=['_']).register_checkpoint_loader())

__all__ = ['__version__']
