"""Every row of contract section 3, driven over real HTTP against a running sandbox.

Each response is also checked against the partner spec (status documented, body schema,
responseCode and record status listed for that response).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from bango_resale_sandbox.testing import DEMO_RESELLER, SandboxThread

from support.api import Api, check_conforms

pytestmark = pytest.mark.integration

ACTIVATED = "CREATE_REQUEST_RETURNS_ACTIVATED"
CREATED = "CREATE_REQUEST_RETURNS_CREATED"
NEEDS_SIGNUP = "CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED"
DAY = 86400


@pytest.fixture(scope="module")
def clock_api(fresh_database: Callable[[], str]) -> Iterator[Api]:
    """A sandbox of this module's own, because these tests move the reseller's clock."""
    with SandboxThread(fresh_database()) as server:
        client = Api(server.base_url, DEMO_RESELLER)
        yield client
        client.close()


def sign_up(url: str) -> httpx.Response:
    """What a person does with a NAVIGATE_TO_URL link: open the page, press the button."""
    page = httpx.get(url)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post">' in page.text
    return httpx.post(url, data={"confirm": "yes"})


# -- create -------------------------------------------------------------------------------


def test_create_with_immediate_activation_is_active_with_200(api: Api, customer: str) -> None:
    body = check_conforms(api.create(customer), "createEntitlement")
    assert (body["responseCode"], body["status"]) == ("OK", "ACTIVE")
    assert body["dateActivated"] is not None
    assert api.notification_types(body["entitlementId"]) == ["ACTIVATION_SUCCESS"]


def test_create_activated_later_without_user_step_is_pending_with_201(
    api: Api, customer: str
) -> None:
    response = api.create(customer, merchant="BANGO_US", product="MUSIC_PREMIUM")
    assert response.status_code == 201
    body = check_conforms(response, "createEntitlement")
    assert (body["status"], body["dateActivated"]) == ("PENDING", None)
    assert "parameters" not in body
    completed = api.complete(body["entitlementId"])
    assert completed.json()["status"] == "ACTIVE"
    assert api.notification_types(body["entitlementId"]) == ["ACTIVATION_SUCCESS"]


def test_create_needing_sign_up_answers_202_with_navigate_to_url(api: Api, customer: str) -> None:
    response = api.create(customer, merchant="BANGO_US", product="MUSIC")
    assert response.status_code == 202
    body = check_conforms(response, "createEntitlement")
    assert (body["responseCode"], body["status"]) == ("CLIENT_ACTION_REQUIRED", "PENDING")
    parameters = body["parameters"]
    assert parameters["action"] == "NAVIGATE_TO_URL"
    assert parameters["url"].startswith(f"{api.base_url}/sandbox/activate/")
    assert parameters["urlExpiry"] > body["dateCreated"]


def test_user_completing_sign_up_activates_and_notifies(api: Api, customer: str) -> None:
    body = api.create(customer, magic=NEEDS_SIGNUP).json()
    done = sign_up(body["parameters"]["url"])
    assert done.status_code == 200
    assert "ACTIVE" in done.text
    record = check_conforms(api.get(body["entitlementId"]), "getEntitlement")
    assert record["status"] == "ACTIVE"
    assert record["dateActivated"] is not None
    assert api.notification_types(body["entitlementId"]) == ["ACTIVATION_SUCCESS"]
    # The link is spent once the entitlement is no longer PENDING.
    assert httpx.get(body["parameters"]["url"]).status_code == 409


def test_identical_create_while_pending_returns_same_entitlement_with_fresh_url(
    api: Api, customer: str
) -> None:
    first = api.create(customer, magic=NEEDS_SIGNUP).json()
    again = api.create(customer, magic=NEEDS_SIGNUP)
    body = check_conforms(again, "createEntitlement")
    assert body["entitlementId"] == first["entitlementId"]
    assert body["parameters"]["url"] != first["parameters"]["url"]
    assert len(api.query(customer).json()["entitlements"]) == 1


def test_create_with_a_used_entitlement_id_is_already_exists(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    response = api.create(customer + "-other", entitlementId=entitlement_id)
    assert response.status_code == 409
    assert check_conforms(response, "createEntitlement")["responseCode"] == "ALREADY_EXISTS"


def test_create_for_an_unknown_product_is_not_available(api: Api, customer: str) -> None:
    response = api.create(customer, product="NoSuchProduct")
    assert response.status_code == 409
    assert check_conforms(response, "createEntitlement")["responseCode"] == "NOT_AVAILABLE"


def test_per_customer_limit_is_enforced(api: Api, customer: str) -> None:
    api.create_id(customer, merchant="BANGO_US", product="MUSIC_PREMIUM")
    second = api.create(customer, merchant="BANGO_US", product="MUSIC_PREMIUM", offerKey="B")
    assert second.status_code == 409
    assert second.json()["responseCode"] == "ALREADY_EXISTS"


# -- activation info ----------------------------------------------------------------------


def test_activation_info_gives_a_fresh_url_only_while_pending(api: Api, customer: str) -> None:
    first = api.create(customer, magic=NEEDS_SIGNUP).json()
    info = check_conforms(api.activation_info(first["entitlementId"]), "getActivationInfo")
    assert info["parameters"]["action"] == "NAVIGATE_TO_URL"
    assert info["parameters"]["url"] != first["parameters"]["url"]
    coded = check_conforms(
        api.activation_info(first["entitlementId"], "ACTIVATION_INFO_RETURNS_ACTIVATION_CODE"),
        "getActivationInfo",
    )
    assert re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}", coded["activationCode"])
    assert sign_up(info["parameters"]["url"]).status_code == 200
    refused = api.activation_info(first["entitlementId"])
    assert refused.status_code == 409
    assert check_conforms(refused, "getActivationInfo")["responseCode"] == "NOT_AVAILABLE"


def test_expired_activation_link_is_refused_and_activation_info_renews_it(
    clock_api: Api, customer: str
) -> None:
    first = clock_api.create(customer, magic=NEEDS_SIGNUP).json()
    clock_api.advance(2 * 3600)
    expired = httpx.get(first["parameters"]["url"])
    assert expired.status_code == 410
    fresh = clock_api.activation_info(first["entitlementId"]).json()["parameters"]["url"]
    assert sign_up(fresh).status_code == 200
    assert clock_api.status(first["entitlementId"]) == "ACTIVE"


# -- update, suspend, resume --------------------------------------------------------------


def test_metadata_update_keeps_status_and_notifies(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    response = api.update(entitlement_id, offerKey="FAMILY-12M", extensionData={"channel": "web"})
    body = check_conforms(response, "updateEntitlement")
    assert (body["status"], body["offerKey"]) == ("ACTIVE", "FAMILY-12M")
    assert body["extensionData"]["channel"] == "web"
    assert api.notification_types(entitlement_id)[-1] == "METADATA_UPDATE"


def test_product_change_when_active_notifies_product_update(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer, merchant="BANGO_US", product="MUSIC_PREMIUM")
    api.complete(entitlement_id)
    body = check_conforms(api.update(entitlement_id, productKey="MUSIC"), "updateEntitlement")
    # MUSIC signs users up on the merchant's page, so the change needs a user step.
    assert (body["responseCode"], body["status"]) == ("CLIENT_ACTION_REQUIRED", "PENDING")
    assert body["productKey"] == "MUSIC"
    assert api.notification_types(entitlement_id)[-1] == "PRODUCT_UPDATE"
    assert sign_up(body["parameters"]["url"]).status_code == 200
    assert api.status(entitlement_id) == "ACTIVE"


def test_product_change_without_user_step_answers_200(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer, merchant="BANGO_US", product="MUSIC", magic=ACTIVATED)
    body = check_conforms(
        api.update(entitlement_id, productKey="MUSIC_PREMIUM"), "updateEntitlement"
    )
    assert (body["status"], body["productKey"]) == ("ACTIVE", "MUSIC_PREMIUM")


def test_product_change_needs_an_active_entitlement(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer, magic=CREATED)
    response = api.update(entitlement_id, productKey="Other")
    assert response.status_code == 409
    check_conforms(response, "updateEntitlement")


def test_suspend_then_resume(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    suspended = check_conforms(api.suspend(entitlement_id), "updateEntitlement")
    assert suspended["status"] == "SUSPENDED"
    assert suspended["dateSuspended"] is not None
    assert suspended["extensionData"]["suspendReasonCode"] == "FRAUD_CHECK"
    resumed = check_conforms(api.resume(entitlement_id), "updateEntitlement")
    assert resumed["status"] == "ACTIVE"
    assert resumed["dateResumed"] is not None
    assert api.notification_types(entitlement_id)[-2:] == [
        "SUSPENSION_SUCCESS",
        "RESUMPTION_SUCCESS",
    ]


def test_async_suspend_and_resume_answer_202_then_notify(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    accepted = api.suspend(entitlement_id, "SUSPEND_REQUEST_RETURNS_ACCEPTED")
    assert accepted.status_code == 202
    assert check_conforms(accepted, "updateEntitlement")["status"] == "ACTIVE"
    # While the merchant has not answered, other changes wait.
    assert api.cancel(entitlement_id).status_code == 409
    assert api.complete(entitlement_id).json()["status"] == "SUSPENDED"
    accepted = api.resume(entitlement_id, "RESUME_REQUEST_RETURNS_ACCEPTED")
    assert check_conforms(accepted, "updateEntitlement")["status"] == "SUSPENDED"
    assert api.complete(entitlement_id).json()["status"] == "ACTIVE"
    assert api.notification_types(entitlement_id)[-2:] == [
        "SUSPENSION_SUCCESS",
        "RESUMPTION_SUCCESS",
    ]


def test_suspend_needs_active_and_resume_needs_suspended(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    assert api.resume(entitlement_id).status_code == 409
    api.suspend(entitlement_id)
    assert api.suspend(entitlement_id).status_code == 409
    check_conforms(api.suspend(entitlement_id), "updateEntitlement")


def test_suspend_is_refused_where_the_merchant_does_not_support_it(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer, merchant="BANGO_US", product="MUSIC_PREMIUM")
    api.complete(entitlement_id)
    assert api.suspend(entitlement_id).json()["responseCode"] == "NOT_AVAILABLE"


# -- cancel -------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["PENDING", "ACTIVE", "SUSPENDED"])
def test_cancel_with_immediate_merchant_ends_at_once(api: Api, customer: str, start: str) -> None:
    entitlement_id = api.create_id(customer, magic=CREATED if start == "PENDING" else ACTIVATED)
    if start == "SUSPENDED":
        api.suspend(entitlement_id)
    body = check_conforms(api.cancel(entitlement_id, supportTicket="T-1"), "cancelEntitlement")
    assert body["status"] == "CANCELLED"
    assert body["dateEnded"] is not None
    assert body["extensionData"]["cancelReasonCode"] == "NOT_RENEWED"
    assert body["extensionData"]["supportTicket"] == "T-1"
    assert api.notification_types(entitlement_id)[-1] == "TERMINATION_SUCCESS"


def test_cancel_of_period_end_merchant_is_active_ending_until_the_period_ends(
    clock_api: Api, customer: str
) -> None:
    entitlement_id = clock_api.create_id(
        customer, merchant="BANGO_US", product="MUSIC", magic=ACTIVATED
    )
    body = check_conforms(clock_api.cancel(entitlement_id), "cancelEntitlement")
    assert body["status"] == "ACTIVE-ENDING"
    assert body["dateEnded"] > body["dateLastUpdated"]
    assert clock_api.notification_types(entitlement_id)[-1] == "TERMINATION_PENDING"
    assert clock_api.cancel(entitlement_id).status_code == 409
    clock_api.advance(31 * DAY)
    record = check_conforms(clock_api.get(entitlement_id), "getEntitlement")
    assert record["status"] == "CANCELLED"
    assert record["dateEnded"] == body["dateEnded"]
    assert clock_api.notification_types(entitlement_id)[-2:] == [
        "TERMINATION_PENDING",
        "TERMINATION_SUCCESS",
    ]


def test_async_cancel_answers_202_with_status_unchanged_then_notifies(
    api: Api, customer: str
) -> None:
    entitlement_id = api.create_id(customer)
    accepted = api.cancel(entitlement_id, "CANCEL_REQUEST_RETURNS_ACCEPTED")
    assert accepted.status_code == 202
    body = check_conforms(accepted, "cancelEntitlement")
    assert body["status"] == "ACTIVE"
    assert body["extensionData"]["cancelReasonCategory"] == "CUSTOMER_CANCELLED"
    assert api.status(entitlement_id) == "ACTIVE"
    assert api.complete(entitlement_id).json()["status"] == "CANCELLED"
    assert api.notification_types(entitlement_id)[-1] == "TERMINATION_SUCCESS"


def test_configured_async_merchant_confirms_by_itself_after_its_delay(
    clock_api: Api, customer: str
) -> None:
    entitlement_id = clock_api.create_id(customer, merchant="BANGO_US", product="MUSIC_PREMIUM")
    clock_api.advance(61)  # the merchant activates after 60 s
    assert clock_api.status(entitlement_id) == "ACTIVE"
    assert clock_api.revoke(entitlement_id).status_code == 202
    clock_api.advance(31)  # and confirms a revoke after 30 s
    assert clock_api.status(entitlement_id) == "REVOKED"


# -- revoke -------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["PENDING", "ACTIVE", "SUSPENDED", "ACTIVE-ENDING"])
def test_revoke_from_every_live_status(api: Api, customer: str, start: str) -> None:
    product = "MUSIC" if start == "ACTIVE-ENDING" else "BangoMusic"
    merchant = "BANGO_US" if start == "ACTIVE-ENDING" else "BANGO"
    entitlement_id = api.create_id(
        customer,
        merchant=merchant,
        product=product,
        magic=CREATED if start == "PENDING" else ACTIVATED,
    )
    if start == "SUSPENDED":
        api.suspend(entitlement_id)
    if start == "ACTIVE-ENDING":
        api.cancel(entitlement_id)
    assert api.status(entitlement_id) == start
    body = check_conforms(
        api.revoke(
            entitlement_id, cancelReasonCategory="REVOKED", cancelReasonCode="ACCOUNT_TERMINATED"
        ),
        "revokeEntitlement",
    )
    assert body["status"] == "REVOKED"
    assert body["dateEnded"] is not None
    assert api.notification_types(entitlement_id)[-1] == "TERMINATION_SUCCESS"


def test_async_revoke_answers_202_then_notifies(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    accepted = api.revoke(entitlement_id, "REVOKE_REQUEST_RETURNS_ACCEPTED")
    assert check_conforms(accepted, "revokeEntitlement")["status"] == "ACTIVE"
    assert api.complete(entitlement_id).json()["status"] == "REVOKED"
    assert api.notification_types(entitlement_id)[-1] == "TERMINATION_SUCCESS"


# -- the platform and the merchant --------------------------------------------------------


def test_reaching_date_expiry_cancels_with_the_platform_reason(
    clock_api: Api, customer: str
) -> None:
    now = datetime.fromisoformat(clock_api.http.get("/sandbox/clock").json()["now"])
    soon = (now + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    entitlement_id = clock_api.create_id(customer, dateExpiry=soon)
    clock_api.advance(9 * DAY)
    assert clock_api.status(entitlement_id) == "ACTIVE"
    clock_api.advance(2 * DAY)
    record = check_conforms(clock_api.get(entitlement_id), "getEntitlement")
    assert record["status"] == "CANCELLED"
    assert record["extensionData"]["cancelReasonCategory"] == "CUSTOMER_CANCELLED"
    assert record["extensionData"]["cancelReasonCode"] == "EXPIRED"
    assert clock_api.notification_types(entitlement_id)[-1] == "TERMINATION_SUCCESS"


@pytest.mark.parametrize(("kind", "final"), [("cancel", "CANCELLED"), ("revoke", "REVOKED")])
def test_merchant_initiated_end(api: Api, customer: str, kind: str, final: str) -> None:
    entitlement_id = api.create_id(customer)
    response = api.http.post(
        f"/sandbox/entitlements/{entitlement_id}/merchant-{kind}",
        json={"reasonCategory": "ACTIVATION_ROLLBACK", "reasonCode": "FRAUD"},
    )
    assert response.status_code == 200
    assert api.status(entitlement_id) == final
    assert api.notification_types(entitlement_id)[-1] == "TERMINATION_SUCCESS"


# -- reactivate and terminal statuses -----------------------------------------------------


def test_reactivate_cancelled_entitlement(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    api.cancel(entitlement_id)
    body = check_conforms(api.reactivate(entitlement_id), "reactivateEntitlement")
    assert (body["status"], body["dateEnded"]) == ("ACTIVE", None)
    assert api.notification_types(entitlement_id)[-1] == "ACTIVATION_SUCCESS"
    again = api.reactivate(entitlement_id)
    assert again.status_code == 409
    assert check_conforms(again, "reactivateEntitlement")["responseCode"] == "ALREADY_EXISTS"


def test_reactivate_needing_sign_up_is_pending_with_client_action(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    api.cancel(entitlement_id)
    response = api.reactivate(entitlement_id, "REACTIVATE_REQUEST_RETURNS_ACTIVATION_REQUIRED")
    body = check_conforms(response, "reactivateEntitlement")
    assert (body["responseCode"], body["status"]) == ("CLIENT_ACTION_REQUIRED", "PENDING")
    assert sign_up(body["parameters"]["url"]).status_code == 200
    assert api.status(entitlement_id) == "ACTIVE"


def test_async_reactivate_stays_cancelled_until_confirmed(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    api.cancel(entitlement_id)
    response = api.reactivate(entitlement_id, "REACTIVATE_REQUEST_RETURNS_ACCEPTED")
    assert check_conforms(response, "reactivateEntitlement")["status"] == "CANCELLED"
    assert api.complete(entitlement_id).json()["status"] == "ACTIVE"


def test_reactivate_is_not_available_where_the_merchant_does_not_support_it(
    api: Api, customer: str
) -> None:
    entitlement_id = api.create_id(
        customer, merchant="BANGO_US", product="MUSIC_PREMIUM", magic=ACTIVATED
    )
    api.http.post(f"/sandbox/entitlements/{entitlement_id}/merchant-cancel")
    response = api.reactivate(entitlement_id)
    assert check_conforms(response, "reactivateEntitlement")["responseCode"] == "NOT_AVAILABLE"


@pytest.mark.parametrize("terminal", ["CANCELLED", "REVOKED"])
def test_terminal_statuses_refuse_every_other_change(
    api: Api, customer: str, terminal: str
) -> None:
    entitlement_id = api.create_id(customer)
    (api.cancel if terminal == "CANCELLED" else api.revoke)(entitlement_id)
    attempts = {
        "cancelEntitlement": api.cancel(entitlement_id),
        "revokeEntitlement": api.revoke(entitlement_id),
        "updateEntitlement": api.suspend(entitlement_id),
        "getActivationInfo": api.activation_info(entitlement_id),
    }
    attempts_metadata = api.update(entitlement_id, offerKey="X")
    for operation_id, response in {**attempts, "updateEntitlement": attempts_metadata}.items():
        assert response.status_code == 409, (operation_id, response.text)
        assert check_conforms(response, operation_id)["responseCode"] == "NOT_AVAILABLE"
    if terminal == "REVOKED":
        assert api.reactivate(entitlement_id).json()["responseCode"] == "NOT_AVAILABLE"
    assert api.status(entitlement_id) == terminal
    assert api.notification_types(entitlement_id) == ["ACTIVATION_SUCCESS", "TERMINATION_SUCCESS"]


def test_failed_entitlement_accepts_no_change(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    assert api.http.post(f"/sandbox/entitlements/{entitlement_id}/fail").status_code == 200
    assert check_conforms(api.get(entitlement_id), "getEntitlement")["status"] == "FAILED"
    assert api.cancel(entitlement_id).status_code == 409
    assert api.revoke(entitlement_id).status_code == 409


def test_query_lists_only_the_customers_entitlements_with_filters(api: Api, customer: str) -> None:
    first = api.create_id(customer)
    second = api.create_id(customer, merchant="BANGO_US", product="MUSIC")
    api.cancel(first)
    everything = check_conforms(api.query(customer), "queryEntitlements")["entitlements"]
    assert [e["entitlementId"] for e in everything] == [first, second]
    pending = api.query(customer, status="PENDING").json()["entitlements"]
    assert [e["entitlementId"] for e in pending] == [second]
    assert (
        api.query(customer, merchantAccountKey="BANGO").json()["entitlements"][0]["entitlementId"]
        == first
    )
    assert api.query(customer + "-nobody").json()["entitlements"] == []


# -- operations waiting for the merchant --------------------------------------------------


def test_async_update_cannot_displace_a_waiting_activation(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer, magic=CREATED)
    refused = api.update(entitlement_id, "UPDATE_REQUEST_RETURNS_ACCEPTED", offerKey="LATER")
    assert refused.status_code == 409
    assert check_conforms(refused, "updateEntitlement")["responseCode"] == "NOT_AVAILABLE"
    # A synchronous metadata change still goes through, and the merchant still activates.
    assert api.update(entitlement_id, offerKey="NOW").json()["offerKey"] == "NOW"
    assert api.complete(entitlement_id).json()["status"] == "ACTIVE"


def test_sign_up_keeps_a_cancel_the_merchant_has_not_confirmed(api: Api, customer: str) -> None:
    body = api.create(customer, magic=NEEDS_SIGNUP).json()
    entitlement_id = body["entitlementId"]
    assert api.cancel(entitlement_id, "CANCEL_REQUEST_RETURNS_ACCEPTED").status_code == 202
    assert sign_up(body["parameters"]["url"]).status_code == 200
    assert api.status(entitlement_id) == "ACTIVE"
    assert api.complete(entitlement_id).json()["status"] == "CANCELLED"
    assert api.notification_types(entitlement_id) == ["ACTIVATION_SUCCESS", "TERMINATION_SUCCESS"]
