"""``DepthProtocol``: how a sample's depth is read and evaluated; ``RunNotes``: how it was run.

Every sample carries its evaluation protocol in its metainfo under ``'protocol'``: the GT's
unit, the valid depth range and the crop (each dataset's is the one its public benchmark uses,
e.g. NYUv2 1e-3..10 m with the Eigen crop). One schema, one default::

    DepthProtocol()  # min_depth=1e-3, max_depth=None (no bound), crop=None, units='m'

Datasets declare theirs (``NYUv2Dataset.PROTOCOL``), configs override keys with plain dicts
(``protocol=dict(crop=None)``), :meth:`DepthProtocol.from_dict` turns those into the type and
rejects an unknown key by name. Readers call :func:`protocol_of` on a sample (a
``DepthDataSample``, its ``to_dict()`` form or a pipeline's results dict): a sample without a
protocol gets the default, a plain dict is validated on the way.

What a run did to a sample is not part of its protocol: the caption index evaluated, a caption
swap, test-time augmentation. Those are :class:`RunNotes`, under the metainfo key
``'run_notes'``; :class:`~tr2m.evaluation.DepthMetric` records both next to the numbers.

Pure Python: this module imports neither torch nor another tr2m package but
:mod:`tr2m.utils.errors`.
"""
import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Tuple, Union

from tr2m.utils.errors import ConfigError

#: Metainfo key of a sample's :class:`DepthProtocol`.
PROTOCOL_KEY = 'protocol'
#: Metainfo key of a sample's :class:`RunNotes`.
NOTES_KEY = 'run_notes'
#: Crops a protocol may name (None: no crop); see :func:`tr2m.functional.crop_box`.
CROPS = (None, 'eigen', 'garg')
#: The sizes ``(H, W)`` at which RSA's release runs Depth Anything, per dataset name (its
#: ``train_3d.py`` resizes NYUv2 frames to 434 x 560 and KITTI frames to 350 x 1204 and
#: interpolates the output back); a run that uses them records the size in each sample's
#: :class:`RunNotes` (``rel_input_size``). Datasets not named here keep the default rule.
RSA_REL_INPUT_SIZES = {'nyu': (434, 560), 'kitti': (350, 1204)}
#: Units of GT depth: how many of them make a metre.
UNITS_PER_METRE = {'m': 1.0, 'mm': 1000.0}
UNITS = tuple(UNITS_PER_METRE)


class ProtocolError(ConfigError, ValueError):
    """A protocol or run-notes key or value that cannot be used (both a ``KeyError`` and a
    ``ValueError``; the tools print its one line and exit with code 2)."""

    def __init__(self, owner: str, detail: Optional[str] = None) -> None:
        # (owner, detail) when raised here; the whole message when unpickled
        super().__init__(owner if detail is None else f'{owner}: {detail}')
        self.detail = owner if detail is None else detail


def _number(owner: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(owner, f'{key} must be a number, got {value!r}')
    return float(value)


def _check_keys(cls, keys, owner: str) -> None:
    allowed = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in keys if k not in allowed]
    if unknown:
        other = RunNotes if cls is DepthProtocol else DepthProtocol
        elsewhere = [k for k in unknown if k in {f.name for f in dataclasses.fields(other)}]
        hint = (f' ({", ".join(elsewhere)} belongs to {other.__name__}, metainfo '
                f"'{NOTES_KEY if other is RunNotes else PROTOCOL_KEY}')") if elsewhere else ''
        raise ProtocolError(owner, f'unknown {cls.__name__} key(s) {unknown}{hint}; '
                                   f'allowed keys: {allowed}')


