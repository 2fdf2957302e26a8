"""Fixtures shared by ``tests/`` and every ``projects/*/tests/``.

The real RGB-D frames and caption files are found through one setting
(:func:`tr2m.utils.test_data.find_test_data`): ``$TR2M_TEST_DATA`` (alias
``$TR2M_SHARED_DATA``), else ``../shared/data`` beside the repository, else the cache that
``python tools/fetch_test_data.py`` fills (``~/.cache/tr2m/test_data``)."""
import json
import os
from pathlib import Path

import pytest
import torch
from mmengine.structures import PixelData

from tr2m.structures import DepthDataSample
from tr2m.utils.test_data import find_test_data

REPO_ROOT = Path(__file__).resolve().parent
TEST_DATA = find_test_data(REPO_ROOT)
SHARED_DATA = TEST_DATA  # the name the tests used before the setting had its own
HOW_TO_GET = ('set TR2M_TEST_DATA, put ../shared/data beside the clone, or run '
              'python tools/fetch_test_data.py')
RGBD_REAL = SHARED_DATA / 'rgbd_real'
RSA_TEXT = SHARED_DATA / 'rsa_text'

# Offline everywhere: a test must never reach a hub, and tests build random weights.
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')


# Tiny models run fastest on one thread, and the suite stays fast when the machine is busy.
torch.set_num_threads(1)

#: Test modules whose tests each take more than a few seconds of CPU (training runs, tool
#: processes, distributed runs, builds): marked ``slow``, so the fast subset
#: (``pytest -m "not slow and not gpu"``, ``bash tools/run_tests.sh --fast``) leaves them out.
#: Slow tests of other modules carry ``@pytest.mark.slow`` themselves.
SLOW_MODULES = (
    'tests/test_tools/test_ablate.py',
    'tests/test_tools/test_benchmark.py',
    'tests/test_tools/test_gpu_check.py',
    'tests/test_tools/test_neck_benchmark.py',
    'tests/test_tools/test_cache_features.py',
    'tests/test_tools/test_bad_input_matrix.py',
    'tests/test_tools/test_caption_tool.py',
    'tests/test_tools/test_dist_test.py',
    'tests/test_tools/test_dist_train.py',
    'tests/test_tools/test_first_run.py',
    'tests/test_tools/test_infer.py',
    'tests/test_tools/test_infer_batched.py',
    'tests/test_tools/test_infer_rel_depth.py',
    'tests/test_tools/test_own_frames.py',
    'tests/test_tools/test_quickstart_shift.py',
    'tests/test_tools/test_train_test_cli.py',
    'tests/test_engine/test_resume.py',
    'tests/test_engine/test_checkpoint_hook.py',
    'tests/test_engine/test_hooks/test_panel_hook.py',
    'projects/newcrfs_soc/tests/test_newcrfs_soc_training.py',
    'tests/test_tools/test_compare_tool.py',
    'tests/test_tools/test_caption_robustness.py',
    'tests/test_cache/test_builder.py',
    'tests/test_engine/test_nonfinite_guard_hook.py',
    'tests/test_datasets/test_samplers/test_group_batch_sampler.py',
    'tests/test_engine/test_preemption.py',
    'tests/test_tools/test_remote_checkpoints.py',
)
#: Single tests (node ids; a parametrised test with all its cases) that take more than a few
#: seconds of CPU: short trainings, two-process runs, hub-failure paths, full-size builds.
SLOW_TESTS = (
    'projects/newcrfs/tests/test_newcrfs_backbone.py::test_bad_sources_fail_loudly',
    'projects/scaledepth/tests/test_scaledepth_layers.py::'
    'test_released_similarity_starts_saturated',
    'tests/test_analysis/test_benchmark.py::test_batch_cache_read_back_equals_the_frozen_outputs',
    'tests/test_analysis/test_data_benchmark.py::test_section_on_the_tiny_model',
    'tests/test_analysis/test_variant_speed.py::test_compare_two_configs',
    'tests/test_cache/test_mode.py::test_applying_twice_and_dumped_configs',
    'tests/test_cache/test_readers.py::test_first_step_losses_equal_with_and_without_cache',
    'tests/test_cache/test_store.py::test_resume_after_interrupt_writes_the_same_files',
    'tests/test_cache/test_store.py::test_round_trip_float16_and_int8',
    'tests/test_captioners/test_object_grammar.py::test_sentences_by_hand',
    'tests/test_captioners/test_object_list_captioner.py::'
    'test_batched_equals_one_by_one_and_sentences_are_in_the_grammar',
    'tests/test_datasets/test_configs.py::test_mixed_config_trains_with_same_dataset_batches',
    'tests/test_datasets/test_configs.py::test_zero_shot_config_builds',
    'tests/test_datasets/test_manifest_dataset.py::'
    'test_every_depth_format_matches_the_manifest_statistics',
    'tests/test_datasets/test_seeding.py::test_concat_datasets_get_their_index_offsets',
    'tests/test_engine/test_hooks/test_momentum_hook.py::'
    'test_gradient_accumulation_updates_once_per_optimizer_step',
    'tests/test_engine/test_hooks/test_soc_shortcut_hook.py::'
    'test_warns_once_on_a_run_turned_away_from_every_key',
    'tests/test_engine/test_hooks/test_soc_shortcut_hook.py::'
    'test_silent_on_a_healthy_run_and_diagnostics_reach_tensorboard',
    'tests/test_engine/test_required_hooks.py::'
    'test_a_user_hook_in_custom_hooks_keeps_the_momentum_update',
    'tests/test_engine/test_required_hooks.py::'
    'test_a_runner_built_by_hand_refuses_a_second_momentum_hook',
    'tests/test_models/test_backbones/test_relative_depth.py::test_unreachable_hub_id_message',
    'tests/test_models/test_contrast/test_scale_oriented_contrast.py::'
    'test_two_ranks_optimise_the_one_process_objective',
    'tests/test_models/test_depthers/test_metric_baseline.py::test_loading_failures_are_clear',
    'tests/test_models/test_encoders/test_clip_text.py::test_bad_sources',
    'tests/test_models/test_encoders/test_dinov2.py::test_missing_and_unreachable_sources',
    'tests/test_datasets/test_archive_extraction.py::test_prepare_ibims_refuses_the_link_escape',
    'tests/test_utils/test_workdir_lock.py::test_holder_in_another_process_then_killed',
    'tests/test_tools/test_dist_restart.py::'
    'test_a_killed_rank_is_restarted_and_the_run_ends_as_uninterrupted',
    'tests/test_tools/test_dist_restart.py::test_sigterm_to_one_rank_stops_both_after_the_same_step',
)


