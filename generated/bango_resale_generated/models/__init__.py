"""Contains all the data models used in inputs/outputs"""

from .client_action import ClientAction
from .client_action_parameters import ClientActionParameters
from .create_entitlement_request import CreateEntitlementRequest
from .echo_response import EchoResponse
from .entitlement_changes import EntitlementChanges
from .entitlement_list_response import EntitlementListResponse
from .entitlement_notification import EntitlementNotification
from .entitlement_record import EntitlementRecord
from .entitlement_response import EntitlementResponse
from .entitlement_status import EntitlementStatus
from .envelope import Envelope
from .extension_data import ExtensionData
from .notification_type import NotificationType
from .query_entitlements_request import QueryEntitlementsRequest
from .reason_category import ReasonCategory
from .reason_code import ReasonCode
from .response_code import ResponseCode
from .resume_entitlement_request import ResumeEntitlementRequest
from .suspend_entitlement_request import SuspendEntitlementRequest
from .terminate_entitlement_request import TerminateEntitlementRequest

__all__ = (
    "ClientAction",
    "ClientActionParameters",
    "CreateEntitlementRequest",
    "EchoResponse",
    "EntitlementChanges",
    "EntitlementListResponse",
    "EntitlementNotification",
    "EntitlementRecord",
    "EntitlementResponse",
    "EntitlementStatus",
    "Envelope",
    "ExtensionData",
    "NotificationType",
    "QueryEntitlementsRequest",
    "ReasonCategory",
    "ReasonCode",
    "ResponseCode",
    "ResumeEntitlementRequest",
    "SuspendEntitlementRequest",
    "TerminateEntitlementRequest",
)
