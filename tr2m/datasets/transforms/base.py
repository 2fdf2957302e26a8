"""``BaseTransform``: the contract of every data transform (mmcv's, without depending on it).

mmcv-lite's wheel requires ``opencv-python`` and the full ``mmengine``, which would install a
second OpenCV beside ``opencv-python-headless``; tr2m needs nothing else from mmcv, so its
transforms derive from this class instead (same behaviour: ``__call__`` runs ``transform``).
"""
from abc import ABCMeta, abstractmethod
from typing import Optional


class BaseTransform(metaclass=ABCMeta):
    """A data transform: ``results`` dict in, updated dict out (None drops the sample)."""

    def __call__(self, results: dict) -> Optional[dict]:
        return self.transform(results)

    @abstractmethod
    def transform(self, results: dict) -> Optional[dict]:
        """Transform ``results`` (a dict of the sample's fields)."""
