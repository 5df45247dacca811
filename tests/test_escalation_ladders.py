"""GET /escalation-ladders shows what is in force, defaults included, not only configured rows."""


def _ladders(client, auth, **query):
    response = client.get("/api/v1/escalation-ladders", query_string=query,
                          headers=auth("dispatcher"))
    assert response.status_code == 200, response.json
    return response.json


def test_with_nothing_configured_every_site_and_kind_shows_the_built_in_ladder(
    client, auth, factory
):
    site = factory.site()

    ladders = _ladders(client, auth, site_id=site.id)

    assert {ladder["alert_kind"] for ladder in ladders} >= {"missed_bag_change", "late_unit"}
    missed = next(lad for lad in ladders if lad["alert_kind"] == "missed_bag_change")
    assert missed["source"] == "built_in" and missed["is_default"] is True
    assert [step["targets"] for step in missed["steps"]] == [
        ["nurse", "dispatcher"], ["dispatcher"], ["on_call"]]


def test_a_sites_own_ladder_is_marked_and_other_kinds_keep_the_default(client, auth, factory):
    site, other = factory.site(), factory.site()
    admin = auth("admin")
    client.put("/api/v1/escalation-ladders", headers=admin, json={
        "site_id": None, "alert_kind": None,
        "steps": [{"after_minutes": 0, "targets": ["dispatcher"]}]})
    client.put("/api/v1/escalation-ladders", headers=admin, json={
        "site_id": site.id, "alert_kind": "missed_bag_change",
        "steps": [{"after_minutes": 0, "targets": ["on_call"]}]})

    ladders = {(lad["site_id"], lad["alert_kind"]): lad for lad in _ladders(client, auth)}

    own = ladders[(site.id, "missed_bag_change")]
    assert (own["source"], own["is_default"]) == ("site_kind", False)
    assert own["steps"] == [{"step": 0, "after_minutes": 0, "targets": ["on_call"]}]
    for key in ((site.id, "pump_alarm_unresolved"), (other.id, "missed_bag_change")):
        assert (ladders[key]["source"], ladders[key]["is_default"]) == ("default", True)


def test_one_kind_can_be_asked_for_and_an_unknown_site_is_a_404(client, auth, factory):
    site = factory.site()

    one = _ladders(client, auth, site_id=site.id, alert_kind="late_unit")
    missing = client.get("/api/v1/escalation-ladders?site_id=999999", headers=auth("viewer"))

    assert [lad["alert_kind"] for lad in one] == ["late_unit"]
    assert missing.status_code == 404
