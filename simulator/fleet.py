"""`crowdray simulate --post-to URL`: a fleet of virtual phones using the upload API.

The phones register, then upload their hits (in seq order) and exposure blocks
every `upload_every_s` of simulated time; `speedup` compresses the clock. A
failed upload (5xx, 429 or a network error) is retried with backoff with the
same seq numbers, so retries never duplicate. At most `connections` requests
are in flight. It writes what it sent to sent.parquet (one row per hit, with
`stored`: accepted or already there) and the showers to truth.parquet.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import requests

from simulator import crayfis_dialect
from simulator.generate import SimConfig, iter_chunks
from vocab.contracts import UPLOAD_HIT_FIELDS, UPLOAD_HIT_INTS
from vocab.crayfis import PATH
from vocab.limits import MAX_BATCH
from vocab.units import s_to_ns

log = logging.getLogger(__name__)

RETRIES = 8


@dataclass(frozen=True)
class FleetConfig:
    url: str
    speedup: float = 60.0
    upload_every_s: float = 60.0
    connections: int = 8
    timeout_s: float = 30.0
    dialect: str = "crowdray"  # or "crayfis": the CRAYFIS app's DataChunks on /submit
    salt: str = ""  # crayfis: the server's CROWDRAY_CRAYFIS_SALT


class Uploader:
    """Posts JSON with bounded connections and retries; counts what happened."""

    def __init__(self, fleet: FleetConfig) -> None:
        self.fleet = fleet
        self.local = threading.local()
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def _session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        session: requests.Session = self.local.session
        return session

    def post(
        self, path: str, body: dict[str, Any], token: str | None = None
    ) -> dict[str, Any] | None:
        """The reply's JSON, or None after the retries ran out or on a 4xx refusal."""
        headers = {"Authorization": f"Token {token}"} if token else {}
        return self.send(path, headers, json=body)

    def send(self, path: str, headers: dict[str, Any], **body: Any) -> dict[str, Any] | None:
        """POST body (json= or data=) with retries: the reply's JSON, or None."""
        delay = 0.25
        for _ in range(RETRIES):
            try:
                reply = self._session().post(
                    self.fleet.url + path, headers=headers, timeout=self.fleet.timeout_s, **body
                )
            except requests.RequestException:
                self._count("network_errors")
            else:
                # 422: every item was rejected; the reply still counts them.
                if reply.status_code in (200, 201, 202, 422):
                    answer: dict[str, Any] = reply.json()
                    return answer
                if reply.status_code != 429 and reply.status_code < 500:
                    self._count(f"refused_{reply.status_code}")
                    return None
                self._count(f"retried_{reply.status_code}")
                delay = max(delay, _retry_after_s(reply))
                if reply.status_code == 429 or delay >= 1:
                    # A volunteer watching the fleet must see why nothing moves.
                    log.warning(
                        "POST %s answered %d: waiting %.1f s before trying again",
                        path,
                        reply.status_code,
                        delay,
                    )
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
        self._count("errors")
        return None

    def _count(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n


def _retry_after_s(reply: requests.Response) -> float:
    """The reply's Retry-After in seconds (0 when absent or not a number of seconds)."""
    try:
        return max(0.0, float(reply.headers.get("Retry-After", 0) or 0))
    except ValueError:  # an HTTP date: not used by crowdray
        return 0.0


def _register(up: Uploader, n: int) -> list[tuple[str, str]]:
    def one(k: int) -> tuple[str, str]:
        reply = up.post("/api/v1/devices", {"model": "crowdray-sim", "app_version": "sim"})
        if reply is None:
            raise RuntimeError(f"could not register virtual phone {k}: {dict(up.counts)}")
        return reply["device_id"], reply["token"]

    with ThreadPoolExecutor(up.fleet.connections) as pool:
        return list(pool.map(one, range(n)))


def _hit_json(df: pd.DataFrame) -> list[dict[str, Any]]:
    fields = list(UPLOAD_HIT_FIELDS)
    # pandas-stubs type the keys as Hashable; these are the column names, strings.
    records: list[dict[str, Any]] = df[fields].to_dict("records")  # type: ignore[assignment]
    for r in records:
        for key in UPLOAD_HIT_INTS:
            r[key] = int(r[key])  # JSON needs Python ints, not numpy's
    return records


def _index(key: Any) -> int:
    """A groupby key over an integer column, as an int."""
    return int(key)


def _send_hits(
    up: Uploader, phone: tuple[str, str], batch: pd.DataFrame, sent: list[pd.DataFrame]
) -> None:
    reply = up.post("/api/v1/hits", {"hits": _hit_json(batch)}, phone[1])
    stored = np.zeros(len(batch), dtype=bool)
    if reply is not None:
        stored[:] = True
        stored[[r["index"] for r in reply["rejected"]]] = False
        for key in ("accepted", "duplicates"):
            up._count(key, reply[key])
        up._count("rejected", len(reply["rejected"]))
    up._count("sent", len(batch))
    sent.append(batch.assign(stored=stored, device_id=phone[0]))


def _send_blocks(up: Uploader, phone: tuple[str, str], group: pd.DataFrame) -> None:
    body = group.drop(columns=["device", "device_id"]).to_dict("records")
    for b in body:
        for key in ("start_ns", "end_ns", "frames", "l1_threshold", "l2_threshold", "n_hits"):
            b[key] = int(b[key])
    if up.post("/api/v1/exposures", {"blocks": body}, phone[1]) is not None:
        up._count("blocks", len(body))


def _send_chunk(
    up: Uploader,
    phone: tuple[str, str],
    batch: pd.DataFrame,
    span: tuple[int, int, int],
    place: tuple[float, float, float],
    sent: list[pd.DataFrame],
) -> None:
    """One phone's round as the CRAYFIS app uploads it (simulator.crayfis_dialect)."""
    body = crayfis_dialect.chunk(batch, *span, place)
    headers = crayfis_dialect.headers(phone[0], body, up.fleet.salt)
    reply = up.send(PATH, headers, data=body)
    stored = reply is not None and "status" not in reply  # a problem has a status
    if stored:
        up._count("accepted", len(batch))
        up._count("blocks")
    up._count("sent", len(batch))
    sent.append(batch.assign(stored=stored, device_id=phone[0]))


def _crayfis_round(
    up: Uploader,
    pool: ThreadPoolExecutor,
    hits: pd.DataFrame,
    span: tuple[int, int, int],
    phones: list[tuple[str, str]],
    places: list[tuple[float, float, float]],
    sent: list[pd.DataFrame],
) -> None:
    by_device = dict(list(hits.groupby("device", sort=True)))
    empty = hits.iloc[:0]
    futures = [
        pool.submit(_send_chunk, up, phone, by_device.get(d, empty), span, places[d], sent)
        for d, phone in enumerate(phones)
    ]
    for f in futures:
        f.result()


def _upload_round(
    up: Uploader,
    pool: ThreadPoolExecutor,
    hits: pd.DataFrame,
    blocks: pd.DataFrame,
    phones: list[tuple[str, str]],
    sent: list[pd.DataFrame],
) -> None:
    futures = []
    for device, group in hits.groupby("device", sort=True):
        phone = phones[_index(device)]
        for start in range(0, len(group), MAX_BATCH):
            batch = group.iloc[start : start + MAX_BATCH]
            futures.append(pool.submit(_send_hits, up, phone, batch, sent))
    for device, group in blocks.groupby("device", sort=True):
        futures.append(pool.submit(_send_blocks, up, phones[_index(device)], group))
    for f in futures:
        f.result()


def run_fleet(
    config: SimConfig, fleet: FleetConfig, out: Path | None, report: bool = False
) -> dict[str, Any]:
    """Simulate config's phones posting to fleet.url; returns the counts and rates."""
    up = Uploader(fleet)
    net, _, chunks = iter_chunks(config)
    if fleet.dialect == "crayfis":  # the server makes a device of each on its first upload
        phones = [(crayfis_dialect.phone_name(config.seed, d), "") for d in range(len(net.devices))]
    else:
        phones = _register(up, len(net.devices))
    d = net.devices  # where each phone is: a CRAYFIS block carries its GPS fix
    places = list(zip(d.lat.tolist(), d.lon.tolist(), d.loc_err_m.tolist(), strict=True))
    hits = pd.concat([c.hits for c in chunks], ignore_index=True)
    hits = hits.sort_values(["device", "t_ns"], kind="stable")
    hits["seq"] = hits.groupby("device").cumcount()  # seq in time order per phone
    step = s_to_ns(fleet.upload_every_s)
    hits["round"] = (hits.t_ns - config.start_ns).clip(lower=0) // step
    blocks = net.blocks.drop(columns=["n_hits"]).assign(n_hits=0)
    blocks["round"] = (blocks.end_ns - config.start_ns) // step
    sent: list[pd.DataFrame] = []
    started = time.monotonic()
    last = [frame["round"].max() for frame in (hits, blocks) if len(frame)]
    n_rounds = int(max(last, default=0)) + 1
    if fleet.dialect == "crayfis":  # a chunk per interval that has begun: none in the future
        n_rounds = -(-(config.end_ns - config.start_ns) // step)
    with ThreadPoolExecutor(fleet.connections) as pool:
        for r in range(n_rounds):
            # Phones upload at the end of each interval, on the compressed clock.
            wait = started + (r + 1) * fleet.upload_every_s / fleet.speedup - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            in_round = hits[hits["round"] == r].drop(columns="round")
            if fleet.dialect == "crayfis":
                start = config.start_ns + r * step
                span = (start, min(start + step, config.end_ns), r)
                _crayfis_round(up, pool, in_round, span, phones, places, sent)
            else:
                in_blocks = blocks[blocks["round"] == r].drop(columns="round")
                _upload_round(up, pool, in_round, in_blocks, phones, sent)
            if report and (r % 10 == 9 or r == n_rounds - 1):
                c = up.counts
                log.info(
                    "fleet round %d/%d: sent %d, accepted %d, duplicates %d, rejected %d",
                    r + 1,
                    n_rounds,
                    c["sent"],
                    c["accepted"],
                    c["duplicates"],
                    c["rejected"],
                )
    elapsed = time.monotonic() - started
    if out is not None:
        _write(out, sent, net.showers)
    counts: dict[str, Any] = dict(up.counts)
    counts["phones"] = len(phones)
    counts["seconds"] = round(elapsed, 1)
    counts["hits_per_s"] = round(counts.get("sent", 0) / elapsed) if elapsed else 0
    return counts


def _write(out: Path, sent: list[pd.DataFrame], showers: pd.DataFrame) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cols = ["device_id", "seq", "t_ns", "lat", "lon", "shower", "stored"]
    table = pd.concat(sent, ignore_index=True)[cols] if sent else pd.DataFrame(columns=cols)
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), out / "sent.parquet")
    members = table[table.shower >= 0].groupby("shower")
    truth = showers.assign(
        n_devices=showers.shower_id.map(members.device_id.nunique()).fillna(0).astype(int),
        n_hits=showers.shower_id.map(members.size()).fillna(0).astype(int),
    )
    pq.write_table(pa.Table.from_pandas(truth, preserve_index=False), out / "truth.parquet")
