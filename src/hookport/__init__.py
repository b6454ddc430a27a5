"""hookport: the webhook receiver that never loses a delivery.

Public API::

    from hookport import Plugin, Response, HTTPError, verify, create_app

Class-based plugins (errbot, invenio-webhooks)::

    from hookport import PluginClass, WebhookReceiver, receives, route, webhook
"""

from hookport import verify
from hookport.app import HookportApp, create_app
from hookport.classes import PluginClass, receives, route, webhook
from hookport.config import Settings, load_settings
from hookport.context import Context
from hookport.errors import (
    ConfigError,
    HookportError,
    HTTPError,
    NotifyError,
    PluginError,
    VerificationError,
)
from hookport.events import Event, EventStatus
from hookport.http import Request, Response
from hookport.plugin import Plugin, Receiver
from hookport.templating import template
from hookport.types import IncomingRequest
from hookport.webhook_receiver import ReceiverEvent, WebhookReceiver

__version__ = "0.1.0"
"""The version of this hookport (also ``hookport --version`` and the package metadata)."""

__all__ = [
    "ConfigError",
    "Context",
    "Event",
    "EventStatus",
    "HTTPError",
    "HookportApp",
    "HookportError",
    "IncomingRequest",
    "NotifyError",
    "Plugin",
    "PluginClass",
    "PluginError",
    "Receiver",
    "ReceiverEvent",
    "Request",
    "Response",
    "Settings",
    "VerificationError",
    "WebhookReceiver",
    "__version__",
    "create_app",
    "load_settings",
    "receives",
    "route",
    "template",
    "verify",
    "webhook",
]
