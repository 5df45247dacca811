"""Outbound webhooks: subscriptions, signed deliveries to a local receiver, retries,
exactly once across two senders, and the disabling of a receiver that keeps failing."""

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from opsbackend.domain.errors import NotFound
from opsbackend.domain.interop import webhook_sender, webhook_subscriptions, webhooks
from opsbackend.domain.interop.webhook_sender import SenderSettings
from opsbackend.domain.scope import Scope
from opsbackend.models import Alert, WebhookDelivery, WebhookSubscription
from opsbackend.webhooks.targets import TargetPolicy
from tests.factories import count_rows


def send(database, clock, **settings):
    return webhook_sender.send_due(database, clock, SenderSettings(**settings))


def bodies(receiver) -> list[dict]:
    return [json.loads(r.body) for r in receiver.received]


def subscribe(client, auth, site_id, url, events=("bag.changed", "alert.raised")):
    return client.post("/api/v1/webhooks", headers=auth("admin"),
                       json={"site_id": site_id, "url": url, "events": list(events)})


def test_a_registered_receiver_gets_signed_bag_changed_and_alert_raised_exactly_once(
        client, auth, factory, clock, database, webhook_receiver):
    clock.set(datetime.now(UTC).replace(microsecond=0))  # the library checks the timestamp
    course = factory.active_course(bag_interval_hours=24)
    site_id = course_site(database, course)
    created = subscribe(client, auth, site_id, f"{webhook_receiver.url}/hooks")
    assert created.status_code == 201, created.json
    secret = created.json["secret"]

    # An expired lot: the bag change raises an alert for the dispatcher.
    expired = (clock.now() - timedelta(days=1)).isoformat()
    changed = client.post(f"/api/v1/courses/{course.id}/bag-changes", headers=auth("nurse"),
                          json={"no_flush_confirmed": True, "lot": "A1234",
                                "expires_at": expired})
    assert changed.status_code == 201, changed.json
    first, second = send(database, clock), send(database, clock)

    assert (first.delivered, second.claimed) == (2, 0)
    assert sorted(b["type"] for b in bodies(webhook_receiver)) == ["alert.raised",
                                                                    "bag.changed"]
    for received in webhook_receiver.received:
        payload = Webhook(secret).verify(received.body, received.headers)  # raises if forged
        assert received.path == "/hooks"
        assert payload["data"]["study_code"].startswith("P-")
    bag = webhook_receiver.of_type("bag.changed")[0]
    assert json.loads(bag.body)["data"]["new_bag"]["sequence"] == 2
    assert "Ava" not in bag.body.decode()  # ids and study codes, never names


def test_the_secret_is_shown_once_and_only_admins_manage_webhooks(client, auth, factory,
                                                                   webhook_receiver):
    site = factory.site()
    created = subscribe(client, auth, site.id, webhook_receiver.url)
    listed = client.get("/api/v1/webhooks", headers=auth("admin"))
    one = client.get(f"/api/v1/webhooks/{created.json['id']}", headers=auth("admin"))

    assert created.json["secret"].startswith("whsec_")
    assert len(Webhook(created.json["secret"])._whsecret) == 32
    assert "secret" not in listed.json["items"][0] and "secret" not in one.json
    assert subscribe(client, auth, site.id, webhook_receiver.url).json["secret"] != \
        created.json["secret"]
    for role in ("dispatcher", "nurse", "viewer"):
        assert client.get("/api/v1/webhooks", headers=auth(role)).status_code == 403


@pytest.mark.parametrize("body,field", [
    ({"events": ["bag.exploded"]}, "events"),
    ({"events": []}, "events"),
    ({"url": "ftp://example.org/x"}, "url"),
    ({"url": "http://user:pw@127.0.0.1/x"}, "url"),
    ({"site_id": 999999}, "site_id"),
])
def test_a_bad_subscription_is_refused_naming_the_field(client, auth, factory, body, field):
    site = factory.site()
    data = {"site_id": site.id, "url": "http://127.0.0.1:9/x", "events": ["bag.changed"]}

    response = client.post("/api/v1/webhooks", headers=auth("admin"), json=data | body)

    assert response.status_code == 422, response.json
    assert field in response.json["errors"]["json"]


