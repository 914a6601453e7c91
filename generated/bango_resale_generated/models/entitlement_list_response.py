from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.response_code import ResponseCode

if TYPE_CHECKING:
    from ..models.entitlement_record import EntitlementRecord


T = TypeVar("T", bound="EntitlementListResponse")


@_attrs_define
class EntitlementListResponse:
    """The envelope and the list of matching entitlements.

    Attributes:
        response_code (ResponseCode | str): What happened. Branch on this value; unknown values may appear.
        response_message (str): Wording for people (logs, support); it may change at any time, so code reads
            `responseCode` instead.
        entitlements (list[EntitlementRecord]):
    """

    response_code: ResponseCode | str
    response_message: str
    entitlements: list[EntitlementRecord]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        response_code: str
        if isinstance(self.response_code, ResponseCode):
            response_code = self.response_code.value
        else:
            response_code = self.response_code

        response_message = self.response_message

        entitlements = []
        for entitlements_item_data in self.entitlements:
            entitlements_item = entitlements_item_data.to_dict()
            entitlements.append(entitlements_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "responseCode": response_code,
                "responseMessage": response_message,
                "entitlements": entitlements,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.entitlement_record import EntitlementRecord  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_response_code(data: object) -> ResponseCode | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                response_code_type_0 = ResponseCode(data)

                return response_code_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ResponseCode | str, data)

        response_code = _parse_response_code(d.pop("responseCode"))

        response_message = d.pop("responseMessage")

        entitlements = []
        _entitlements = d.pop("entitlements")
        for entitlements_item_data in _entitlements:
            entitlements_item = EntitlementRecord.from_dict(entitlements_item_data)

            entitlements.append(entitlements_item)

        entitlement_list_response = cls(
            response_code=response_code,
            response_message=response_message,
            entitlements=entitlements,
        )

        entitlement_list_response.additional_properties = d
        return entitlement_list_response

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
