from .dataset_batch_sampler import DatasetBatchSampler, dataset_group_ids
from .group_batch_sampler import GroupByDatasetBatchSampler
from .per_dataset_batch_sampler import PerDatasetBatchSampler

__all__ = ['DatasetBatchSampler', 'GroupByDatasetBatchSampler', 'PerDatasetBatchSampler',
           'dataset_group_ids']