@dataclass(frozen=True)
class DepthProtocol:
    """The evaluation protocol of a sample (immutable, so one instance serves a whole dataset).

    Args:
        name (str, optional): the protocol's / dataset's name, recorded in result files.
            Defaults to None.
        split (str, optional): the split evaluated (``'test'``, ``'val'``...). Defaults to None.
        min_depth (float): exclusive lower bound of valid GT, in ``units``. Defaults to 1e-3.
        max_depth (float, optional): exclusive upper bound of valid GT and the prediction
            clamp, in ``units``; None (or ``inf``, stored as None) means no bound. Also the cap
            of training targets such as the pseudo depth (:attr:`cap`). Defaults to None.
        crop (str, optional): None, ``'eigen'`` or ``'garg'``. Defaults to None.
        units (str): ``'m'`` or ``'mm'``, the unit of GT and predictions. Defaults to 'm'.

    Raises:
        ProtocolError: a value out of its range (``0 <= min_depth < max_depth``), an unknown
            crop or unit.
    """

    name: Optional[str] = None
    split: Optional[str] = None
    min_depth: float = 1e-3
    max_depth: Optional[float] = None
    crop: Optional[str] = None
    units: str = 'm'

    def __post_init__(self) -> None:
        owner = f'protocol {self.name!r}' if self.name else 'protocol'
        lo = _number(owner, 'min_depth', self.min_depth)
        hi = self.max_depth
        if hi is not None:
            hi = _number(owner, 'max_depth', hi)
            hi = None if math.isinf(hi) and hi > 0 else hi
        if not (lo >= 0 and math.isfinite(lo)) or (hi is not None and not hi > lo):
            raise ProtocolError(owner, 'need 0 <= min_depth < max_depth (or max_depth None), '
                                       f'got {self.min_depth}..{self.max_depth}')
        if self.crop not in CROPS:
            raise ProtocolError(owner, f'crop must be one of {CROPS}, got {self.crop!r}')
        if self.units not in UNITS:
            raise ProtocolError(owner, f'units must be one of {UNITS}, got {self.units!r}')
        for key in ('name', 'split'):
            value = getattr(self, key)
            if value is not None and not isinstance(value, str):
                raise ProtocolError(owner, f'{key} must be a string or None, got {value!r}')
        object.__setattr__(self, 'min_depth', lo)
        object.__setattr__(self, 'max_depth', hi)

    # ---- construction --------------------------------------------------------------------
    @classmethod
    def from_dict(cls, values: Optional[Mapping[str, Any]],
                  base: Optional['DepthProtocol'] = None,
                  owner: str = 'protocol') -> 'DepthProtocol':
        """``base`` (default: ``DepthProtocol()``) with the keys of ``values`` replaced.

        Args:
            values (Mapping, optional): protocol keys, as a config writes them
                (``dict(max_depth=80.0, crop='garg')``); None changes nothing.
            base (DepthProtocol, optional): the protocol the keys override. Defaults to the
                default protocol.
            owner (str): who gave the keys (a dataset, a config key), for the message.

        Raises:
            ProtocolError: an unknown key (named, with the allowed keys) or a bad value.
        """
        values = dict(values or {})
        _check_keys(cls, values, owner)
        try:
            return dataclasses.replace(base if base is not None else cls(), **values)
        except ProtocolError as err:
            raise ProtocolError(owner, err.detail) from None

    @classmethod
    def coerce(cls, value: Union['DepthProtocol', Mapping[str, Any], None],
               owner: str = 'protocol') -> 'DepthProtocol':
        """The protocol ``value`` stands for: itself, a validated dict, or the default for
        None."""
        if isinstance(value, DepthProtocol):
            return value
        if value is None or isinstance(value, Mapping):
            return cls.from_dict(value, owner=owner)
        raise ProtocolError(owner, 'expected a DepthProtocol or a dict, got '
                                   f'{type(value).__name__}')

    def replace(self, **changes: Any) -> 'DepthProtocol':
        """A copy with ``changes`` (validated like :meth:`from_dict`)."""
        return self.from_dict(changes, base=self)

    def to_dict(self) -> dict:
        """Every field, in declaration order (what result files record)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    # ---- helpers -------------------------------------------------------------------------
    @property
    def depth_range(self) -> Tuple[float, Optional[float]]:
        """``(min_depth, max_depth)`` of valid GT, in :attr:`units` (``max_depth`` None: no
        bound)."""
        return self.min_depth, self.max_depth

    @property
    def upper(self) -> float:
        """``max_depth``, or ``inf`` without an upper bound (for comparisons)."""
        return math.inf if self.max_depth is None else self.max_depth

    @property
    def cap(self) -> Optional[float]:
        """The largest depth a training target may take (the pseudo-depth loss; TR2M eq. 6):
        ``max_depth``; None means no cap."""
        return self.max_depth

    @property
    def units_per_metre(self) -> float:
        """How many :attr:`units` make a metre (1 for ``'m'``, 1000 for ``'mm'``): the factor
        from metres to this protocol's unit."""
        return UNITS_PER_METRE[self.units]

    def to_metres(self, depth):
        """``depth`` (a number, array or tensor in :attr:`units`) in metres."""
        return depth / self.units_per_metre if self.units != 'm' else depth

    def from_metres(self, depth):
        """``depth`` in metres expressed in :attr:`units` (a metric model's output)."""
        return depth * self.units_per_metre if self.units != 'm' else depth


