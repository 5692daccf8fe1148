"""The pages in a real headless Chromium (Debian's), against a live server with data."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import requests

from follow.cells import MAX_CELLS
from follow.counters import Counters
from follow.tail import catch_up
from ingest.models import ActiveCell, ExposureBlock
from ingest.store import insert_hits
from tests.factories import hit, make_device, make_shower
from tests.plugin import require_or_skip
from vocab.cells import cell_of

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
CITIES = [(46.2044, 6.1432), (50.0647, 19.945), (-18.1248, 178.4501)]
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        require_or_skip("Debian's chromium is not installed (make test installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip("playwright is not installed")
    # Playwright runs an event loop in this thread; the ORM calls here are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    # Playwright's wait_for_function evaluates strings in the page, which the site's
    # Content-Security-Policy forbids; the test of every page keeps the policy on.
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    page.close()


def seed_network() -> tuple[str, int]:
    """Hits from phones in three cities in the last hour; returns a token and the hit count."""
    now, total, token = time.time_ns(), 0, ""
    for k, (lat, lon) in enumerate(CITIES):
        device, token = make_device()
        batch = [
            hit(seq=s, lat=lat, lon=lon, t_ns=now - (s + 1) * 60 * 10**9) for s in range(5 + k)
        ]
        insert_hits(device.id, {name: [h[name] for h in batch] for name in batch[0]})
        total += len(batch)
    catch_up(Counters())  # what the follower does in `crowdray serve`
    return token, total


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_the_network_page_maps_cells_draws_the_chart_and_updates_itself(
    live_server, transactional_db, page
):
    token, total = seed_network()
    make_shower(shower_id="S1001", n_devices=7)
    page.goto(f"{live_server.url}/?refresh=1")
    page.wait_for_function("document.querySelectorAll('.leaflet-interactive').length === 3")
    drawn = page.evaluate("crowdray.chart.data.datasets[0].data.reduce((a, b) => a + b, 0)")
    assert drawn == total
    assert page.evaluate("crowdray.chart.canvas.width") > 0
    # The last hour holds all the activity: the chart shows it, not 23 empty hours,
    # with a few ticks on round times.
    assert page.evaluate("crowdray.chart.data.labels.length") <= 120
    ticks = page.evaluate("crowdray.chart.scales.x.ticks.map((t) => t.label).filter(Boolean)")
    assert 2 <= len(ticks) <= 12 and all(int(t[-2:]) % 5 == 0 for t in ticks), ticks
    assert page.locator("#latest td").nth(1).inner_text() == "near Genève, Switzerland"
    assert page.locator("#latest td").nth(2).inner_text() == "7"  # the shower's phones
    assert "S1001" in page.locator("#latest a").first.get_attribute("href")
    shoot(page, "network")
    before = int(page.locator('[data-field="hits_last_hour"]').inner_text())
    reply = requests.post(
        f"{live_server.url}/api/v1/hits",
        json={"hits": [hit(seq=900 + s) for s in range(4)]},
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert reply.json()["accepted"] == 4
    catch_up(Counters())
    # The status API caches for 5 s; the page polls every second.
    counter = "document.querySelector('[data-field=hits_last_hour]').textContent"
    page.wait_for_function(f"Number({counter}) === {before + 4}", timeout=15_000)
    assert page.errors == []


def test_the_shower_pages_show_the_list_the_core_and_member_cells(
    live_server, transactional_db, page
):
    seed_network()
    from ingest.models import Hit

    shower = make_shower(shower_id="S42", hits_of=list(Hit.objects.all()[:6]), n_devices=2)
    quiet = make_device()[0]  # taking data next to the core, no hit
    around = {"start_ns": shower.t_ns - 10**11, "end_ns": shower.t_ns + 10**11}
    ExposureBlock.objects.create(
        block_id=uuid.uuid4(), device=quiet, lat=46.205, lon=6.144, **around
    )
    page.goto(f"{live_server.url}/showers/")
    assert page.get_by_role("link", name=shower.shower_id).count() == 0  # linked by time
    page.locator("tbody a").first.click()
    page.wait_for_url(f"**/showers/{shower.shower_id}/")
    page.wait_for_function("document.querySelectorAll('.leaflet-interactive').length >= 2")
    assert page.get_by_role("heading", name="Shower S42").is_visible()
    assert "taking data, no hit" in page.locator(".legend").inner_text()
    assert page.locator(".leaflet-control-scale").count() == 1
    page.wait_for_function("crowdray.chart !== undefined")
    assert page.evaluate("crowdray.chart.data.datasets[0].data.length") == 6  # one dot per hit
    shoot(page, "shower")
    page.goto(f"{live_server.url}/showers/")
    shoot(page, "showers")
    assert page.errors == []


WIDEST_TABLE = """Math.max(0, ...[...document.querySelectorAll("table")].map(
  (t) => t.getBoundingClientRect().right))"""
# The framed view, and each cell's longitude moved by whole turns to its nearest copy in it.
FRAMED = """async () => {
  const status = await (await fetch("/api/v1/status")).json();
  const b = crowdray.view.map.getBounds();
  const mid = (b.getWest() + b.getEast()) / 2;
  const near = (lon) => lon + 360 * Math.round((mid - lon) / 360);
  return {west: b.getWest(), east: b.getEast(), south: b.getSouth(), north: b.getNorth(),
          cells: status.cells.map((c) => [c.lat, near(c.lon)])};
}"""


@pytest.mark.parametrize("width", [1280, 390])
def test_the_map_frames_europe_and_fiji_the_short_way_round(
    live_server, transactional_db, chromium, width
):
    seed_network()
    device, _ = make_device()
    insert_hits(device.id, {name: [value] for name, value in hit(lat=-16.8, lon=-179.97).items()})
    catch_up(Counters())
    page = chromium.new_page(viewport={"width": width, "height": 900}, bypass_csp=True)
    page.goto(f"{live_server.url}/")
    page.wait_for_function("crowdray.view.points.length >= 4 && crowdray.view.land !== null")
    framed = page.evaluate(FRAMED)
    shoot(page, f"network-fiji-{width}")
    page.close()
    assert len(framed["cells"]) >= 4
    for lat, lon in framed["cells"]:
        assert framed["south"] <= lat <= framed["north"], (lat, framed)
        assert framed["west"] <= lon <= framed["east"], (lon, framed)
    # Geneva to Suva eastwards is ~172 degrees, westwards ~188: the short way, not the world.
    assert framed["east"] - framed["west"] < 300, framed


def test_the_pages_fit_a_phone_screen(live_server, transactional_db, chromium):
    seed_network()
    make_shower(shower_id="S7", n_devices=4)
    page = chromium.new_page(viewport={"width": 390, "height": 844})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    for path, name in (
        ("/about/", "about-phone"),
        ("/", "network-phone"),
        ("/showers/", "showers-phone"),
    ):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
        assert page.evaluate(WIDEST_TABLE) <= 390, path  # no column is cut off behind a scroll
        assert page.get_by_role("heading", level=1).count() == 1
        shoot(page, name)
    page.close()
    assert errors == []


RAW_WIDEST = """async () => {
  const el = document.getElementById("map");
  const topo = await (await fetch(el.dataset.land)).json();
  let widest = 0;
  const walk = (c) => {
    if (typeof c[0][0] !== "number") { c.forEach(walk); return; }
    for (let i = 1; i < c.length; i++) widest = Math.max(widest, Math.abs(c[i][0] - c[i - 1][0]));
  };
  for (const f of topojson.feature(topo, topo.objects.land).features) walk(f.geometry.coordinates);
  return widest;
}"""


def test_no_drawn_coastline_segment_spans_more_than_180_degrees(
    live_server, transactional_db, page
):
    page.goto(f"{live_server.url}/")
    assert page.evaluate(RAW_WIDEST) > 180  # the outline's data do cross the antimeridian
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/")
        page.wait_for_function("crowdray.view.land !== null")
        assert page.evaluate("crowdrayCells.widestStep(crowdray.view)") <= 180
    assert page.errors == []


PAGES = (
    ("/", "network"),
    ("/showers/", "showers"),
    ("/showers/?min_sigma=lots&since=yesterday", "showers-bad-filters"),
    ("/teams/", "teams"),
    ("/about/", "about"),
    ("/nowhere/", "not-found"),
    ("/api/docs/", "api-docs"),
)


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_works_on_an_empty_database_at_both_widths(
    live_server, transactional_db, chromium, width
):
    page = chromium.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    for path, name in PAGES:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
        assert page.evaluate(WIDEST_TABLE) <= width, path
        shoot(page, f"empty-{name}-{width}")
    page.goto(live_server.url + "/showers/?min_sigma=lots&since=yesterday")
    alerts = page.locator(".error li").all_inner_texts()
    assert len(alerts) == 2 and any("min_sigma" in a for a in alerts), alerts
    assert [e for e in errors if "404" not in e] == []  # the 404 page's own status is logged


def test_a_network_too_big_to_draw_shows_squares_then_cells_when_zoomed_in(
    live_server, transactional_db, page
):
    now = time.time_ns()
    world = [(lat, lon) for lat in range(-55, 57, 2) for lon in np.arange(-180, 180, 3.6)]
    geneva = [(46.2 + 0.011 * (k // 6), 6.14 + 0.016 * (k % 6)) for k in range(30)]
    cells = {}
    for lat, lon in [*world, *geneva]:
        key, clat, clon = cell_of(float(lat), float(lon))
        cells[key] = ActiveCell(cell=key, lat=clat, lon=clon, last_seen_ns=now, hits=2)
    ActiveCell.objects.bulk_create(cells.values())
    assert len(cells) > MAX_CELLS
    page.goto(f"{live_server.url}/")
    page.wait_for_function("crowdray.view.points.length > 0")
    assert page.evaluate("crowdray.view.cellsDeg") == 5.0  # the whole network, in squares
    assert "squares of 5.0°" in page.inner_text("#cells-note")
    assert page.evaluate("crowdray.view.points.length") <= MAX_CELLS
    page.evaluate("crowdray.view.map.setView([46.23, 6.18], 12)")  # the reader zooms in
    page.wait_for_function("crowdray.view.cellsDeg === 0.01")
    assert page.evaluate("crowdray.view.points.length") == 30  # Geneva's own ~1 km cells
    page.evaluate("crowdray.refresh()")  # the next refresh keeps the reader's view
    page.wait_for_timeout(500)
    assert page.evaluate("crowdray.view.map.getZoom()") == 12
    assert page.evaluate("[crowdray.view.cellsDeg, crowdray.view.points.length]") == [0.01, 30]
    shoot(page, "network-zoomed-in")
    assert page.errors == []
