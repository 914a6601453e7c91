from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.client_action import ClientAction
from ..types import UNSET, Unset

T = TypeVar("T", bound="ClientActionParameters")


@_attrs_define
class ClientActionParameters:
    """What the caller must do next. Present with `CLIENT_ACTION_REQUIRED`, and with the activation-info answer of a
    merchant that signs customers up on a web page.

        Attributes:
            action (ClientAction | str): The action to take; unknown values may appear and must be reported.
            url (str | Unset): For `NAVIGATE_TO_URL`: the merchant's page for this customer. It is unique per customer and
                can be long.
            url_expiry (datetime.datetime | Unset): An RFC 3339 date-time in UTC.
    """

    action: ClientAction | str
    url: str | Unset = UNSET
    url_expiry: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        action: str
        if isinstance(self.action, ClientAction):
            action = self.action.value
        else:
            action = self.action

        url = self.url

        url_expiry: str | Unset = UNSET
        if not isinstance(self.url_expiry, Unset):
            url_expiry = self.url_expiry.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "action": action,
            }
        )
        if url is not UNSET:
            field_dict["url"] = url
        if url_expiry is not UNSET:
            field_dict["urlExpiry"] = url_expiry

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_action(data: object) -> ClientAction | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                action_type_0 = ClientAction(data)

                return action_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ClientAction | str, data)

        action = _parse_action(d.pop("action"))

        url = d.pop("url", UNSET)

        _url_expiry = d.pop("urlExpiry", UNSET)
        url_expiry: datetime.datetime | Unset
        if isinstance(_url_expiry, Unset):
            url_expiry = UNSET
        else:
            url_expiry = datetime.datetime.fromisoformat(_url_expiry)

        client_action_parameters = cls(
            action=action,
            url=url,
            url_expiry=url_expiry,
        )

        client_action_parameters.additional_properties = d
        return client_action_parameters

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
