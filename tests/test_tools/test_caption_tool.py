"""``tools/caption.py`` end to end on real frames: a folder captioned with a toy preset and read
by ``tools/test.py``; kill-and-rerun equals one run; 2 processes equal 1; undecodable images are
skipped and listed; a model that cannot be loaded is one line and exit code 2."""
import json
import os
import subprocess
import sys

import pytest
from dist_tool_utils import REPO, run_script

KITCHEN = [f'frame-{i:06d}' for i in (0, 20, 40, 60)]

#: TR2M at toy width on a DepthFolderDataset (its captions.json is read automatically).
FOLDER_CONFIG = """_base_ = [{base!r}]
model = dict(
    relative_depth=dict(_delete_=True, type='SimulatedRelativeDepth'),
    image_encoder=dict(arch='vit_tiny14', pretrained=None),
    text_encoder=dict(_delete_=True, type='SentenceTextEncoder', arch='bert_tiny',
                      pretrained=None),
    scale_head=dict(channels=8), shift_head=dict(channels=8),
    neck=dict(num_heads=2, head_dim=8),
    soc=dict(projector=dict(hidden_channels=8, out_channels=8)))
_pipeline = [
    dict(type='LoadRGBImage'), dict(type='LoadDepth'),
    dict(type='Resize', scale=(84, 112), keep_ratio=True, size_divisor=14, resize_depth=False),
    dict(type='LoadCaption', mode='index', index=0), dict(type='PackDepthInputs')]
test_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(
    _delete_=True, type='DepthFolderDataset', data_root={root!r},
    depth_format='png_uint16_65535_invalid', depth_scale=1000.0,
    protocol=dict(name='kitchen', max_depth=10.0), pipeline=_pipeline, test_mode=True))
val_dataloader = test_dataloader
"""


@pytest.fixture
def kitchen(tmp_path, rgbd_real):
    """A DepthFolderDataset of 4 real 7-Scenes frames (links to ../shared, nothing copied)."""
    root = tmp_path / 'kitchen'
    (root / 'rgb').mkdir(parents=True)
    (root / 'depth').mkdir()
    for stem in KITCHEN:
        (root / 'rgb' / f'{stem}.jpg').symlink_to(
            rgbd_real / '7scenes_redkitchen' / f'{stem}.color.jpg')
        (root / 'depth' / f'{stem}.png').symlink_to(
            rgbd_real / '7scenes_redkitchen' / f'{stem}.depth.png')
    return root


def caption(argv):
    """Run tools/caption.py in a fresh process (TR2M_RANDOM_INIT=1, offline)."""
    env = dict(os.environ, TR2M_RANDOM_INIT='1', HF_HUB_OFFLINE='1', OMP_NUM_THREADS='1',
               PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, str(REPO / 'tools' / 'caption.py'), *map(str, argv),
                           '--no-progress'], env=env, capture_output=True, text=True, timeout=600)


def test_caption_a_folder_then_evaluate_with_tools_test(kitchen, tmp_path, load_tool):
    out = kitchen / 'captions.json'
    proc = caption(['--img', kitchen / 'rgb', '--captioner', 'smolvlm_256m_toy', '--out', out])
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = json.loads(out.read_text())
    assert list(table) == [f'{s}.jpg' for s in KITCHEN]  # one entry per image, input order
    assert all(len(v) == 5 and all(v) for v in table.values())
    sidecar = json.loads((kitchen / 'captions.provenance.json').read_text())
    assert sidecar['captioner'] == 'smolvlm_256m_toy' and sidecar['skipped'] == {}
    assert sidecar['sources'][0]['captions'] == [0, 1, 2, 3, 4]
    assert sidecar['sources'][0]['prompt'] == 'Describe the image concisely.'
    assert not (kitchen / 'captions.json.parts').exists()

    config = tmp_path / 'folder.py'
    config.write_text(FOLDER_CONFIG.format(
        base=str(REPO / 'configs/custom/tr2m_own_frames.py'), root=str(kitchen)))
    metrics = tmp_path / 'metrics.json'
    load_tool('tools/test.py').main([str(config), 'none', '--work-dir', str(tmp_path / 'wd'),
                                     '--out', str(metrics)])
    assert 'kitchen' in json.loads(metrics.read_text())['datasets']
    # the samples tools/test.py evaluated carry the generated captions
    from tr2m.registry import DATASETS
    from tr2m.utils import register_all_modules
    from tr2m.utils.config import load_config

    register_all_modules()
    dataset = DATASETS.build(load_config(str(config)).test_dataloader.dataset)
    assert [dataset[i]['data_samples'].caption for i in range(4)] == \
        [table[f'{s}.jpg'][0] for s in KITCHEN]


