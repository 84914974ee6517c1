"""ringkv: the Python client of the ringkv key-value store (see client.py)."""

from .client import (BadRequest, Client, GetResult, Internal, RingkvError, Timeout,
                     TooLarge, TooManySiblings, TransportError, Unavailable, UnknownOp,
                     UnsupportedVersion, WriteResult)

__all__ = ["Client", "GetResult", "WriteResult", "RingkvError", "BadRequest", "TooLarge",
           "UnsupportedVersion", "UnknownOp", "TooManySiblings", "Unavailable", "Timeout",
           "Internal", "TransportError"]