@dataclass(frozen=True)
class RunNotes:
    """What a run did to a sample, recorded next to the numbers but not part of the protocol.

    Args:
        caption_index (int, optional): index of the evaluated caption in the sample's list
            (``LoadCaption(mode='index')``; -1 = the fallback caption). Defaults to None.
        caption_swap (str, optional): ``'within'`` / ``'across'`` when the captions came from
            another image (``CaptionSwapDataset``). Defaults to None.
        caption_swap_seed (int, optional): the seed of that swap. Defaults to None.
        tta (str, optional): test-time augmentation (``'flip'``). Defaults to None.
        tta_merge (str, optional): how its predictions were merged. Defaults to None.
        rel_input_size (str, optional): ``'HxW'``, the fixed size the frozen relative-depth
            model ran at when a config sets one (RSA's release: ``'434x560'`` for NYUv2,
            ``'350x1204'`` for KITTI, see :data:`RSA_REL_INPUT_SIZES`), its output
            interpolated back to the input; None: the input's size rounded to the model's
            multiple. Defaults to None.
    """

    caption_index: Optional[int] = None
    caption_swap: Optional[str] = None
    caption_swap_seed: Optional[int] = None
    tta: Optional[str] = None
    tta_merge: Optional[str] = None
    rel_input_size: Optional[str] = None

    @classmethod
    def coerce(cls, value: Union['RunNotes', Mapping[str, Any], None],
               owner: str = 'run_notes') -> 'RunNotes':
        """``value`` as notes: itself, a validated dict, or empty notes for None."""
        if isinstance(value, RunNotes):
            return value
        if value is None or isinstance(value, Mapping):
            values = dict(value or {})
            _check_keys(cls, values, owner)
            return cls(**values)
        raise ProtocolError(owner, f'expected RunNotes or a dict, got {type(value).__name__}')

    def replace(self, **changes: Any) -> 'RunNotes':
        """A copy with ``changes`` (unknown keys raise, naming them)."""
        _check_keys(type(self), changes, 'run_notes')
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The notes that are set (None fields left out)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None}


def _lookup(sample: Any, key: str) -> Any:
    if sample is None:
        return None
    if isinstance(sample, Mapping):  # a results dict, a metainfo dict, a to_dict() sample
        return sample.get(key)
    return sample.get(key, None)  # BaseDataElement: metainfo and data fields


def protocol_of(sample: Any) -> DepthProtocol:
    """The :class:`DepthProtocol` of a ``DepthDataSample``, its ``to_dict()`` form, a metainfo
    or a pipeline results dict; the default protocol when it has none."""
    return DepthProtocol.coerce(_lookup(sample, PROTOCOL_KEY))


def notes_of(sample: Any) -> RunNotes:
    """The :class:`RunNotes` of a sample (as :func:`protocol_of`); empty notes when it has
    none."""
    return RunNotes.coerce(_lookup(sample, NOTES_KEY))


__all__ = ['DepthProtocol', 'RunNotes', 'ProtocolError', 'protocol_of', 'notes_of',
           'PROTOCOL_KEY', 'NOTES_KEY', 'CROPS', 'UNITS', 'UNITS_PER_METRE']