def test_deleting_a_subscription_cancels_its_queue_and_keeps_its_log(client, auth, factory,
                                                                     database, clock,
                                                                     webhook_receiver):
    site = factory.site()
    hook = factory.webhook(site.id, webhook_receiver.url)
    emit(database, site.id, count=2)

    deleted = client.delete(f"/api/v1/webhooks/{hook.id}", headers=auth("admin"))
    log = client.get(f"/api/v1/webhooks/{hook.id}/deliveries", headers=auth("admin"))
    send(database, clock)

    assert deleted.status_code == 204 and log.status_code == 404
    assert webhook_receiver.received == []
    assert count_rows(database, WebhookDelivery, WebhookDelivery.status == "cancelled") == 2


def test_a_500_is_retried_with_backoff_under_the_same_webhook_id(client, auth, factory,
                                                                  database, clock,
                                                                  webhook_receiver):
    site = factory.site()
    hook = factory.webhook(site.id, webhook_receiver.url)
    emit(database, site.id)
    webhook_receiver.fail_next(500, times=2)

    first = send(database, clock)
    too_early = send(database, clock)
    clock.advance(seconds=30)
    second = send(database, clock)
    clock.advance(minutes=1)
    third = send(database, clock)
    log = client.get(f"/api/v1/webhooks/{hook.id}/deliveries", headers=auth("admin")).json

    assert (first.retried, too_early.claimed, second.retried, third.delivered) == (1, 0, 1, 1)
    assert len({r.message_id for r in webhook_receiver.received}) == 1
    assert len(webhook_receiver.received) == 3
    [delivery] = log["items"]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3
    assert delivery["last_response_status"] == 200 and delivery["last_error"] is None


def test_a_failing_receiver_holds_its_queue_behind_the_failed_delivery(factory, database,
                                                                        clock,
                                                                        webhook_receiver):
    site = factory.site()
    factory.webhook(site.id, webhook_receiver.url)
    emit(database, site.id, count=5)
    webhook_receiver.fail_next(503)

    first = send(database, clock)
    again = send(database, clock)  # the other four wait for the failed one's backoff
    clock.advance(seconds=30)
    after = send(database, clock)

    assert (first.retried, first.released, again.claimed) == (1, 4, 0)
    assert after.delivered == 5
    ids = [r.message_id for r in webhook_receiver.received]
    assert len(ids) == 6 and len(set(ids)) == 5


def test_a_receiver_failing_too_often_is_disabled_with_an_alert_and_enabled_again(
        client, auth, factory, database, clock, webhook_receiver):
    site = factory.site()
    hook = factory.webhook(site.id, webhook_receiver.url)
    emit(database, site.id, count=2)
    webhook_receiver.fail_next(500, times=3)

    for _ in range(3):
        send(database, clock, disable_after_failures=3)
        clock.advance(minutes=5)
    [alert] = client.get("/api/v1/alerts?kind=webhook_disabled", headers=auth("admin")).json[
        "items"]
    enabled = client.post(f"/api/v1/webhooks/{hook.id}/enable", headers=auth("admin"))
    emit(database, site.id)
    send(database, clock)

    with database.new_session() as session:
        statuses = sorted(session.scalars(select(WebhookDelivery.status)))
        closed = session.get(Alert, alert["id"])
    # Disabled: both queued deliveries cancelled; enabled again: the alert's resolution
    # and the new event go out.
    assert statuses == ["cancelled", "cancelled", "delivered", "delivered"]
    assert alert["site_id"] == site.id and alert["status"] == "open"
    assert enabled.status_code == 200 and enabled.json["status"] == "active"
    assert closed.status == "resolved"
    assert count_rows(database, WebhookSubscription, WebhookSubscription.status == "active") == 1
    assert [b["type"] for b in bodies(webhook_receiver)][-2:] == ["alert.resolved",
                                                                  "bag.changed"]


def test_delivery_checks_the_address_again_and_refuses_loopback_in_production(
        factory, database, clock, webhook_receiver):
    site = factory.site()
    port = webhook_receiver.url.rsplit(":", 1)[1]
    factory.webhook(site.id, f"https://localhost:{port}/x")  # accepted outside production
    emit(database, site.id)

    summary = send(database, clock, policy=TargetPolicy(production=True))

    assert summary.retried == 1 and webhook_receiver.received == []
    with database.new_session() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
    assert "not a public address" in delivery.last_error


