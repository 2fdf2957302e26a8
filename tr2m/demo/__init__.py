"""The web demo (``tools/demo.py``, Gradio): upload an image, caption it, see metric depth, the
scale and shift maps, a point cloud and a caption sweep. Gradio is the optional ``demo`` extra
(``pip install -r requirements/demo.txt``); importing this package does not import it."""
from .demo_model import DEMO_CONFIG, DEMO_NOTE, build_demo_model

__all__ = ['DEMO_CONFIG', 'DEMO_NOTE', 'build_demo_model']
