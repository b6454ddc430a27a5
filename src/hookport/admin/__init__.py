"""The ``/_hookport`` sub-app: health, readiness, metrics and the admin JSON API."""

from hookport.admin.api import build_admin_app

__all__ = ["build_admin_app"]
