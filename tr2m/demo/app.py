"""The Gradio page of ``tools/demo.py``: one image (depth, scale and shift maps, point cloud,
downloads) and the caption sweep. The work is :mod:`tr2m.demo.handlers`'; this module only lays
out the page and turns a user mistake into a message on it."""
import os.path as osp
import tempfile
from typing import Optional

from torch import nn

from tr2m.demo.handlers import DEFAULT_FOV, SWEEP_CAPTIONS, predict, sweep, sweep_table
from tr2m.utils.errors import UserError

#: Text above the inputs.
INTRO = ('Upload an image, describe it (or let the captioner write the caption), and see its '
         'metric depth: the depth with a colour bar in metres, the scale map A and shift map B '
         'of `D = 1 / (A * Dr + B)`, a point cloud, and the files to download. The caption '
         'sweep shows the same image under several captions on one colour scale.')


def _error(err: Exception) -> str:
    return f'**Error:** {err}'


def build_app(model: nn.Module, note: str, captioner: str, work_dir: Optional[str] = None):
    """The page (a ``gr.Blocks``) for ``model``; ``note`` says which model runs (and whether it
    is the offline demo model), ``captioner`` is the preset of "let the captioner write one"."""
    import gradio as gr

    work_dir = work_dir or tempfile.mkdtemp(prefix='tr2m_demo_')
    counter = {'n': 0}

    def run(image, caption, auto, rel, fx, fy, cx, cy, fov, yaw):
        counter['n'] += 1
        out_dir = osp.join(work_dir, f'run_{counter["n"]:04d}')
        try:
            out = predict(model, image, caption, out_dir, auto_caption=auto, captioner=captioner,
                          rel_path=rel, intrinsics=[fx or 0, fy or 0, cx or 0, cy or 0],
                          fov_deg=fov, yaw_deg=yaw)
        except (UserError, ValueError, FileNotFoundError) as err:
            return _error(err), None, None, None
        return out['status'], out['panels'], out['cloud'], out['files']

    def run_sweep(image, captions, rel):
        try:
            out = sweep(model, image, (captions or '').splitlines(), rel)
        except (UserError, ValueError, FileNotFoundError) as err:
            return _error(err), None, ''
        return out['status'], out['figure'], sweep_table(out['rows'], out['units'])

    with gr.Blocks(title='tr2m demo') as app:
        gr.Markdown('# tr2m: metric depth from an image and its caption')
        gr.Markdown(f'**Model:** {note}', elem_id='model-note')
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                image = gr.File(label='image (PNG, JPEG, ...)', elem_id='image-file')
                caption = gr.Textbox(label='caption', lines=2, elem_id='caption',
                                     placeholder='A small kitchen with a table and two chairs.')
                auto = gr.Checkbox(label=f'let the captioner write one ({captioner})',
                                   elem_id='auto-caption')
                rel = gr.File(label='relative depth (optional: .npy or 16-bit .png of the '
                              "image's size, replaces the model's relative-depth network)",
                              elem_id='rel-file')
                with gr.Accordion('camera (point cloud)', open=False):
                    gr.Markdown('Intrinsics in pixels; 0 = guess them from the field of view.')
                    with gr.Row():
                        fx, fy = gr.Number(0, label='fx'), gr.Number(0, label='fy')
                        cx, cy = gr.Number(0, label='cx'), gr.Number(0, label='cy')
                    fov = gr.Slider(20, 120, value=DEFAULT_FOV, step=1,
                                    label='horizontal field of view (degrees)')
                    yaw = gr.Slider(-90, 90, value=30, step=5, label='point cloud view (yaw)')
                button = gr.Button('Predict depth', variant='primary', elem_id='run')
            with gr.Column(scale=2):
                status = gr.Markdown('Upload an image and press "Predict depth".',
                                     elem_id='status')
                panels = gr.Image(label='image | depth (m) | scale A | shift B', format='png',
                                  interactive=False, elem_id='panels')
                cloud = gr.Image(label='point cloud', format='png', interactive=False,
                                 elem_id='cloud')
                files = gr.File(label='downloads: depth .npy, 16-bit .png (mm), .ply',
                                file_count='multiple', interactive=False, elem_id='downloads')
        button.click(run, [image, caption, auto, rel, fx, fy, cx, cy, fov, yaw],
                     [status, panels, cloud, files])
        with gr.Accordion('caption sweep: how the language moves the scale', open=True):
            captions = gr.Textbox('\n'.join(SWEEP_CAPTIONS), lines=4, elem_id='sweep-captions',
                                  label='captions, one per line (same image, same colour scale)')
            sweep_button = gr.Button('Sweep captions', elem_id='sweep')
            sweep_status = gr.Markdown('', elem_id='sweep-status')
            sweep_image = gr.Image(label='one image, several captions', format='png',
                                   interactive=False, elem_id='sweep-image')
            sweep_rows = gr.Markdown('', elem_id='sweep-table')
        sweep_button.click(run_sweep, [image, captions, rel], [sweep_status, sweep_image,
                                                               sweep_rows])
    return app


__all__ = ['INTRO', 'build_app']
