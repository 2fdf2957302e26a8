from .depth_data_sample import DepthDataSample
from .protocol import (
    NOTES_KEY,
    PROTOCOL_KEY,
    DepthProtocol,
    ProtocolError,
    RunNotes,
    notes_of,
    protocol_of,
)

__all__ = ['DepthDataSample', 'DepthProtocol', 'RunNotes', 'ProtocolError', 'protocol_of',
           'notes_of', 'PROTOCOL_KEY', 'NOTES_KEY']
