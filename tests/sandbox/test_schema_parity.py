"""The partner spec's request schemas are as strict as the sandbox: a value the schema accepts is
one the sandbox takes (tools generate requests from the schema and expect them to work), and a
refusal names the real problem."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bango_resale_spec as spec
from bango_resale_sandbox import domain, wire
from bango_resale_spec import compiled

from support.api import Api


def _validator(schema_name: str) -> Any:
    return compiled.schema(schema_name)


def _service_takes_url(url: str) -> bool:
    try:
        wire.create_command(
            {
                "customerIdentifier": "c",
                "merchantAccountKey": "BANGO",
                "productKey": "BangoMusic",
                "notificationUrl": url,
            }
        )
    except domain.DomainError:
        return False
    return True


URL_LIKE = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(["http", "https", "HTTPS", "hTtP", "ftp", "", "http:"]),
        st.sampled_from(["://", ":/", ":", "///"]),
        st.text(alphabet="ab9.-_~:@[]%v!$&'()*+,;=", max_size=12),
        st.text(alphabet="/?#a@:%2F.[]", max_size=8),
    ),
)


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(URL_LIKE)
def test_every_notification_url_the_schema_accepts_the_sandbox_takes(url: str) -> None:
    for name in ("NotificationUrl", "NullableNotificationUrl"):
        if _validator(name).is_valid(url):
            assert _service_takes_url(url), f"{name} accepts {url!r}; the sandbox refuses it"


@pytest.mark.parametrize(
    "url",
    ["https://", "http://", "https://user:pw@host/", "http://:80/x", "ftp://host/"],
)
def test_notification_urls_the_sandbox_refuses_the_schema_refuses(url: str) -> None:
    assert not _service_takes_url(url)
    assert not _validator("NotificationUrl").is_valid(url)
    assert not _validator("NullableNotificationUrl").is_valid(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://reseller.example.net/bango/notifications",
        "http://127.0.0.1:8080/hook?x=1#f",
        "http://[::1]:9/h",
        "HTTPS://Example.COM",
    ],
)
def test_ordinary_notification_urls_pass_both(url: str) -> None:
    assert _validator("NotificationUrl").is_valid(url)
    assert _service_takes_url(url)


def test_the_nullable_schemas_say_what_their_base_says() -> None:
    schemas = spec.load_partner_spec()["components"]["schemas"]
    for base, nullable in (
        ("NotificationUrl", "NullableNotificationUrl"),
        ("OfferKey", "NullableOfferKey"),
        ("Timestamp", "NullableTimestamp"),
    ):
        ignored = {"type", "description", "examples", "x-modelled"}
        strip = {k: v for k, v in schemas[base].items() if k not in ignored}
        assert {k: v for k, v in schemas[nullable].items() if k not in ignored} == strip
        assert schemas[nullable]["type"] == [schemas[base]["type"], "null"]


DATE_TIME = st.builds(
    "{:04d}-{:02d}-{:02d}{}{:02d}:{:02d}:{:02d}{}{}".format,
    st.integers(0, 9999),
    st.integers(1, 12),
    st.integers(1, 31),
    st.sampled_from(["T", "t"]),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 60),
    st.sampled_from(["", ".5", ".123456789"]),
    st.sampled_from(["Z", "z", "+00:00", "-00:00", "+05:30", "-12:00", "+14:00"]),
)


@settings(max_examples=3000, deadline=None)
@given(DATE_TIME)
def test_every_date_time_the_schema_accepts_the_sandbox_reads(text: str) -> None:
    if _validator("Timestamp").is_valid(text):
        wire.parse_time(text)  # raises if the sandbox would refuse it


@pytest.mark.parametrize(
    ("text", "read_as"),
    [
        ("2026-11-23t09:30:00z", "2026-11-23T09:30:00.000Z"),
        ("1990-12-31T23:59:60Z", "1991-01-01T00:00:00.000Z"),
        ("0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00.000Z"),
        ("9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59.999Z"),
    ],
)
def test_edge_date_times_are_read_as_rfc_3339_allows(text: str, read_as: str) -> None:
    assert _validator("Timestamp").is_valid(text)
    assert wire.format_time(wire.parse_time(text)) == read_as


@pytest.mark.parametrize(
    ("send", "field", "category"),
    [
        ("suspend", "reasonCode", "reasonCategory"),
        ("cancel", "cancelReasonCode", "cancelReasonCategory"),
        ("revoke", "cancelReasonCode", "cancelReasonCategory"),
    ],
)
def test_a_reason_code_of_another_category_is_named_with_its_category(
    api: Api, customer: str, send: str, field: str, category: str
) -> None:
    entitlement_id = api.create_id(customer)
    if send == "suspend":
        answer = api.update(
            entitlement_id,
            entitlementBenefits="SUSPENDED",
            reasonCategory="REVOKED",
            reasonCode="NOT_RENEWED",
        )
    else:
        answer = getattr(api, send)(
            entitlement_id, cancelReasonCategory="REVOKED", cancelReasonCode="NOT_RENEWED"
        )
    assert answer.status_code == 400, answer.text
    message = answer.json()["responseMessage"]
    assert message.startswith(f'{field}: "NOT_RENEWED" is not one of "ACCOUNT_TERMINATED"')
    assert message.endswith(f'when {category} is "REVOKED"'), message
    assert "Additional properties" not in message
    assert api.status(entitlement_id) == "ACTIVE"


def test_a_notification_url_with_user_info_is_refused_in_words(api: Api, customer: str) -> None:
    answer = api.create(customer, notificationUrl="https://user:pw@reseller.example.net/h")
    assert answer.status_code == 400
    message = answer.json()["responseMessage"]
    assert message.startswith("notificationUrl: ")
    assert "user info" in message and "[Hh]" not in message
