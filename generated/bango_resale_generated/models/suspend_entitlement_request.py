from __future__ import annotations

from collections.abc import Mapping
from typing import (
    Any,
    Literal,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define

from ..models.reason_category import ReasonCategory
from ..models.reason_code import ReasonCode
from ..types import UNSET, Unset

T = TypeVar("T", bound="SuspendEntitlementRequest")


@_attrs_define
class SuspendEntitlementRequest:
    """Suspend the entitlement, giving a standard reason pair from `x-reasons`. The reason is kept in the record's
    `extensionData` under the names in `x-stored-as`.

        Attributes:
            entitlement_id (str): Id of an entitlement, unique within the reseller's entitlements. The platform generates it
                (UUID-like); a reseller may supply its own on create.
            entitlement_benefits (Literal['SUSPENDED']): `SUSPENDED` asks for a suspend.
            reason_category (ReasonCategory): The category half of a standard reason. Valid pairs are those in `x-reasons`,
                plus any category with `OTHER` (see `x-reason-fallback`).
            reason_code (ReasonCode): The code half of a standard reason. A code alone is ambiguous: it is read with its
                category, and only the pairs in `x-reasons` are accepted, plus `OTHER` with any category when no listed code
                fits (Bango's own rule, see `x-reason-fallback`).
            reason_description (str | Unset): Human-readable detail; the sample descriptions in `x-reasons` are a good
                start.
    """

    entitlement_id: str
    entitlement_benefits: Literal["SUSPENDED"]
    reason_category: ReasonCategory
    reason_code: ReasonCode
    reason_description: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        entitlement_id = self.entitlement_id

        entitlement_benefits = self.entitlement_benefits

        reason_category = self.reason_category.value

        reason_code = self.reason_code.value

        reason_description = self.reason_description

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "entitlementId": entitlement_id,
                "entitlementBenefits": entitlement_benefits,
                "reasonCategory": reason_category,
                "reasonCode": reason_code,
            }
        )
        if reason_description is not UNSET:
            field_dict["reasonDescription"] = reason_description

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        entitlement_id = d.pop("entitlementId")

        entitlement_benefits = cast(Literal["SUSPENDED"], d.pop("entitlementBenefits"))
        if entitlement_benefits != "SUSPENDED":
            raise ValueError(
                f"entitlementBenefits must match const 'SUSPENDED', got '{entitlement_benefits}'"
            )

        reason_category = ReasonCategory(d.pop("reasonCategory"))

        reason_code = ReasonCode(d.pop("reasonCode"))

        reason_description = d.pop("reasonDescription", UNSET)

        suspend_entitlement_request = cls(
            entitlement_id=entitlement_id,
            entitlement_benefits=entitlement_benefits,
            reason_category=reason_category,
            reason_code=reason_code,
            reason_description=reason_description,
        )

        return suspend_entitlement_request
