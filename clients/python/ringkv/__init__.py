"""ringkv: the Python client of the ringkv key-value store (see client.py)."""

from .client import (BadRequest, Client, GetResult, Internal, RingkvError, Timeout,
                     TooLarge, TooManySiblings, TransportError, Unavailable, UnknownOp,
                     UnsupportedVersion, WriteResult)
from .curve import curve_keys, read_key_file

__all__ = ["Client", "GetResult", "WriteResult", "RingkvError", "BadRequest", "TooLarge",
           "UnsupportedVersion", "UnknownOp", "TooManySiblings", "Unavailable", "Timeout",
           "Internal", "TransportError", "curve_keys", "read_key_file"]
