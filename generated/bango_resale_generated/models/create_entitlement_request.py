from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.extension_data import ExtensionData


T = TypeVar("T", bound="CreateEntitlementRequest")


@_attrs_define
class CreateEntitlementRequest:
    """What to create.

    Attributes:
        customer_identifier (str): The reseller's own opaque and persistent id for the customer. Never put personal data
            such as a phone number or e-mail address here.
        merchant_account_key (str): Identifies the merchant.
        product_key (str): Identifies the merchant's service.
        offer_key (str | Unset): Identifies an offer, where the merchant has offers.
        entitlement_id (str | Unset): Id of an entitlement, unique within the reseller's entitlements. The platform
            generates it (UUID-like); a reseller may supply its own on create.
        notification_url (str | Unset): Where the platform POSTs status-change notifications: an absolute http or https
            URL with a host (a name, an IPv4 address or a bracketed IPv6 address) and an optional port. User info
            (`user:password@`) is refused with `BAD_REQUEST`: the platform authenticates to the receiver with the
            credentials configured for the reseller, never with ones in the URL. `pattern` says all of this, so a URL the
            schema accepts is one the platform takes.
        date_expiry (datetime.datetime | Unset): An RFC 3339 date-time in UTC.
        extension_data (ExtensionData | Unset): Free-form reseller data. Cancel, revoke and suspend also record their
            reason and any custom properties here. Bounded after every merge: at most 64 properties (`maxProperties`) and
            16384 bytes as compact JSON (`x-max-bytes`); a create, update, cancel, revoke or suspend that would pass either
            bound is refused with `BAD_REQUEST` naming `extensionData`, and nothing is stored. Like any request body, it
            nests at most 16 levels counted from the body (`x-max-json-depth`).
    """

    customer_identifier: str
    merchant_account_key: str
    product_key: str
    offer_key: str | Unset = UNSET
    entitlement_id: str | Unset = UNSET
    notification_url: str | Unset = UNSET
    date_expiry: datetime.datetime | Unset = UNSET
    extension_data: ExtensionData | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        customer_identifier = self.customer_identifier

        merchant_account_key = self.merchant_account_key

        product_key = self.product_key

        offer_key = self.offer_key

        entitlement_id = self.entitlement_id

        notification_url = self.notification_url

        date_expiry: str | Unset = UNSET
        if not isinstance(self.date_expiry, Unset):
            date_expiry = self.date_expiry.isoformat()

        extension_data: dict[str, Any] | Unset = UNSET
        if not isinstance(self.extension_data, Unset):
            extension_data = self.extension_data.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "customerIdentifier": customer_identifier,
                "merchantAccountKey": merchant_account_key,
                "productKey": product_key,
            }
        )
        if offer_key is not UNSET:
            field_dict["offerKey"] = offer_key
        if entitlement_id is not UNSET:
            field_dict["entitlementId"] = entitlement_id
        if notification_url is not UNSET:
            field_dict["notificationUrl"] = notification_url
        if date_expiry is not UNSET:
            field_dict["dateExpiry"] = date_expiry
        if extension_data is not UNSET:
            field_dict["extensionData"] = extension_data

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.extension_data import ExtensionData  # noqa: PLC0415

        d = dict(src_dict)
        customer_identifier = d.pop("customerIdentifier")

        merchant_account_key = d.pop("merchantAccountKey")

        product_key = d.pop("productKey")

        offer_key = d.pop("offerKey", UNSET)

        entitlement_id = d.pop("entitlementId", UNSET)

        notification_url = d.pop("notificationUrl", UNSET)

        _date_expiry = d.pop("dateExpiry", UNSET)
        date_expiry: datetime.datetime | Unset
        if isinstance(_date_expiry, Unset):
            date_expiry = UNSET
        else:
            date_expiry = datetime.datetime.fromisoformat(_date_expiry)

        _extension_data = d.pop("extensionData", UNSET)
        extension_data: ExtensionData | Unset
        if isinstance(_extension_data, Unset):
            extension_data = UNSET
        else:
            extension_data = ExtensionData.from_dict(_extension_data)

        create_entitlement_request = cls(
            customer_identifier=customer_identifier,
            merchant_account_key=merchant_account_key,
            product_key=product_key,
            offer_key=offer_key,
            entitlement_id=entitlement_id,
            notification_url=notification_url,
            date_expiry=date_expiry,
            extension_data=extension_data,
        )

        return create_entitlement_request
