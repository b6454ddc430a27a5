"""The dashboard in a real browser (Playwright driving Debian's Chromium) against a real
``hookport serve`` on loopback: each complaint of issue 15's first list about the dashboard,
fixed and shown.

Skipped, with the reason, where ``/usr/bin/chromium`` is absent, unless
``HOOKPORT_REQUIRE_BROWSER=1`` (CI sets it, and ``.ci/run`` installs the package). Screenshots
at 1,366 and 390 px wide are kept under ``test-artifacts/dashboard/`` (or
``$HOOKPORT_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from tests.e2e.conftest import wait_until

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    if os.environ.get("HOOKPORT_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"HOOKPORT_REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
    pytest.skip(
        f"no browser: {CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True
    )

PLUGIN = str(Path(__file__).parent / "plugins" / "shop.py")
TOKEN = "admin-token-browser-e2e-51f0"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = (
    Path(
        os.environ.get("HOOKPORT_TEST_ARTIFACTS")
        or Path(__file__).resolve().parents[2] / "test-artifacts"
    )
    / "dashboard"
)
LIVE = 15_000  # ms a live update may take to show (the page polls every 2 s)
SIGNED_SECRET = "shop-signed-secret-e2e-77aa"
HEADER_VALUE = "header-value-never-shown-3f9c"
BODY_MARK = "body-never-shown-b71e"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """One Chromium for the module, with a fresh profile (never ``playwright install``)."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=ARGS,
            viewport={"width": 1366, "height": 900},
        )
        context.set_default_timeout(20_000)
        yield context
        context.close()


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    """A fresh tab with no cookies (servers of earlier tests shared the host)."""
    browser.clear_cookies()
    tab = browser.new_page()
    yield tab
    tab.close()


def _server(serve: Any, tmp_path: Path) -> Any:
    env = {
        "HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/s.db",
        "HOOKPORT_ADMIN_TOKEN": TOKEN,
        "SHOP_FAIL_FLAG": str(tmp_path / "fail.flag"),
        "SHOP_SIGNED_SECRET": SIGNED_SECRET,
        "HOOKPORT_SERVER__MAX_BODY_SIZE": "64KiB",
    }
    return serve("--plugin", PLUGIN, env=env)


