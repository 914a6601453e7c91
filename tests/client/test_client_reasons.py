"""Reasons come from the spec's table; bad pairs are refused before sending."""

from __future__ import annotations

import warnings

import pytest
from client_helpers import Script, envelope, record

import bango_resale as br
import bango_resale_spec as spec
from bango_resale import Reason, ResaleClient


def test_reasons_mirror_the_spec_table() -> None:
    rows = spec.reason_rows()
    assert [r.index for r in Reason.all()] == [r.index for r in rows]
    assert {r.pair for r in Reason.all()} == {(r.category, r.code) for r in rows}


def test_lookup_by_bango_index_tells_rows_sharing_a_pair_apart() -> None:
    shared = [r for r in Reason.all() if r.pair == ("REVOKED", "OTHER")]
    assert len(shared) == 2
    first, second = shared
    assert Reason.by_index(first.index).description == first.description
    assert Reason.by_index(second.index).description != first.description


@pytest.mark.parametrize("category", sorted({r.category for r in spec.reason_rows()}))
def test_other_is_accepted_with_every_category_as_bangos_table_says(category: str) -> None:
    reason = Reason.of(category, "OTHER")
    assert reason.pair == (category, "OTHER")
    assert reason.description
    assert Reason.parse(f"{category}/OTHER").pair == (category, "OTHER")


def test_other_pair_is_sent_with_the_callers_description(
    client: ResaleClient, script: Script
) -> None:
    script.then(200, envelope("OK", **record(status="ACTIVE-ENDING")))
    client.cancel("ent-1", ("CUSTOMER_CANCELLED", "OTHER"), description="Moved abroad")
    body = script.body()
    assert (body["cancelReasonCategory"], body["cancelReasonCode"]) == (
        "CUSTOMER_CANCELLED",
        "OTHER",
    )
    assert body["cancelReasonDescription"] == "Moved abroad"


def test_unknown_index_is_refused() -> None:
    with pytest.raises(br.InvalidArgumentError, match="index 99"):
        Reason.by_index(99)


def test_invalid_pair_names_the_closest_valid_pairs() -> None:
    with pytest.raises(br.InvalidReasonError) as caught:
        Reason.of("REVOKED", "FRAUD")
    assert ("ACTIVATION_ROLLBACK", "FRAUD") in caught.value.suggestions
    assert "ACTIVATION_ROLLBACK/FRAUD" in str(caught.value)
    assert caught.value.field == "reason"


def test_misspelt_pair_suggests_the_right_spelling() -> None:
    with pytest.raises(br.InvalidReasonError) as caught:
        Reason.of("CUSTOMER_CANCELED", "NOT_RENEWED")
    assert caught.value.suggestions[0] == ("CUSTOMER_CANCELLED", "NOT_RENEWED")


def test_parse_accepts_pair_text_and_index() -> None:
    assert Reason.parse("customer_cancelled/not_renewed").index == 1
    assert Reason.parse("REVOKED:OTHER").pair == ("REVOKED", "OTHER")
    assert Reason.parse("18").index == 18
    with pytest.raises(br.InvalidArgumentError):
        Reason.parse("whatever")


def test_invalid_pair_sends_nothing(client: ResaleClient, script: Script) -> None:
    script.then(200, envelope("OK", **record()))
    with pytest.raises(br.InvalidReasonError):
        client.cancel("ent-1", ("CUSTOMER_CANCELLED", "FRAUD"))
    with pytest.raises(br.InvalidReasonError):
        client.revoke("ent-1", "REVOKED/FRAUD")
    with pytest.raises(br.InvalidArgumentError, match="CATEGORY/CODE"):
        client.suspend("ent-1", "fraud")
    assert script.requests == []


@pytest.mark.parametrize(
    ("given", "pair"),
    [
        ("REVOKED/OTHER", ("REVOKED", "OTHER")),
        ("customer_cancelled:not_renewed", ("CUSTOMER_CANCELLED", "NOT_RENEWED")),
        (" ACTIVATION_ROLLBACK/FRAUD_CHECK ", ("ACTIVATION_ROLLBACK", "FRAUD_CHECK")),
        ("17", ("REVOKED", "OTHER")),
    ],
)
def test_a_reason_may_be_given_as_the_text_the_cli_takes(
    given: str, pair: tuple[str, str], client: ResaleClient, script: Script
) -> None:
    script.then(200, envelope("OK", **record()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", br.ReasonWarning)
        client.revoke("ent-1", given)
        client.suspend("ent-1", given)
    revoke, suspend = script.body(0), script.body(1)
    assert (revoke["cancelReasonCategory"], revoke["cancelReasonCode"]) == pair
    assert (suspend["reasonCategory"], suspend["reasonCode"]) == pair


def test_suspend_preferred_reason_warns_on_cancel_but_not_on_suspend(
    client: ResaleClient, script: Script
) -> None:
    preferred = next(r for r in Reason.all() if r.suspend_preferred)
    script.then(200, envelope("OK", **record()))
    with pytest.warns(br.ReasonWarning, match="suspend"):
        client.cancel("ent-1", preferred)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.suspend("ent-1", preferred)
    assert len(script.requests) == 2


def test_platform_only_reason_warns(client: ResaleClient, script: Script) -> None:
    platform_only = next(r for r in Reason.all() if r.applied_by_platform)
    assert platform_only.code == "EXPIRED"
    script.then(200, envelope("OK", **record()))
    with pytest.warns(br.ReasonWarning, match="platform"):
        client.cancel("ent-1", platform_only)
    assert len(script.requests) == 1


def test_reason_warning_points_at_the_callers_line(client: ResaleClient, script: Script) -> None:
    # Called directly, not through a helper: the warning must name this very line.
    platform_only = next(r for r in Reason.all() if r.applied_by_platform)
    script.then(200, envelope("OK", **record()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.cancel("ent-1", platform_only)
        client.terminate("ent-1", platform_only, immediate=False)
        client.suspend("ent-1", platform_only)
    assert [w.category for w in caught] == [br.ReasonWarning] * 3
    assert [w.filename for w in caught] == [__file__] * 3


def test_async_reason_warning_points_at_the_callers_line(script: Script) -> None:
    import asyncio

    import httpx

    platform_only = next(r for r in Reason.all() if r.applied_by_platform)
    script.then(200, envelope("OK", **record()))

    async def run() -> None:
        async with br.AsyncResaleClient(
            "http://bango.test", "u", "p", transport=httpx.MockTransport(script)
        ) as client:
            await client.cancel("ent-1", platform_only)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(run())
    assert [w.filename for w in caught if w.category is br.ReasonWarning] == [__file__]
