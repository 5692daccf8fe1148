"""`crowdray demo`: the whole system on the embedded default, from phones to showers.

Migrates SQLite, starts the service (with its follower and live search), runs
a fleet of virtual phones in a few towns (compressed time, injected showers)
against the real API while printing the provisional showers the live search
puts on the dashboard, then exports the hits to the lake, runs the Spark
search, loads its candidates in their place, prints what was found and keeps
the dashboard running until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# The demo's phones are boosted detectors (the simulator's demo preset); the fit must know it.
from simulator.presets import DEMO_SENSOR_AREA_M2, PRESETS


def _step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="crowdray demo", description=__doc__.splitlines()[0])
    p.add_argument("--bind", default="127.0.0.1:8000", help="where to serve (default %(default)s)")
    p.add_argument("--devices", type=int, default=300, help="virtual phones (default 300)")
    p.add_argument("--minutes", type=float, default=2.0, help="wall-clock minutes of uploads (2)")
    p.add_argument("--speedup", type=float, default=60.0, help="simulated s per wall s (60)")
    p.add_argument("--showers-per-hour", type=float, default=30.0, help="injected (30)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-serve", action="store_true", help="exit after the summary")
    args = p.parse_args(argv)
    if args.devices < 3 or args.minutes <= 0 or args.speedup <= 0:
        p.error("--devices must be >= 3; --minutes and --speedup positive")
    return args


def simulation(args: argparse.Namespace) -> Any:
    from simulator.generate import SimConfig
    from vocab.units import s_to_ns

    duration_s = args.minutes * 60 * args.speedup
    # The simulator's demo preset: phones are tiny detectors, and a boosted
    # effective area lets a few hundred of them see showers within minutes.
    fields = PRESETS["demo"] | {
        "devices": args.devices,
        "hours": duration_s / 3600,
        "inject_per_hour": args.showers_per_hour,
    }
    # The simulated clock ends with the upload, at the present, and never runs
    # ahead of it: the dashboard's "last hour" fills while the fleet uploads.
    start_ns = time.time_ns() + s_to_ns(args.minutes * 60 - duration_s)
    return SimConfig(seed=args.seed, start_ns=start_ns, **fields)


def run_pipeline(
    args: argparse.Namespace, url: str, data: Path, spark: Any = None
) -> dict[str, Any]:
    """Fleet -> API -> export -> Spark -> load; returns the summary."""
    from coincidence import job
    from coincidence.params import Params
    from follow.export import export
    from follow.load import load_result
    from simulator.fleet import FleetConfig, run_fleet

    _step(f"{args.devices} virtual phones upload for {args.minutes:g} min ({args.speedup:g}x time)")
    sent_dir = data / "fleet"
    with live_showers(url):
        fleet = run_fleet(simulation(args), FleetConfig(url, args.speedup), sent_dir, report=True)
    _step("export the hits to the lake")
    exported = export(data / "lake")
    print(
        f"exported {exported['hits']} hits and {exported['exposures']} exposure blocks "
        f"in {exported['files']} files"
    )
    _step("search for showers with Spark (local[*]), fitting core and energy")
    own = spark is None
    if own:
        from coincidence.session import build_session

        spark = build_session("local[*]")
    try:
        params = Params(sensor_area_m2=DEMO_SENSOR_AREA_M2)
        lake = str(data / "lake")  # the hits and, in its exposures/, the blocks
        search = job.main(spark, lake, data / "search", params, lake)
    finally:
        if own:
            spark.stop()
    print(
        f"{search['counts']['showers']} candidates in {search['timings_s']['total']} s; "
        f"fits: {search['fit_status']}"
    )
    _step("load the candidates for the dashboard")
    loaded = load_result(data / "search")
    print(f"loaded {loaded['showers']} showers")
    return {"fleet": fleet, **score(sent_dir)}


@contextlib.contextmanager
def live_showers(url: str, every_s: float = 5.0) -> Iterator[None]:
    """Print the live search's showers as they appear on the dashboard, until the block ends."""
    import requests

    stop = threading.Event()

    def watch() -> None:
        seen: set[str] = set()
        while not stop.wait(every_s):
            with contextlib.suppress(requests.RequestException, ValueError, KeyError):
                reply = requests.get(f"{url}/api/v1/showers?page_size=500", timeout=10).json()
                new = [s for s in reply["results"] if s["shower_id"] not in seen]
                seen |= {s["shower_id"] for s in new}
                for s in sorted(new, key=lambda s: s["t_ns"]):
                    print(
                        f"live: shower {s['shower_id']} at {s['time']}, {s['n_devices']} phones, "
                        f"{s['significance_sigma']} sigma (provisional) on {url}/showers/",
                        flush=True,
                    )

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def score(sent_dir: Path) -> dict[str, int]:
    """Injected showers found, missed, and chance candidates, from what was sent."""
    import pyarrow.parquet as pq

    from ingest.models import Shower

    sent = pq.read_table(sent_dir / "sent.parquet").to_pandas()
    sent = sent[sent.stored]
    shower_of = {
        (d.replace("-", ""), int(s)): int(sh)
        for d, s, sh in zip(sent.device_id, sent.seq, sent.shower, strict=True)
    }
    visible = sent[sent.shower >= 0].groupby("shower").device_id.nunique()
    injected = set(visible[visible >= 3].index)
    held: dict[int, int] = {}  # injected shower -> most of its phones in one candidate
    chance = 0
    for shower in Shower.objects.prefetch_related("hits"):
        phones: dict[int, set[Any]] = {}
        for h in shower.hits.all():
            phones.setdefault(shower_of.get((h.device_id.hex, h.seq), -1), set()).add(h.device_id)
        real = {m: len(d) for m, d in phones.items() if m >= 0}
        for m, n in real.items():
            held[m] = max(held.get(m, 0), n)
        chance += not real
    found = injected & set(held)
    return {
        "injected": len(injected),
        "found": len(found),
        "missed": len(injected - found),
        "whole": sum(int(held[m] >= visible[m]) for m in found),
        "phones_fired": int(sum(visible[m] for m in found)),
        "phones_found": sum(min(held[m], int(visible[m])) for m in found),
        "chance": chance,
    }


