from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.extension_data import ExtensionData


T = TypeVar("T", bound="EntitlementChanges")


@_attrs_define
class EntitlementChanges:
    """The entitlement to change and at least one field to change.

    Attributes:
        entitlement_id (str): Id of an entitlement, unique within the reseller's entitlements. The platform generates it
            (UUID-like); a reseller may supply its own on create.
        product_key (str | Unset): Identifies the merchant's service.
        offer_key (None | str | Unset): An offer key as `OfferKey` describes it, or `null` to clear the offer.
        notification_url (None | str | Unset): A notification URL as `NotificationUrl` describes it, or `null` to stop
            notifications.
        date_expiry (datetime.datetime | None | Unset): An RFC 3339 date-time in UTC, or `null` where none applies.
        customer_identifier (str | Unset): The reseller's own opaque and persistent id for the customer. Never put
            personal data such as a phone number or e-mail address here.
        extension_data (ExtensionData | Unset): Free-form reseller data. Cancel, revoke and suspend also record their
            reason and any custom properties here. Bounded after every merge: at most 64 properties (`maxProperties`) and
            16384 bytes as compact JSON (`x-max-bytes`); a create, update, cancel, revoke or suspend that would pass either
            bound is refused with `BAD_REQUEST` naming `extensionData`, and nothing is stored. Like any request body, it
            nests at most 16 levels counted from the body (`x-max-json-depth`).
    """

    entitlement_id: str
    product_key: str | Unset = UNSET
    offer_key: None | str | Unset = UNSET
    notification_url: None | str | Unset = UNSET
    date_expiry: datetime.datetime | None | Unset = UNSET
    customer_identifier: str | Unset = UNSET
    extension_data: ExtensionData | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        entitlement_id = self.entitlement_id

        product_key = self.product_key

        offer_key: None | str | Unset
        if isinstance(self.offer_key, Unset):
            offer_key = UNSET
        else:
            offer_key = self.offer_key

        notification_url: None | str | Unset
        if isinstance(self.notification_url, Unset):
            notification_url = UNSET
        else:
            notification_url = self.notification_url

        date_expiry: None | str | Unset
        if isinstance(self.date_expiry, Unset):
            date_expiry = UNSET
        elif isinstance(self.date_expiry, datetime.datetime):
            date_expiry = self.date_expiry.isoformat()
        else:
            date_expiry = self.date_expiry

        customer_identifier = self.customer_identifier

        extension_data: dict[str, Any] | Unset = UNSET
        if not isinstance(self.extension_data, Unset):
            extension_data = self.extension_data.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "entitlementId": entitlement_id,
            }
        )
        if product_key is not UNSET:
            field_dict["productKey"] = product_key
        if offer_key is not UNSET:
            field_dict["offerKey"] = offer_key
        if notification_url is not UNSET:
            field_dict["notificationUrl"] = notification_url
        if date_expiry is not UNSET:
            field_dict["dateExpiry"] = date_expiry
        if customer_identifier is not UNSET:
            field_dict["customerIdentifier"] = customer_identifier
        if extension_data is not UNSET:
            field_dict["extensionData"] = extension_data

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.extension_data import ExtensionData  # noqa: PLC0415

        d = dict(src_dict)
        entitlement_id = d.pop("entitlementId")

        product_key = d.pop("productKey", UNSET)

        def _parse_offer_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        offer_key = _parse_offer_key(d.pop("offerKey", UNSET))

        def _parse_notification_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        notification_url = _parse_notification_url(d.pop("notificationUrl", UNSET))

        def _parse_date_expiry(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_nullable_timestamp_type_0 = (
                    datetime.datetime.fromisoformat(data)
                )

                return componentsschemas_nullable_timestamp_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        date_expiry = _parse_date_expiry(d.pop("dateExpiry", UNSET))

        customer_identifier = d.pop("customerIdentifier", UNSET)

        _extension_data = d.pop("extensionData", UNSET)
        extension_data: ExtensionData | Unset
        if isinstance(_extension_data, Unset):
            extension_data = UNSET
        else:
            extension_data = ExtensionData.from_dict(_extension_data)

        entitlement_changes = cls(
            entitlement_id=entitlement_id,
            product_key=product_key,
            offer_key=offer_key,
            notification_url=notification_url,
            date_expiry=date_expiry,
            customer_identifier=customer_identifier,
            extension_data=extension_data,
        )

        return entitlement_changes
