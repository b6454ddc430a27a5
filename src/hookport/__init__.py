"""hookport: the webhook receiver that never loses a delivery.

Public API::

    from hookport import Plugin, Response, HTTPError, verify, create_app
"""

from hookport import verify
from hookport.errors import HookportError, HTTPError
from hookport.events import Event, EventStatus
from hookport.http import Request, Response
from hookport.plugin import Plugin, Receiver

__version__ = "0.1.0"

__all__ = [
    "Event",
    "EventStatus",
    "HTTPError",
    "HookportError",
    "Plugin",
    "Receiver",
    "Request",
    "Response",
    "__version__",
    "verify",
]
