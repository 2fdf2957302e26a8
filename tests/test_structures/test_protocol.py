"""tr2m/structures/protocol.py: one schema and one default for the protocol, its helpers, the
errors that name a bad key, and the run notes kept apart from it."""
import json
import pickle

import pytest
import torch

from tr2m.datasets import DepthFolderDataset, DepthManifestDataset, KITTIDataset, NYUv2Dataset
from tr2m.structures import (
    DepthDataSample,
    DepthProtocol,
    ProtocolError,
    RunNotes,
    notes_of,
    protocol_of,
)
from tr2m.utils.errors import ConfigError, UserError


def test_one_default_everywhere():
    default = DepthProtocol()
    assert default.to_dict() == dict(name=None, split=None, min_depth=1e-3, max_depth=None,
                                     crop=None, units='m')
    # a sample without a protocol, an empty dict and None all mean the default
    assert protocol_of(DepthDataSample()) == protocol_of({}) == DepthProtocol.coerce(None)
    assert protocol_of(DepthDataSample()) == default
    # the "your own frames" datasets take it (named after themselves)
    assert DepthFolderDataset.PROTOCOL == default.replace(name='custom')


def test_from_dict_overrides_a_base_and_rejects_unknown_keys():
    nyu = DepthProtocol.from_dict(dict(crop=None), base=NYUv2Dataset.PROTOCOL)
    assert (nyu.name, nyu.max_depth, nyu.crop) == ('nyu', 10.0, None)
    assert NYUv2Dataset.PROTOCOL.crop == 'eigen'  # frozen: the base is untouched
    with pytest.raises(ProtocolError) as err:
        DepthProtocol.from_dict(dict(max_dept=3), owner='NYUv2Dataset')
    msg = str(err.value)
    assert msg.startswith("NYUv2Dataset: unknown DepthProtocol key(s) ['max_dept']")
    assert "allowed keys: ['name', 'split', 'min_depth', 'max_depth', 'crop', 'units']" in msg
    # a run note given as a protocol key says where it belongs
    with pytest.raises(KeyError, match="caption_index belongs to RunNotes, metainfo 'run_notes'"):
        DepthProtocol.from_dict(dict(caption_index=0))
    # one class for every protocol mistake: a config error (exit code 2), a KeyError and a
    # ValueError, so callers of either kind keep working
    assert issubclass(ProtocolError, (ConfigError, UserError, KeyError, ValueError))
    for bad, word in ((dict(crop='kb'), 'crop'), (dict(units='cm'), 'units'),
                      (dict(min_depth=5.0, max_depth=1.0), 'min_depth'),
                      (dict(min_depth=-1.0), 'min_depth'), (dict(max_depth='ten'), 'max_depth'),
                      (dict(split=3), 'split')):
        with pytest.raises(ValueError, match=f'^KITTIDataset: .*{word}'):
            DepthProtocol.from_dict(bad, base=KITTIDataset.PROTOCOL, owner='KITTIDataset')


def test_range_cap_and_units_helpers():
    nyu = NYUv2Dataset.PROTOCOL
    assert nyu.depth_range == (1e-3, 10.0) and nyu.cap == 10.0 and nyu.upper == 10.0
    unbounded = DepthProtocol(max_depth=float('inf'))  # inf is stored as "no bound"
    assert unbounded.max_depth is None and unbounded.cap is None
    assert unbounded.upper == float('inf') and unbounded.depth_range == (1e-3, None)
    mm = DepthProtocol(min_depth=0, max_depth=100, units='mm')
    assert mm.units_per_metre == 1000.0 and isinstance(mm.max_depth, float)
    assert mm.from_metres(0.05) == 50.0 and mm.to_metres(50.0) == 0.05
    assert torch.equal(mm.from_metres(torch.tensor([0.1, 0.2])), torch.tensor([100.0, 200.0]))
    assert nyu.from_metres(3.0) == 3.0 == nyu.to_metres(3.0)


def test_round_trips():
    p = KITTIDataset.PROTOCOL.replace(split='test')
    assert DepthProtocol.from_dict(p.to_dict()) == p
    assert json.loads(json.dumps(p.to_dict())) == p.to_dict()  # result files: plain JSON
    assert pickle.loads(pickle.dumps(p)) == p  # dataloader workers, distributed collects
    err = pickle.loads(pickle.dumps(ProtocolError('owner', 'detail')))
    assert str(err) == 'owner: detail'
    with pytest.raises(AttributeError):
        p.max_depth = 5.0  # immutable: shared by every sample of a dataset


def test_run_notes_are_kept_apart():
    notes = notes_of(DepthDataSample())
    assert notes == RunNotes() and notes.to_dict() == {}
    notes = notes.replace(caption_index=2).replace(tta='flip', tta_merge='mean')
    assert notes.to_dict() == dict(caption_index=2, tta='flip', tta_merge='mean')
    assert notes_of(dict(run_notes=dict(caption_index=1))) == RunNotes(caption_index=1)
    with pytest.raises(KeyError, match="min_depth belongs to DepthProtocol, metainfo 'protocol'"):
        notes.replace(min_depth=1.0)
    with pytest.raises(ProtocolError, match='expected a DepthProtocol or a dict'):
        DepthProtocol.coerce(3)


def test_manifest_protocols_are_typed_and_checked_when_built(rgbd_real):
    kw = dict(ann_file='manifest.json', data_root=str(rgbd_real), lazy_init=True)
    ds = DepthManifestDataset(protocol=dict(max_depth=10.0),
                              protocols=dict(kitti=dict(max_depth=80.0, crop='garg')), **kw)
    assert ds.protocol == DepthProtocol(max_depth=10.0)
    assert ds.protocols['kitti'] == DepthProtocol(max_depth=80.0, crop='garg')
    with pytest.raises(KeyError, match=r"protocols\['kitti'\]: unknown DepthProtocol key"):
        DepthManifestDataset(protocols=dict(kitti=dict(max_dpth=80.0)), **kw)
