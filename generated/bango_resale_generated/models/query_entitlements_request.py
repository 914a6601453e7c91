from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.entitlement_status import EntitlementStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="QueryEntitlementsRequest")


@_attrs_define
class QueryEntitlementsRequest:
    """Which customer's entitlements to list, with optional filters.

    Attributes:
        customer_identifier (str): The reseller's own opaque and persistent id for the customer. Never put personal data
            such as a phone number or e-mail address here.
        merchant_account_key (str | Unset): Identifies the merchant.
        product_key (str | Unset): Identifies the merchant's service.
        status (EntitlementStatus | Unset): Where the entitlement is in its life:
            - `PENDING`: waiting for the merchant or for the customer's sign-up.
            - `ACTIVE`: the customer has access.
            - `ACTIVE-ENDING`: cancelled; access continues until `dateEnded`.
            - `SUSPENDED`: access paused; resume gives it back.
            - `CANCELLED`: ended softly (terminal; only the deprecated reactivate leaves it).
            - `REVOKED`: ended at once (terminal; nothing leaves it, reactivate included).
            - `FAILED`: the platform lost track of the merchant's state.
    """

    customer_identifier: str
    merchant_account_key: str | Unset = UNSET
    product_key: str | Unset = UNSET
    status: EntitlementStatus | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        customer_identifier = self.customer_identifier

        merchant_account_key = self.merchant_account_key

        product_key = self.product_key

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "customerIdentifier": customer_identifier,
            }
        )
        if merchant_account_key is not UNSET:
            field_dict["merchantAccountKey"] = merchant_account_key
        if product_key is not UNSET:
            field_dict["productKey"] = product_key
        if status is not UNSET:
            field_dict["status"] = status

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        customer_identifier = d.pop("customerIdentifier")

        merchant_account_key = d.pop("merchantAccountKey", UNSET)

        product_key = d.pop("productKey", UNSET)

        _status = d.pop("status", UNSET)
        status: EntitlementStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = EntitlementStatus(_status)

        query_entitlements_request = cls(
            customer_identifier=customer_identifier,
            merchant_account_key=merchant_account_key,
            product_key=product_key,
            status=status,
        )

        return query_entitlements_request