def _post(c: httpx.Client, path: str, type: str, body: bytes = b"{}", **headers: str) -> str:
    answer = c.post(path, content=body, headers={"X-Event-Type": type, **headers})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def _api(c: httpx.Client, path: str) -> Any:
    answer = c.get(f"/_hookport/api{path}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _status(c: httpx.Client, event_id: str) -> str:
    return str(_api(c, f"/events/{event_id}")["status"])


def _sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/_hookport/login")
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    expect(page.locator("h2")).to_have_text("Deliveries")


def _ids(page: Page) -> list[str]:
    return page.locator("tr[data-id]").evaluate_all("rows => rows.map(r => r.dataset.id)")


def _mark(page: Page) -> None:
    """Tag the page's window: the tag survives anything but a reload or a navigation."""
    page.evaluate("window.__noReload = 'still here'")


def _not_reloaded(page: Page) -> bool:
    return page.evaluate("window.__noReload") == "still here"


def _shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_deliveries_are_paged_by_keyset_with_totals_and_a_time_range(
    serve: Any, tmp_path: Path, page: Page
) -> None:
    """Was: at most 100 deliveries, no pagination, no total, no time filter."""
    server = _server(serve, tmp_path)
    with httpx.Client(base_url=server.url, timeout=10) as c:
        posted = [_post(c, "/stripe", "charge.succeeded") for _ in range(130)]
    _sign_in(page, server.url)
    total = page.locator("p.total")
    expect(total).to_have_text("Showing 1–50 of 130 matching")
    seen = _ids(page)
    page.click("a[rel=next]")
    expect(total).to_have_text("Showing 51–100 of 130 matching")
    seen += _ids(page)
    page.click("a[rel=next]")
    expect(total).to_have_text("Showing 101–130 of 130 matching")
    seen += _ids(page)
    assert page.locator("a[rel=next]").count() == 0  # the last page
    assert seen == posted[::-1]  # every delivery once, newest first, none skipped
    page.click("a[rel=first]")
    expect(total).to_have_text("Showing 1–50 of 130 matching")
    # A time range: all of them arrived in the last 15 minutes, none before 2001.
    page.select_option("select[name=range]", "15m")
    page.click("form.filters button[type=submit]")
    expect(total).to_have_text("Showing 1–50 of 130 matching")
    page.select_option("select[name=range]", "")
    page.fill("input[name=until]", "2001-01-01T00:00")
    page.click("form.filters button[type=submit]")
    expect(total).to_have_text("No deliveries match.")
    # A bad time is a 400 page that says what is wrong; the server goes on.
    answer = page.goto(f"{server.url}/_hookport/?since=yesterday")
    assert answer is not None and answer.status == 400
    expect(page.locator("p.warn")).to_contain_text("since: not a time")


def test_filters_match_substrings_and_search_finds_id_prefixes(
    serve: Any, tmp_path: Path, page: Page
) -> None:
    """Was: filters matched exact names only (``stripe`` found nothing)."""
    server = _server(serve, tmp_path)
    (tmp_path / "fail.flag").touch()
    with httpx.Client(base_url=server.url, timeout=10) as c:
        charge = _post(c, "/stripe", "charge.succeeded", **{"Idempotency-Key": "evt_1QxA9"})
        refund = _post(c, "/stripe", "charge.refunded")
        push = _post(c, "/github", "push")
        declined = _post(c, "/stripe", "charge.failed", b'{"fail": true}')
        wait_until(lambda: _status(c, declined) == "dead", 20, "the failing delivery to die")
    _sign_in(page, server.url)

    def filtered(**fields: str) -> list[str]:
        page.goto(f"{server.url}/_hookport/")
        for name, value in fields.items():
            if name == "status":
                page.select_option("form.filters select[name=status]", value)
            else:
                page.fill(f"form.filters input[name={name}]", value)
        page.click("form.filters button[type=submit]")
        page.wait_for_load_state()
        return _ids(page)

    assert filtered(endpoint="stripe") == [declined, refund, charge]  # finds shop:/stripe
    assert filtered(endpoint="STRIPE", type="refund") == [refund]
    assert filtered(type="charge", status="dead") == [declined]
    assert filtered(q=push[:12]) == [push]  # the 12 characters the list shows
    assert filtered(q="evt_1Qx") == [charge]  # the start of a delivery id
    expect(page.locator("form.filters input[name=q]")).to_have_value("evt_1Qx")  # the form keeps it
    assert filtered(endpoint="nothing-like-this") == []
    expect(page.locator("p.total")).to_have_text("No deliveries match.")


def test_counts_and_list_update_without_a_reload(serve: Any, tmp_path: Path, page: Page) -> None:
    """Was: nothing updated without a reload."""
    server = _server(serve, tmp_path)
    with httpx.Client(base_url=server.url, timeout=10) as c:
        first = _post(c, "/github", "push")
        wait_until(lambda: _status(c, first) == "done", 20, "the first delivery to be done")
        _sign_in(page, server.url)
        expect(page.locator("[data-count=done]")).to_have_text("1")
        _mark(page)
        later = [_post(c, "/github", "issues.opened") for _ in range(3)]
        expect(page.locator(f"tr[data-id='{later[-1]}']")).to_be_visible(timeout=LIVE)
        expect(page.locator("[data-count=done]")).to_have_text("4", timeout=LIVE)
        expect(page.locator("p.total")).to_have_text("Showing 1–4 of 4 matching", timeout=LIVE)
    assert _ids(page) == [*later[::-1], first]
    assert _not_reloaded(page)


def test_event_detail_replay_asks_first_and_attempts_are_grouped_by_replay(
    serve: Any, tmp_path: Path, page: Page
) -> None:
    """Was: Replay gave no confirmation, and attempt numbers restarted after a replay."""
    server = _server(serve, tmp_path)
    flag = tmp_path / "fail.flag"
    flag.touch()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    with httpx.Client(base_url=server.url, timeout=10) as c:
        body = b'{"fail": true, "amount": 4200}'
        event_id = _post(c, "/stripe", "charge.failed", body)
        retried = _post(c, "/flaky", "charge.failed", body)
        wait_until(lambda: _status(c, event_id) == "dead", 20, "the delivery to die")
        wait_until(lambda: _status(c, retried) == "retrying", 20, "the flaky one to retry")
        _sign_in(page, server.url)

        # A retrying event says when its next attempt is.
        page.goto(f"{server.url}/_hookport/events/{retried}")
        expect(page.locator("p.status")).to_contain_text("next attempt 20")

        page.goto(f"{server.url}/_hookport/?endpoint=stripe")
        page.click(f"a[href$='/events/{event_id}']")
        expect(page.locator("[data-status]")).to_have_text("dead")
        # Request and response (a receiver's 202), the attempt with its duration and error.
        expect(page.locator("#request-line")).to_have_text("POST /stripe")
        expect(page.locator("#request-body")).to_contain_text('"amount": 4200')
        expect(page.locator("#response-body")).to_contain_text('"status": "queued"')
        original = page.locator("section.round[data-replay='0']")
        expect(original.locator("h4")).to_have_text("Original delivery")
        expect(original).to_contain_text("card declined")
        expect(original.locator("td", has_text=re.compile(r"^\d+\.\d ms$"))).to_have_count(1)
        # Copy buttons put the text on the clipboard.
        page.click("button[data-copy='" + event_id + "']")
        assert page.evaluate("navigator.clipboard.readText()") == event_id
        page.click("button[data-copy-from='request-body']")
        assert '"amount": 4200' in page.evaluate("navigator.clipboard.readText()")

        # Replay asks first: opening it replays nothing.
        _mark(page)
        page.click("#replay summary")
        confirm = page.locator("#replay button[type=submit]")
        expect(confirm).to_have_text("Confirm replay")
        expect(page.locator("#replay")).to_contain_text("as replay 1")
        assert _status(c, event_id) == "dead"
        flag.unlink()
        confirm.click()
        # Done, seen without reloading; the new round is listed apart from the first.
        expect(page.locator("[data-status]")).to_have_text("done", timeout=LIVE)
        replay = page.locator("section.round[data-replay='1']")
        expect(replay.locator("h4")).to_have_text("Replay 1", timeout=LIVE)
        expect(replay.locator("tr").nth(1)).to_contain_text("ok", timeout=LIVE)
        expect(original).to_contain_text("failed")
        assert _not_reloaded(page)
        attempts = _api(c, f"/events/{event_id}")["attempts"]
        assert [(a["replay"], a["attempt"], a["ok"]) for a in attempts] == [
            (0, 1, False),
            (1, 1, True),
        ]
        _shoot(page, "event-1366")
        page.set_viewport_size({"width": 390, "height": 844})
        _shoot(page, "event-390")


def test_bulk_replay_and_delete_by_filter_preview_then_confirm(
    serve: Any, tmp_path: Path, page: Page
) -> None:
    """Was: no bulk action."""
    server = _server(serve, tmp_path)
    flag = tmp_path / "fail.flag"
    flag.touch()
    with httpx.Client(base_url=server.url, timeout=10) as c:
        dead = [_post(c, "/stripe", "charge.failed", b'{"fail": true}') for _ in range(5)]
        kept = [_post(c, "/github", "push") for _ in range(2)]
        for event_id in dead + kept:
            wait_until(lambda e=event_id: _status(c, e) in {"dead", "done"}, 20, "deliveries")
        flag.unlink()
        _sign_in(page, server.url)

        page.goto(f"{server.url}/_hookport/?endpoint=stripe&status=dead")
        page.click("details.bulk summary")
        page.click("details.bulk button[value=replay]")
        expect(page.locator("h2")).to_have_text("Replay 5 events?")
        expect(page.locator("main")).to_contain_text("status dead, endpoint contains “stripe”")
        assert {_status(c, e) for e in dead} == {"dead"}  # the preview changed nothing
        # A late arrival after the preview is not taken by its confirmation.
        late = _post(c, "/stripe", "charge.failed", b'{"fail": true}')
        page.click("button[type=submit]:has-text('Confirm: replay 5')")
        expect(page.locator("[data-done]")).to_have_text("Replayed 5 events.")
        wait_until(lambda: {_status(c, e) for e in dead} == {"done"}, 20, "the replays")
        wait_until(lambda: _status(c, late) == "done", 20, "the late arrival to run")
        assert _api(c, f"/events/{late}")["replays"] == 0  # never replayed

        page.goto(f"{server.url}/_hookport/?endpoint=github")
        page.click("details.bulk summary")
        page.click("details.bulk button[value=delete]")
        expect(page.locator("h2")).to_have_text("Delete 2 events?")
        page.click("text=Cancel")
        expect(page.locator("p.total")).to_have_text("Showing 1–2 of 2 matching")
        page.click("details.bulk summary")
        page.click("details.bulk button[value=delete]")
        page.click("button[type=submit]:has-text('Confirm: delete 2')")
        expect(page.locator("[data-done]")).to_have_text("Deleted 2 events.")
        answer = c.get(
            f"/_hookport/api/events/{kept[0]}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert answer.status_code == 404

        # Without the session's CSRF token, a bulk form is refused.
        forged = page.request.post(
            f"{server.url}/_hookport/bulk",
            form={"action": "delete", "step": "confirm", "through": dead[-1]},
            headers={"Origin": server.url},
        )
        assert forged.status == 403
        assert {_status(c, e) for e in dead} == {"done"}


def test_endpoints_page_pauses_and_resumes(serve: Any, tmp_path: Path, page: Page) -> None:
    """The endpoints page: rates, backlog, pause and resume (CSRF-checked forms)."""
    server = _server(serve, tmp_path)
    _sign_in(page, server.url)
    page.goto(f"{server.url}/_hookport/endpoints")
    row = page.locator("tr[data-endpoint='shop:/stripe']")
    expect(row.locator("[data-state]")).to_have_text("active")
    expect(row.locator("[data-label=handlers]")).to_contain_text("on_stripe")
    row.locator("button", has_text="Pause").click()
    expect(row.locator("[data-state]")).to_have_text("paused")
    expect(row).to_contain_text("until resumed · by dashboard")
    with httpx.Client(base_url=server.url, timeout=10) as c:
        held = [_post(c, "/stripe", "charge.succeeded") for _ in range(3)]
        page.reload()
        expect(row.locator("[data-backlog]")).to_have_text("3")
        expect(row).to_contain_text("(0.6/min)")
        assert {_status(c, e) for e in held} == {"queued"}
        row.locator("button", has_text="Resume").click()
        expect(row.locator("[data-state]")).to_have_text("active")
        wait_until(lambda: {_status(c, e) for e in held} == {"done"}, 20, "the held events")
    page.reload()
    expect(row.locator("[data-backlog]")).to_have_text("0")
    _shoot(page, "endpoints-1366")
    forged = page.request.post(
        f"{server.url}/_hookport/endpoints/pause",
        form={"name": "shop:/stripe"},
        headers={"Origin": server.url},
    )
    assert forged.status == 403


def test_a_phone_sized_viewport_fits_and_reads(serve: Any, tmp_path: Path, page: Page) -> None:
    """Was: no ``<meta name="viewport">``: on a phone the text was 5-6 px."""
    server = _server(serve, tmp_path)
    with httpx.Client(base_url=server.url, timeout=10) as c:
        event_id = _post(
            c, "/github", "pull_request.synchronize", b'{"long": "' + b"x" * 400 + b'"}'
        )
        for _ in range(20):
            _post(c, "/stripe", "customer.subscription.trial_will_end")
        assert c.get("/nowhere/" + "long-segment-" * 20).status_code == 404
        wait_until(lambda: _api(c, "/rejections")["total"] == 1, 20, "the rejection record")
    _sign_in(page, server.url)
    assert page.locator("meta[name=viewport]").get_attribute("content") == (
        "width=device-width, initial-scale=1"
    )
    pages = {
        "deliveries": "/_hookport/",
        "event": f"/_hookport/events/{event_id}",
        "endpoints": "/_hookport/endpoints",
        "rejected": "/_hookport/rejected",
    }
    for name, path in pages.items():
        page.set_viewport_size({"width": 1366, "height": 900})
        page.goto(server.url + path)
        _shoot(page, f"{name}-1366")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(server.url + path)
        fits = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert fits[0] <= fits[1], f"{name}: {fits[0]} px wide in a {fits[1]} px viewport"
        size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert size >= 16, f"{name}: body text {size} px"
        smallest = page.evaluate(
            "Math.min(...[...document.querySelectorAll('main *')]"
            ".filter(e => e.offsetParent !== null && e.textContent.trim())"
            ".map(e => parseFloat(getComputedStyle(e).fontSize)))"
        )
        assert smallest >= 12, f"{name}: some text is {smallest} px"
        _shoot(page, f"{name}-390")
    for name in pages:
        for width in (1366, 390):
            assert (ARTIFACTS / f"{name}-{width}.png").stat().st_size > 0


def _rejections(c: httpx.Client) -> list[int]:
    """Send real rejected requests (each carries a header value and a body no page may show):
    26 to paths no endpoint serves (404), one with a method a route does not take (405), two
    badly signed (401) and one too large (413); returns the statuses answered, in order."""
    secret = {"X-Secret-Header": HEADER_VALUE}
    body = f'{{"mark": "{BODY_MARK}"}}'.encode()
    answers = [c.post(f"/nowhere/{i}", content=body, headers=secret) for i in range(26)]
    answers.append(c.request("DELETE", "/ping", headers=secret))
    bad_signature = {
        **secret,
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": "sha256=" + "0" * 64,
    }
    answers += [c.post("/signed", content=body, headers=bad_signature) for _ in range(2)]
    answers.append(c.post("/stripe", content=b"x" * 70_000, headers=secret))
    statuses = [a.status_code for a in answers]
    assert statuses == [*[404] * 26, 405, 401, 401, 413]
    return statuses


def _statuses(page: Page) -> list[int]:
    return [int(v) for v in page.locator("tr[data-rejection]").evaluate_all(
        "rows => rows.map(r => r.dataset.status)")]  # fmt: skip


def _rejection_ids(page: Page) -> list[int]:
    return [int(v) for v in page.locator("tr[data-rejection]").evaluate_all(
        "rows => rows.map(r => r.dataset.rejection)")]  # fmt: skip


def _no_secret_shown(page: Page) -> None:
    html = page.content()
    assert HEADER_VALUE not in html and BODY_MARK not in html and "x" * 100 not in html


def test_rejected_deliveries_are_listed_filtered_and_paged_without_values(
    serve: Any, tmp_path: Path, page: Page
) -> None:
    """Issue 14's dashboard view of rejected deliveries: metadata only, filters, pages."""
    server = _server(serve, tmp_path)
    with httpx.Client(base_url=server.url, timeout=10) as c:
        sent = _rejections(c)
        wait_until(lambda: _api(c, "/rejections")["total"] == len(sent), 20, "the record")
        everything = _api(c, "/rejections?limit=100")["rejections"]
    _sign_in(page, server.url)
    page.click("header nav a:has-text('Rejected')")
    expect(page.locator("h2")).to_have_text("Rejected deliveries")
    total = page.locator("p.total")
    expect(total).to_have_text("Showing 1–30 of 30 matching")
    assert _statuses(page) == [413, 401, 401, 405, *[404] * 26]  # newest first
    assert _rejection_ids(page) == [r["id"] for r in everything]
    _no_secret_shown(page)
    newest = page.locator("tr[data-rejection]").first
    expect(newest).to_contain_text("POST /stripe")
    expect(newest).to_contain_text("shop:/stripe")
    expect(newest).to_contain_text("70,000 B")
    expect(newest).to_contain_text("x-secret-header")  # the header's name, not its value
    expect(newest).to_contain_text("127.0.0.1")
    unsigned = page.locator("tr[data-status='401']").first
    expect(unsigned).to_contain_text("signature does not match")
    expect(page.locator("tr[data-status='405']")).to_contain_text("(no endpoint)")
    expect(page.locator("tr[data-status='405']")).to_contain_text("method DELETE not allowed")
    _shoot(page, "rejected-filters-1366")

    # By status (typed: any status can be asked for).
    page.fill("form.filters input[name=status]", "401")
    page.click("form.filters button[type=submit]")
    expect(total).to_have_text("Showing 1–2 of 2 matching")
    assert _statuses(page) == [401, 401]
    expect(page.locator("form.filters input[name=status]")).to_have_value("401")
    _no_secret_shown(page)

    # "(no endpoint)": the 404s and the 405, paged 25 at a time by keyset.
    page.fill("form.filters input[name=status]", "")
    page.select_option("form.filters select[name=endpoint]", label="(no endpoint)")
    page.select_option("form.filters select[name=size]", "25")
    page.click("form.filters button[type=submit]")
    expect(total).to_have_text("Showing 1–25 of 27 matching")
    first = _rejection_ids(page)
    assert set(_statuses(page)) == {404, 405}
    cells = page.locator("tr[data-rejection] td[data-label=endpoint]").all_inner_texts()
    assert cells == ["(no endpoint)"] * 25
    page.click("a[rel=next]")
    expect(total).to_have_text("Showing 26–27 of 27 matching")
    assert page.locator("a[rel=next]").count() == 0
    expect(page.locator("form.filters select[name=endpoint]")).to_have_value("-")
    second = _rejection_ids(page)
    assert first + second == [r["id"] for r in everything if r["endpoint"] is None]
    _no_secret_shown(page)
    page.click("a[rel=first]")
    expect(total).to_have_text("Showing 1–25 of 27 matching")

    # One endpoint; a time range (all in the last 15 minutes, none before 2001).
    page.goto(f"{server.url}/_hookport/rejected")
    page.select_option("form.filters select[name=endpoint]", "shop:/signed")
    page.select_option("form.filters select[name=range]", "15m")
    page.click("form.filters button[type=submit]")
    expect(total).to_have_text("Showing 1–2 of 2 matching")
    page.select_option("form.filters select[name=range]", "")
    page.fill("form.filters input[name=until]", "2001-01-01T00:00")
    page.click("form.filters button[type=submit]")
    expect(total).to_have_text("No rejected deliveries match.")
    answer = page.goto(f"{server.url}/_hookport/rejected?status=abc")
    assert answer is not None and answer.status == 400
    expect(page.locator("p.warn")).to_contain_text("status: an HTTP status")

    page.goto(f"{server.url}/_hookport/rejected")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    fits = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert fits[0] <= fits[1], f"rejected: {fits[0]} px wide in a {fits[1]} px viewport"
    _no_secret_shown(page)
    _shoot(page, "rejected-filters-390")
    for width in (1366, 390):
        assert (ARTIFACTS / f"rejected-filters-{width}.png").stat().st_size > 0


def test_route_calls_are_labelled_in_the_list_and_the_detail(
    serve: Any, tmp_path: Path, page: Page
) -> None:
    """Was: route hits were listed as deliveries with an empty type."""
    server = _server(serve, tmp_path)
    with httpx.Client(base_url=server.url, timeout=10) as c:
        assert c.get("/ping").text == "pong"
        pushed = _post(c, "/github", "push")
        call = next(e for e in _api(c, "/events")["events"] if e["kind"] == "route")
    assert not call["type"]
    _sign_in(page, server.url)
    expect(page.locator(f"tr[data-id='{call['id']}'] td[data-type]")).to_have_text("(route call)")
    expect(page.locator(f"tr[data-id='{pushed}'] td[data-type]")).to_have_text("push")
    page.click(f"a[href$='/events/{call['id']}']")
    expect(page.locator("td[data-type]")).to_have_text("(route call)")
    page.goto(f"{server.url}/_hookport/events/{pushed}")
    expect(page.locator("td[data-type]")).to_have_text("push")
