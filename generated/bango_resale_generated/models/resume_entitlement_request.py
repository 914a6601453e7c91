from __future__ import annotations

from collections.abc import Mapping
from typing import (
    Any,
    Literal,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define

T = TypeVar("T", bound="ResumeEntitlementRequest")


@_attrs_define
class ResumeEntitlementRequest:
    """Resume a suspended entitlement.

    Attributes:
        entitlement_id (str): Id of an entitlement, unique within the reseller's entitlements. The platform generates it
            (UUID-like); a reseller may supply its own on create.
        entitlement_benefits (Literal['NORMAL']): `NORMAL` asks for a resume.
    """

    entitlement_id: str
    entitlement_benefits: Literal["NORMAL"]

    def to_dict(self) -> dict[str, Any]:
        entitlement_id = self.entitlement_id

        entitlement_benefits = self.entitlement_benefits

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "entitlementId": entitlement_id,
                "entitlementBenefits": entitlement_benefits,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        entitlement_id = d.pop("entitlementId")

        entitlement_benefits = cast(Literal["NORMAL"], d.pop("entitlementBenefits"))
        if entitlement_benefits != "NORMAL":
            raise ValueError(
                f"entitlementBenefits must match const 'NORMAL', got '{entitlement_benefits}'"
            )

        resume_entitlement_request = cls(
            entitlement_id=entitlement_id,
            entitlement_benefits=entitlement_benefits,
        )

        return resume_entitlement_request
