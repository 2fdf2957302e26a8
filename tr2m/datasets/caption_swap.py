"""``CaptionSwapDataset``: give every sample the captions of another image (caption robustness)."""
import copy
from typing import Any, Dict, List, Union

import numpy as np
from torch.utils.data import Dataset

from tr2m.registry import DATASETS
from tr2m.structures import NOTES_KEY, notes_of

SWAP_MODES = ('within', 'across')


def swap_partners(groups: List[Any], mode: str, seed: int = 0) -> np.ndarray:
    """The partner index of every sample, whose captions it takes.

    ``'within'``: a derangement inside each group (a random cyclic permutation of the group's
    samples, Sattolo's algorithm), so each sample takes the captions of *another* image of its
    own group and every image's captions are used exactly once. ``'across'``: a sample of any
    *other* group, drawn uniformly from the samples outside its group (so larger groups are drawn
    more often). Deterministic for a given ``seed``.

    Args:
        groups (list): the group (``dataset_name``) of every sample.
        mode (str): ``'within'`` or ``'across'``.
        seed (int): seed of the generator. Defaults to 0.

    Returns:
        np.ndarray: int64 partner index per sample.

    Raises:
        ValueError: ``'within'`` with a group of a single sample, or ``'across'`` with a single
            group.
    """
    names = np.asarray([str(g) for g in groups], dtype=object)
    order = list(dict.fromkeys(names.tolist()))  # groups in order of first appearance
    members = {g: np.flatnonzero(names == g) for g in order}
    rng = np.random.default_rng(seed)
    partners = np.full(len(names), -1, dtype=np.int64)
    if mode == 'within':
        for g in order:
            idx = members[g]
            if len(idx) < 2:
                raise ValueError(f"caption swap 'within': dataset {g!r} has {len(idx)} image(s); "
                                 'swapping within a dataset needs at least two')
            perm = np.arange(len(idx))
            for i in range(len(idx) - 1, 0, -1):  # Sattolo: one cycle through every element
                j = int(rng.integers(i))
                perm[i], perm[j] = perm[j], perm[i]
            partners[idx] = idx[perm]
    elif mode == 'across':
        if len(order) < 2:
            raise ValueError(f"caption swap 'across' needs samples of at least two datasets "
                             f"(dataset_name), but all {len(names)} samples belong to "
                             f"{order[0] if order else 'none'!r}; use mode='within'")
        for g in order:
            others = np.flatnonzero(names != g)
            partners[members[g]] = others[rng.integers(len(others), size=len(members[g]))]
    else:
        raise ValueError(f'caption swap mode must be one of {SWAP_MODES}, got {mode!r}')
    return partners


@DATASETS.register_module()
class CaptionSwapDataset(Dataset):
    """Wrap a dataset so each sample carries the captions of a partner image.

    The partner is another image of the same ``dataset_name`` (``mode='within'``) or an image of
    another ``dataset_name`` (``mode='across'``), fixed by ``seed`` (see :func:`swap_partners`).
    The sample's whole ``captions`` list is replaced, so the pipeline's ``LoadCaption`` index
    picks the partner's caption of that index; everything else (image, depth, protocol) is the
    sample's own. The data info gains ``caption_from`` (the partner's image path) and its run
    notes (``run_notes``, a :class:`~tr2m.structures.RunNotes`) ``caption_swap`` (the mode) and
    ``caption_swap_seed``, which ``DepthMetric.protocol_summary()`` reports.

    Works over any mmengine ``BaseDataset`` and over mmengine's ``ConcatDataset`` (each sample
    runs through its own sub-dataset's pipeline).

    Args:
        dataset (dict | Dataset): the wrapped dataset or its config.
        mode (str): ``'within'`` or ``'across'``. Defaults to 'within'.
        seed (int): seed of the partner assignment. Defaults to 0.
        lazy_init (bool): defer loading the annotations until first use. Defaults to False.
    """

    def __init__(self, dataset: Union[dict, Dataset], mode: str = 'within', seed: int = 0,
                 lazy_init: bool = False) -> None:
        if mode not in SWAP_MODES:
            raise ValueError(f'CaptionSwapDataset mode must be one of {SWAP_MODES}, '
                             f'got {mode!r}')
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.mode = mode
        self.seed = int(seed)
        self.partners = None
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(getattr(self.dataset, 'metainfo', {}))

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        groups = [self.dataset.get_data_info(i).get('dataset_name') or 'unknown'
                  for i in range(len(self.dataset))]
        self.partners = swap_partners(groups, self.mode, self.seed)
        self._fully_initialized = True

    def partner(self, idx: int) -> int:
        """Index of the sample whose captions sample ``idx`` takes."""
        self.full_init()
        return int(self.partners[idx])

    def get_data_info(self, idx: int) -> Dict[str, Any]:
        self.full_init()
        info = copy.deepcopy(self.dataset.get_data_info(idx))
        donor = self.dataset.get_data_info(self.partner(idx))
        info['captions'] = list(donor.get('captions') or [])
        info['caption_from'] = donor.get('img_path')
        info[NOTES_KEY] = notes_of(info).replace(caption_swap=self.mode,
                                                 caption_swap_seed=self.seed)
        return info

    def _pipeline(self, idx: int):
        if hasattr(self.dataset, 'pipeline'):
            return self.dataset.pipeline
        if hasattr(self.dataset, '_get_ori_dataset_idx'):  # mmengine ConcatDataset
            dataset_idx, _ = self.dataset._get_ori_dataset_idx(idx)
            return self.dataset.datasets[dataset_idx].pipeline
        raise TypeError(f'CaptionSwapDataset cannot find the pipeline of '
                        f'{type(self.dataset).__name__}')

    def __getitem__(self, idx: int) -> Any:
        data = self._pipeline(idx)(self.get_data_info(idx))
        if data is None:
            raise RuntimeError(f'the test pipeline returned None for sample {idx}')
        return data

    def __len__(self) -> int:
        self.full_init()
        return len(self.dataset)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mode={self.mode!r}, seed={self.seed}, '
                f'dataset={self.dataset!r})')