def test_an_event_rolled_back_with_its_cause_is_never_sent(factory, database, clock,
                                                           webhook_receiver):
    site = factory.site()
    factory.webhook(site.id, webhook_receiver.url)

    with pytest.raises(RuntimeError), database.transaction() as session:
        webhooks.emit(session, "bag.changed", site_id=site.id, data={"x": 1})
        raise RuntimeError("the change failed")
    send(database, clock)

    assert count_rows(database, WebhookDelivery) == 0 and webhook_receiver.received == []


def test_another_sites_subscription_does_not_exist_for_the_caller(factory, database,
                                                                   webhook_receiver):
    hook = factory.webhook(factory.site().id, webhook_receiver.url)
    elsewhere = Scope(role="admin", site_ids=frozenset({hook.site_id + 1000}))

    with database.new_session() as session, pytest.raises(NotFound):
        webhook_subscriptions.get_subscription(session, elsewhere, hook.id)
    with database.new_session() as session:
        page = webhook_subscriptions.list_subscriptions(session, elsewhere, page=1,
                                                        page_size=10)
    assert page.total == 0


@pytest.mark.postgres_only
def test_two_senders_racing_deliver_each_event_once(factory, database, clock,
                                                     webhook_receiver):
    site = factory.site()
    factory.webhook(site.id, webhook_receiver.url)
    emit(database, site.id, count=40)
    barrier = threading.Barrier(2)

    def sender():
        barrier.wait()
        for _ in range(4):
            webhook_sender.send_due(database, clock, batch_size=8)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    ids = [r.message_id for r in webhook_receiver.received]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert count_rows(database, WebhookDelivery, WebhookDelivery.status == "delivered") == 40


def emit(database, site_id, count=1):
    with database.transaction() as session:
        for n in range(count):
            webhooks.emit(session, "bag.changed", site_id=site_id, data={"n": n})


def course_site(database, course) -> int:
    from opsbackend.models import Patient

    with database.new_session() as session:
        return session.get(Patient, course.patient_id).site_id


def resolver(*addresses):
    """A stand-in for getaddrinfo answering the given addresses."""
    return lambda host, port, type=None: [(2, 1, 6, "", (address, port))
                                           for address in addresses]


@pytest.mark.parametrize("url,addresses,allowed", [
    ("https://hooks.example.org/in", ["93.184.215.14"], True),
    ("http://hooks.example.org/in", ["93.184.215.14"], False),  # https only
    ("https://hooks.example.org/in", ["93.184.215.14", "10.1.2.3"], False),  # any private
    ("https://hooks.example.org/in", ["169.254.169.254"], False),  # cloud metadata
    ("https://hooks.example.org/in", ["::ffff:127.0.0.1"], False),
    ("https://hooks.example.org/in", ["fd00::1"], False),
    ("https://127.0.0.1/in", ["127.0.0.1"], False),
])
def test_in_production_only_https_to_public_addresses(url, addresses, allowed):
    from opsbackend.webhooks.targets import TargetRefused, check_url, resolve_target

    policy = TargetPolicy(production=True)
    if allowed:
        assert check_url(url, policy, resolver(*addresses)) == url
        assert resolve_target(url, policy, resolver(*addresses)).address == addresses[0]
    else:
        with pytest.raises(TargetRefused):
            check_url(url, policy, resolver(*addresses))
    private_ok = TargetPolicy(production=True, allow_private=True)
    if url.startswith("https://"):
        assert check_url(url, private_ok, resolver(*addresses)) == url


def test_a_name_that_resolves_elsewhere_at_delivery_is_refused_then():
    from opsbackend.webhooks.targets import TargetRefused, check_url, resolve_target

    policy = TargetPolicy(production=True)
    url = "https://hooks.example.org/in"
    check_url(url, policy, resolver("93.184.215.14"))  # public when subscribed

    with pytest.raises(TargetRefused):
        resolve_target(url, policy, resolver("127.0.0.1"))  # rebound since