def _is_slow(nodeid: str) -> bool:
    module, _, name = nodeid.partition('::')
    return module in SLOW_MODULES or any(
        nodeid == t or nodeid.startswith(t + '[') for t in SLOW_TESTS)


def pytest_collection_modifyitems(config, items):
    """Mark the tests of :data:`SLOW_MODULES` and :data:`SLOW_TESTS` ``slow``; under
    pytest-xdist, hand out the longest files first (:func:`_longest_files_first`)."""
    for item in items:
        if _is_slow(item.nodeid):
            item.add_marker(pytest.mark.slow)
    if os.environ.get('PYTEST_XDIST_WORKER'):
        _longest_files_first(items)


def _longest_files_first(items) -> None:
    """Order the files by their number of slow tests, most first (the order within a file, and
    among files with as many, unchanged). ``tools/run_tests.sh`` runs ``--dist loadfile``: each
    file runs whole in one process and the files are handed out in collection order, so with
    the long tool files last (``tests/test_tools`` sorts late) one process ran them alone at the
    end while the other waited; longest first, the processes end together."""
    from collections import Counter

    def file_of(item):
        return item.nodeid.partition('::')[0]

    slow = Counter(file_of(i) for i in items if i.get_closest_marker('slow'))
    items.sort(key=lambda i: -slow[file_of(i)])  # stable: each file's own order is kept


@pytest.fixture(autouse=True)
def _random_init_setting_stays_per_test():
    """The benchmark and speed tools set ``TR2M_RANDOM_INIT=1`` for their process when it is
    unset; called in-process by a test, that must not reach later tests (a full-size preset
    would then be built with random weights instead of failing to load: 7B parameters)."""
    before = os.environ.get('TR2M_RANDOM_INIT')
    yield
    if before is None:
        os.environ.pop('TR2M_RANDOM_INIT', None)
    else:
        os.environ['TR2M_RANDOM_INIT'] = before


@pytest.fixture(scope='session')
def rgbd_real() -> Path:
    """Folder of the 59 real RGB-D frames (``manifest.json`` inside)."""
    if not (RGBD_REAL / 'manifest.json').is_file():
        raise FileNotFoundError(f'real test data missing: {RGBD_REAL} ({HOW_TO_GET})')
    return RGBD_REAL


@pytest.fixture(scope='session')
def rgbd_manifest(rgbd_real) -> list:
    """The frames of ``rgbd_real/manifest.json``."""
    return json.loads((rgbd_real / 'manifest.json').read_text())['frames']


@pytest.fixture(scope='session')
def rsa_text() -> Path:
    """RSA's real caption files and split lists."""
    if not RSA_TEXT.is_dir():
        raise FileNotFoundError(f'real caption data missing: {RSA_TEXT} ({HOW_TO_GET})')
    return RSA_TEXT


CAPTIONS = ['A bedroom with a bed, a lamp and a window.', 'A street with parked cars and trees.']


def make_depth_batch(size=(56, 56), gt_size=None, batch=2, seed=0):
    """Images ``(B, 3, H, W)`` in [0, 1] and samples with ``gt_depth`` (1-6 m ramp, 20% holes),
    ``gt_valid``, ``caption`` and metainfo (``img_path``, ``ori_shape``, ``protocol``)."""
    gen = torch.Generator().manual_seed(seed)
    h, w = size
    gh, gw = gt_size or size
    inputs = torch.rand(batch, 3, h, w, generator=gen)
    samples = []
    for i in range(batch):
        ramp = torch.linspace(1.0, 6.0, gh)[:, None].expand(gh, gw)
        depth = (ramp * (1 + 0.2 * torch.rand(gh, gw, generator=gen)))[None]
        valid = torch.rand(1, gh, gw, generator=gen) > 0.2
        s = DepthDataSample(metainfo=dict(
            img_path=f'img_{i}.png', ori_shape=(gh, gw), img_shape=(h, w), flip=False,
            dataset_name='toy',
            protocol=dict(min_depth=1e-3, max_depth=10.0, crop=None, units='m')))
        s.gt_depth = PixelData(data=torch.where(valid, depth, torch.zeros_like(depth)))
        s.gt_valid = PixelData(data=valid)
        s.caption = CAPTIONS[i % len(CAPTIONS)]
        samples.append(s)
    return inputs, samples


@pytest.fixture
def depth_batch():
    """:func:`make_depth_batch`, as a fixture."""
    return make_depth_batch
