from .group_batch_sampler import GroupByDatasetBatchSampler, dataset_group_ids

__all__ = ['GroupByDatasetBatchSampler', 'dataset_group_ids']
