from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.response_code import ResponseCode

T = TypeVar("T", bound="Envelope")


@_attrs_define
class Envelope:
    """The two fields every response body carries.

    Attributes:
        response_code (ResponseCode | str): What happened. Branch on this value; unknown values may appear.
        response_message (str): Wording for people (logs, support); it may change at any time, so code reads
            `responseCode` instead.
    """

    response_code: ResponseCode | str
    response_message: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        response_code: str
        if isinstance(self.response_code, ResponseCode):
            response_code = self.response_code.value
        else:
            response_code = self.response_code

        response_message = self.response_message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "responseCode": response_code,
                "responseMessage": response_message,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
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

        envelope = cls(
            response_code=response_code,
            response_message=response_message,
        )

        envelope.additional_properties = d
        return envelope

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
