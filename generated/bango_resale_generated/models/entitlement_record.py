from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.entitlement_status import EntitlementStatus

if TYPE_CHECKING:
    from ..models.extension_data import ExtensionData


T = TypeVar("T", bound="EntitlementRecord")


@_attrs_define
class EntitlementRecord:
    """An entitlement: one customer's right to one merchant product. Every field is always present; those that do not apply
    are `null`.

        Attributes:
            entitlement_id (str): Id of an entitlement, unique within the reseller's entitlements. The platform generates it
                (UUID-like); a reseller may supply its own on create.
            status (EntitlementStatus | str): The current status; unknown values may appear.
            date_created (datetime.datetime): An RFC 3339 date-time in UTC.
            date_activated (datetime.datetime | None): An RFC 3339 date-time in UTC, or `null` where none applies.
            date_ended (datetime.datetime | None): An RFC 3339 date-time in UTC, or `null` where none applies.
            date_suspended (datetime.datetime | None): An RFC 3339 date-time in UTC, or `null` where none applies.
            date_resumed (datetime.datetime | None): An RFC 3339 date-time in UTC, or `null` where none applies.
            date_last_updated (datetime.datetime): An RFC 3339 date-time in UTC.
            date_expiry (datetime.datetime | None): An RFC 3339 date-time in UTC, or `null` where none applies.
            customer_identifier (str): The reseller's own opaque and persistent id for the customer. Never put personal data
                such as a phone number or e-mail address here.
            merchant_account_key (str): Identifies the merchant.
            product_key (str): Identifies the merchant's service.
            offer_key (None | str):
            activation_code (None | str):
            entitlement_display_name (None | str):
            notification_url (None | str): Where status-change notifications go.
            extension_data (ExtensionData): Free-form reseller data. Cancel, revoke and suspend also record their reason and
                any custom properties here. Bounded after every merge: at most 64 properties (`maxProperties`) and 16384 bytes
                as compact JSON (`x-max-bytes`); a create, update, cancel, revoke or suspend that would pass either bound is
                refused with `BAD_REQUEST` naming `extensionData`, and nothing is stored. Like any request body, it nests at
                most 16 levels counted from the body (`x-max-json-depth`).
    """

    entitlement_id: str
    status: EntitlementStatus | str
    date_created: datetime.datetime
    date_activated: datetime.datetime | None
    date_ended: datetime.datetime | None
    date_suspended: datetime.datetime | None
    date_resumed: datetime.datetime | None
    date_last_updated: datetime.datetime
    date_expiry: datetime.datetime | None
    customer_identifier: str
    merchant_account_key: str
    product_key: str
    offer_key: None | str
    activation_code: None | str
    entitlement_display_name: None | str
    notification_url: None | str
    extension_data: ExtensionData
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        entitlement_id = self.entitlement_id

        status: str
        if isinstance(self.status, EntitlementStatus):
            status = self.status.value
        else:
            status = self.status

        date_created = self.date_created.isoformat()

        date_activated: None | str
        if isinstance(self.date_activated, datetime.datetime):
            date_activated = self.date_activated.isoformat()
        else:
            date_activated = self.date_activated

        date_ended: None | str
        if isinstance(self.date_ended, datetime.datetime):
            date_ended = self.date_ended.isoformat()
        else:
            date_ended = self.date_ended

        date_suspended: None | str
        if isinstance(self.date_suspended, datetime.datetime):
            date_suspended = self.date_suspended.isoformat()
        else:
            date_suspended = self.date_suspended

        date_resumed: None | str
        if isinstance(self.date_resumed, datetime.datetime):
            date_resumed = self.date_resumed.isoformat()
        else:
            date_resumed = self.date_resumed

        date_last_updated = self.date_last_updated.isoformat()

        date_expiry: None | str
        if isinstance(self.date_expiry, datetime.datetime):
            date_expiry = self.date_expiry.isoformat()
        else:
            date_expiry = self.date_expiry

        customer_identifier = self.customer_identifier

        merchant_account_key = self.merchant_account_key

        product_key = self.product_key

        offer_key: None | str
        offer_key = self.offer_key

        activation_code: None | str
        activation_code = self.activation_code

        entitlement_display_name: None | str
        entitlement_display_name = self.entitlement_display_name

        notification_url: None | str
        notification_url = self.notification_url

        extension_data = self.extension_data.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "entitlementId": entitlement_id,
                "status": status,
                "dateCreated": date_created,
                "dateActivated": date_activated,
                "dateEnded": date_ended,
                "dateSuspended": date_suspended,
                "dateResumed": date_resumed,
                "dateLastUpdated": date_last_updated,
                "dateExpiry": date_expiry,
                "customerIdentifier": customer_identifier,
                "merchantAccountKey": merchant_account_key,
                "productKey": product_key,
                "offerKey": offer_key,
                "activationCode": activation_code,
                "entitlementDisplayName": entitlement_display_name,
                "notificationUrl": notification_url,
                "extensionData": extension_data,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.extension_data import ExtensionData  # noqa: PLC0415

        d = dict(src_dict)
        entitlement_id = d.pop("entitlementId")

        def _parse_status(data: object) -> EntitlementStatus | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                status_type_0 = EntitlementStatus(data)

                return status_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EntitlementStatus | str, data)

        status = _parse_status(d.pop("status"))

        date_created = datetime.datetime.fromisoformat(d.pop("dateCreated"))

        def _parse_date_activated(data: object) -> datetime.datetime | None:
            if data is None:
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
            return cast(datetime.datetime | None, data)

        date_activated = _parse_date_activated(d.pop("dateActivated"))

        def _parse_date_ended(data: object) -> datetime.datetime | None:
            if data is None:
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
            return cast(datetime.datetime | None, data)

        date_ended = _parse_date_ended(d.pop("dateEnded"))

        def _parse_date_suspended(data: object) -> datetime.datetime | None:
            if data is None:
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
            return cast(datetime.datetime | None, data)

        date_suspended = _parse_date_suspended(d.pop("dateSuspended"))

        def _parse_date_resumed(data: object) -> datetime.datetime | None:
            if data is None:
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
            return cast(datetime.datetime | None, data)

        date_resumed = _parse_date_resumed(d.pop("dateResumed"))

        date_last_updated = datetime.datetime.fromisoformat(d.pop("dateLastUpdated"))

        def _parse_date_expiry(data: object) -> datetime.datetime | None:
            if data is None:
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
            return cast(datetime.datetime | None, data)

        date_expiry = _parse_date_expiry(d.pop("dateExpiry"))

        customer_identifier = d.pop("customerIdentifier")

        merchant_account_key = d.pop("merchantAccountKey")

        product_key = d.pop("productKey")

        def _parse_offer_key(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        offer_key = _parse_offer_key(d.pop("offerKey"))

        def _parse_activation_code(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        activation_code = _parse_activation_code(d.pop("activationCode"))

        def _parse_entitlement_display_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        entitlement_display_name = _parse_entitlement_display_name(
            d.pop("entitlementDisplayName")
        )

        def _parse_notification_url(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        notification_url = _parse_notification_url(d.pop("notificationUrl"))

        extension_data = ExtensionData.from_dict(d.pop("extensionData"))

        entitlement_record = cls(
            entitlement_id=entitlement_id,
            status=status,
            date_created=date_created,
            date_activated=date_activated,
            date_ended=date_ended,
            date_suspended=date_suspended,
            date_resumed=date_resumed,
            date_last_updated=date_last_updated,
            date_expiry=date_expiry,
            customer_identifier=customer_identifier,
            merchant_account_key=merchant_account_key,
            product_key=product_key,
            offer_key=offer_key,
            activation_code=activation_code,
            entitlement_display_name=entitlement_display_name,
            notification_url=notification_url,
            extension_data=extension_data,
        )

        entitlement_record.additional_properties = d
        return entitlement_record

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
