"""A client library for accessing Bango Resale Entitlement API"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
