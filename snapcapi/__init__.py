"""snapcapi: send conversions to Snap's Conversions API (CAPI) v3 from Python.

Build :class:`Event` objects from raw values; identifiers are normalized and SHA-256 hashed
exactly as Snap specifies, and mistakes raise :class:`ValidationError` naming the field. A
:class:`Client` batches, sends and retries them and reports on every event in a
:class:`SendResult`; :mod:`snapcapi.testing` has a fake Snap server for tests.
"""

from snapcapi import normalize, problems, web
from snapcapi._version import __version__
from snapcapi.app_data import AppData
from snapcapi.background import BackgroundSender
from snapcapi.client import Client
from snapcapi.custom_data import Content, CustomData
from snapcapi.diagnostics import MatchReport, diagnose
from snapcapi.enums import ActionSource, EventName
from snapcapi.errors import (
    APIError,
    AuthenticationError,
    ClientClosedError,
    RateLimitError,
    SnapCapiError,
    TransportError,
    UnknownAssetError,
    ValidationError,
)
from snapcapi.events import Event
from snapcapi.problems import Problem
from snapcapi.records import Conversion, RowProblem, events_from_dataframe, events_from_records
from snapcapi.results import EventResult, EventStatus, SendResult
from snapcapi.user_data import UserData

__all__ = [
    "APIError",
    "ActionSource",
    "AppData",
    "AuthenticationError",
    "BackgroundSender",
    "Client",
    "ClientClosedError",
    "Content",
    "Conversion",
    "CustomData",
    "Event",
    "EventName",
    "EventResult",
    "EventStatus",
    "MatchReport",
    "Problem",
    "RateLimitError",
    "RowProblem",
    "SendResult",
    "SnapCapiError",
    "TransportError",
    "UnknownAssetError",
    "UserData",
    "ValidationError",
    "__version__",
    "diagnose",
    "events_from_dataframe",
    "events_from_records",
    "normalize",
    "problems",
    "web",
]
