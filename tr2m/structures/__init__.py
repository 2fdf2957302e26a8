from .depth_data_sample import DepthDataSample
from .protocol import (
    NOTES_KEY,
    PROTOCOL_KEY,
    RSA_REL_INPUT_SIZES,
    DepthProtocol,
    ProtocolError,
    RunNotes,
    notes_of,
    protocol_of,
)

__all__ = ['DepthDataSample', 'DepthProtocol', 'RunNotes', 'ProtocolError', 'protocol_of',
           'notes_of', 'PROTOCOL_KEY', 'NOTES_KEY', 'RSA_REL_INPUT_SIZES']