def test_the_library_job_resumes_after_a_crash_and_skips_undecodable_images(kitchen, tmp_path):
    from tr2m.apis.caption_job import image_items, run_caption_job
    from tr2m.captioners import build_captioner

    (kitchen / 'rgb' / 'broken.jpg').write_bytes(b'not a jpeg')
    items = image_items(str(kitchen / 'rgb'))
    assert [k for k, _ in items] == ['broken.jpg'] + [f'{s}.jpg' for s in KITCHEN]
    full = tmp_path / 'full.json'
    run_caption_job(build_captioner('object_list_toy'), items, str(full), progress=False)

    crashing = build_captioner('object_list_toy')
    calls = []
    real = crashing.caption_images

    def crash_on_third(images, keys):
        calls.append(keys)
        if len(calls) == 3:
            raise KeyboardInterrupt  # a kill mid-run
        return real(images, keys)

    crashing.caption_images = crash_on_third
    resumed = tmp_path / 'resumed.json'
    with pytest.raises(KeyboardInterrupt):
        run_caption_job(crashing, items, str(resumed), progress=False)
    parts = tmp_path / 'resumed.json.parts'
    assert len(list(parts.glob('chunk_*.json'))) == 3  # broken + two captioned images
    (parts / 'chunk_00000009.json.tmp123').write_text('{"captions": {')  # a torn write
    again = build_captioner('object_list_toy')
    seen = []
    again.caption_images = lambda images, keys: seen.append(keys) or real(images, keys)
    sidecar = run_caption_job(again, items, str(resumed), progress=False)
    assert seen == [[f'{KITCHEN[2]}.jpg'], [f'{KITCHEN[3]}.jpg']]  # only what was left
    assert resumed.read_bytes() == full.read_bytes()
    provenance = [json.loads((tmp_path / f'{n}.provenance.json').read_text())
                  for n in ('resumed', 'full')]
    assert [p.pop('captions_file') for p in provenance] == ['resumed.json', 'full.json']
    assert provenance[0] == provenance[1]
    assert list(sidecar['skipped']) == ['broken.jpg'] and 'cannot decode' in \
        sidecar['skipped']['broken.jpg']
    assert 'broken.jpg' not in json.loads(full.read_text()) and sidecar['captioned'] == 4


def test_two_processes_equal_one(kitchen, tmp_path):
    one, two = tmp_path / 'one.json', tmp_path / 'two.json'
    proc = caption(['--img', kitchen / 'rgb', '--captioner', 'rsa_15_toy', '--out', one])
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_script(['tools/dist_caption.sh', '2', '--img', kitchen / 'rgb', '--captioner',
                'rsa_15_toy', '--out', two, '--no-progress'],
               env=dict(TR2M_RANDOM_INIT='1', HF_HUB_OFFLINE='1'))
    assert two.read_bytes() == one.read_bytes()
    assert len(json.loads(one.read_text())[f'{KITCHEN[0]}.jpg']) == 15


def test_a_dataset_config_split_and_its_caption_file(kitchen, tmp_path):
    config = tmp_path / 'c3vd_like.py'
    root = tmp_path / 'c3vd'
    (root / 'desc_t2_a').mkdir(parents=True)
    for stem in KITCHEN[:2]:
        (root / 'desc_t2_a' / f'{stem}_color.png').write_bytes(b'')  # pixels are not read
    config.write_text(f"""_base_ = [{str(REPO / 'configs/_base_/datasets/c3vd.py')!r}]
data_root = {str(root)!r}
test_dataloader = dict(dataset=dict(data_root=data_root, split='all', caption_source=dict(
    _delete_=True, type='JSONCaptionSource', ann_file=data_root + '/captions.json')))
""")
    proc = caption([config, '--captioner', 'surgical_c3vd'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = json.loads((root / 'captions.json').read_text())  # the file the config reads
    assert table == {f'desc_t2_a/{s}_color.png': [
        'The image shows a surgical scene of descending colon with texture type two.']
        for s in KITCHEN[:2]}


def test_user_mistakes_are_one_line_and_exit_2(kitchen, tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE='1', PYTHONPATH=str(REPO))
    env.pop('TR2M_RANDOM_INIT', None)
    proc = subprocess.run([sys.executable, str(REPO / 'tools' / 'caption.py'), '--img',
                           str(kitchen / 'rgb'), '--captioner', 'smolvlm_256m', '--out',
                           str(tmp_path / 'x.json')], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and 'HuggingFaceTB/SmolVLM-256M-Instruct' in lines[0]
    assert '--model-path' in lines[0]
    for argv, text in ((['--img', kitchen / 'rgb', '--captioner', 'smolvlm'], 'did you mean'),
                       (['--img', tmp_path / 'nothing', '--captioner', 'smolvlm_256m_toy',
                         '--out', tmp_path / 'y.json'], 'no such image')):
        proc = caption(argv)
        assert proc.returncode == 2 and text in proc.stderr, proc.stderr
    listed = caption(['--list'])
    assert listed.returncode == 0 and 'rsa_15_toy' in listed.stdout


def test_caption_robustness_accepts_generated_captions(kitchen, tmp_path, load_tool):
    from tr2m.apis.caption_job import image_items, run_caption_job
    from tr2m.captioners import build_captioner

    captions = tmp_path / 'generated.json'
    run_caption_job(build_captioner('rsa_15_toy'), image_items(str(kitchen / 'rgb')),
                    str(captions), progress=False)
    config = tmp_path / 'folder.py'
    config.write_text(FOLDER_CONFIG.format(
        base=str(REPO / 'configs/custom/tr2m_own_frames.py'), root=str(kitchen)))
    result = load_tool('tools/analysis_tools/caption_robustness.py').main([
        str(config), 'none', '--captions', str(captions), '--indices', '0', '10',
        '--cfg-options', 'visualizer.name=robustness_generated'])
    assert result['captions'] == str(captions) and result['indices'] == [0, 10]
    assert result['caption_counts'] == dict(min=15, max=15, images=4)
    assert set(result['original']['per_index']) == {'0', '10'}