def main(argv: list[str]) -> None:
    args = parse(argv)
    os.environ.setdefault("CROWDRAY_REGISTER_RATE", "100000/hour")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crowdray.settings")
    import django
    from django.conf import settings
    from django.core.management import call_command

    from crowdray.process import service_env, serving

    django.setup()
    _step("migrate the embedded SQLite database")
    call_command("migrate", interactive=False, verbosity=0)
    data = Path(settings.DATA_DIR) / "demo"
    host, port = args.bind.rsplit(":", 1)
    # The live search's energy fit must know the demo's boosted phones too.
    env = service_env(CROWDRAY_SENSOR_AREA_M2=str(DEMO_SENSOR_AREA_M2))
    with serving(env, bind=(host, int(port))) as url:
        summary = run_pipeline(args, url, data)
        fleet = summary["fleet"]
        _step("summary")
        print(
            f"hits sent {fleet.get('sent', 0)}, accepted {fleet.get('accepted', 0)}, "
            f"duplicates {fleet.get('duplicates', 0)}, rejected {fleet.get('rejected', 0)}, "
            f"errors {fleet.get('errors', 0)}"
        )
        print(
            f"showers injected (>= 3 phones fired) {summary['injected']}, "
            f"found {summary['found']}, missed {summary['missed']}; "
            f"chance candidates {summary['chance']}"
        )
        print(
            f"whole showers: {summary['whole']} of {summary['found']} found carry every phone "
            f"they fired; {summary['phones_found']} of {summary['phones_fired']} fired phones "
            "are in their shower's candidate"
        )
        if args.no_serve:
            return
        print(f"\nThe dashboard is at {url}/  (Ctrl-C stops)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped")
