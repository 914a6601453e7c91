from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.reason_category import ReasonCategory
from ..models.reason_code import ReasonCode
from ..types import UNSET, Unset

T = TypeVar("T", bound="TerminateEntitlementRequest")


@_attrs_define
class TerminateEntitlementRequest:
    """Why the entitlement ends: a (category, code) pair from `x-reasons` and a description. Any further properties are
    custom data, stored with the reason in `extensionData`.

        Attributes:
            cancel_reason_category (ReasonCategory): The category half of a standard reason. Valid pairs are those in
                `x-reasons`, plus any category with `OTHER` (see `x-reason-fallback`).
            cancel_reason_code (ReasonCode): The code half of a standard reason. A code alone is ambiguous: it is read with
                its category, and only the pairs in `x-reasons` are accepted, plus `OTHER` with any category when no listed code
                fits (Bango's own rule, see `x-reason-fallback`).
            cancel_reason_description (str | Unset): Human-readable detail; the sample descriptions in `x-reasons` are a
                good start.
    """

    cancel_reason_category: ReasonCategory
    cancel_reason_code: ReasonCode
    cancel_reason_description: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cancel_reason_category = self.cancel_reason_category.value

        cancel_reason_code = self.cancel_reason_code.value

        cancel_reason_description = self.cancel_reason_description

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "cancelReasonCategory": cancel_reason_category,
                "cancelReasonCode": cancel_reason_code,
            }
        )
        if cancel_reason_description is not UNSET:
            field_dict["cancelReasonDescription"] = cancel_reason_description

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        cancel_reason_category = ReasonCategory(d.pop("cancelReasonCategory"))

        cancel_reason_code = ReasonCode(d.pop("cancelReasonCode"))

        cancel_reason_description = d.pop("cancelReasonDescription", UNSET)

        terminate_entitlement_request = cls(
            cancel_reason_category=cancel_reason_category,
            cancel_reason_code=cancel_reason_code,
            cancel_reason_description=cancel_reason_description,
        )

        terminate_entitlement_request.additional_properties = d
        return terminate_entitlement_request

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
