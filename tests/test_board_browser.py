"""The board in a real headless Chromium (Debian's package), driven by Playwright.

The app is served on a loopback port from a thread, on the test database. Each run saves
a screenshot of the board in var/screenshots/ for a person to look at.
"""

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.board_helpers import PASSWORD, board_scenario, board_user

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE = ROOT / "tests" / "vendor" / "axe-core-4.10.2" / "axe.min.js"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium: `make chromium` as root "
           "(apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture
def served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def page(browser, served):
    context = browser.new_context(base_url=served, viewport={"width": 1400, "height": 1000})
    # Nothing but the app itself is reachable: no CDN, no map tiles.
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        served) else route.abort())
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def scenario(factory, database, clock):
    found = board_scenario(factory, database, clock)
    board_user(database, site_ids=[found["site1"].id])
    return found


def sign_in(page, password=PASSWORD):
    page.goto("/board")
    page.get_by_label("Email").fill("dana@example.org")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def serious_accessibility_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run()).violations"
                          ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))")
    return [f"{v['id']} ({v['nodes']})" for v in found if v["impact"] in ("serious", "critical")]


def test_a_dispatcher_signs_in_and_sees_the_overdue_bag_change_of_their_site_only(
        page, scenario):
    sign_in(page)

    page.get_by_role("heading", name="Now").wait_for()
    overdue = page.locator("table.bags tr", has_text="W-OVER")
    assert "Overdue" in overdue.inner_text()
    assert "overdue by 20 min" in overdue.inner_text()
    assert "At risk" in page.locator("table.bags tr", has_text="W-SOON").inner_text()
    assert page.locator("table.alerts tr", has_text="missed bag change").count() == 1
    assert "WEST-9" in page.locator("table.units").inner_text()
    assert "NE-HIDDEN" not in page.content()
    assert serious_accessibility_violations(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "board.png"), full_page=True)


def test_a_wrong_password_leaves_the_visitor_on_the_sign_in_form(page, scenario):
    sign_in(page, password="not the password")

    assert page.get_by_role("alert").inner_text().strip().endswith("Wrong email or password.")
    assert page.url.endswith("/board/sign-in")


def test_the_dispatcher_assigns_a_suggested_unit_and_the_row_changes(page, scenario):
    sign_in(page)
    row = page.locator("table.bags tr", has_text="W-SOON")

    row.get_by_role("link", name="Suggestions").click()
    page.get_by_role("button", name="Assign WEST-9").click()

    page.get_by_text("assigned to WEST-9").wait_for()
    assert "WEST-9" in row.inner_text() and "assigned" in row.inner_text()
    assert "At risk" not in row.inner_text()


def test_the_dispatcher_acknowledges_then_resolves_an_alert(page, scenario):
    sign_in(page)
    alert = page.locator("table.alerts tbody tr").first

    alert.get_by_role("button", name="Acknowledge").click()
    page.get_by_text("acknowledged: its escalation pauses").wait_for()
    assert "Acknowledged by user:" in page.locator("table.alerts tbody tr").first.inner_text()
    alert.get_by_label("Resolved by").select_option("changed")
    alert.get_by_role("button", name="Resolve").click()

    page.get_by_text("resolved (bag changed)").wait_for()
    assert page.get_by_text("No open alert.").is_visible()


def test_signing_out_returns_to_the_sign_in_form(page, scenario):
    sign_in(page)

    page.get_by_role("button", name="Sign out").click()

    page.get_by_role("heading", name="Sign in").wait_for()
    page.goto("/board")
    assert "/board/sign-in" in page.url


def test_the_dispatcher_moves_a_visit_from_its_panel(page, scenario):
    sign_in(page)
    page.locator("table.bags tr", has_text="W-SOON").get_by_role("link",
                                                                 name="Suggestions").click()

    page.get_by_label("New window start").fill("2026-03-02T08:00")
    page.get_by_label("New window end").fill("2026-03-02T09:30")
    page.locator("#move-reason").select_option("family_request")
    page.get_by_role("button", name="Move V").click()

    page.get_by_text("moved.").wait_for()


def test_the_map_draws_homes_and_units_with_nothing_outside_reachable(page, scenario):
    sign_in(page)
    page.get_by_role("link", name="Map", exact=True).click()

    page.get_by_role("heading", name="Map").wait_for()
    page.locator(".leaflet-interactive").first.wait_for()
    assert page.locator(".map-label", has_text="W-OVER").count() == 1
    assert page.locator(".map-label", has_text="WEST-9").count() == 1
    assert serious_accessibility_violations(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "map.png"), full_page=True)


def test_the_dispatcher_acknowledges_an_alert_with_the_keyboard_alone(page, scenario):
    sign_in(page)
    page.get_by_role("heading", name="Now").wait_for()

    for _ in range(60):  # Tab through the page, in its focus order, to the button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.innerText || ''").startswith("Acknowledge"):
            break
    else:
        pytest.fail("Tab never reached the Acknowledge button")
    page.keyboard.press("Enter")

    page.get_by_text("acknowledged: its escalation pauses").wait_for()


def test_on_a_tablet_the_board_fits_the_screen_and_its_tables_scroll_inside(browser, served,
                                                                             scenario):
    tablet = browser.new_context(base_url=served, viewport={"width": 768, "height": 1024},
                                 has_touch=True, is_mobile=True)
    page = tablet.new_page()
    try:
        sign_in(page)
        page.get_by_role("heading", name="Now").wait_for()

        page_width = page.evaluate("document.documentElement.scrollWidth")
        suggestions = page.locator("table.bags tr", has_text="W-SOON").get_by_role(
            "link", name="Suggestions")
        suggestions.scroll_into_view_if_needed()
        suggestions.tap()
        page.get_by_role("button", name="Assign WEST-9").wait_for()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "board-tablet.png"), full_page=True)
    finally:
        tablet.close()

    assert page_width <= 768
