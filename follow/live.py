"""The live search: showers on the dashboard while they happen, as provisional candidates.

A consumer of the follower (follow.tail). Every CROWDRAY_LIVE_INTERVAL_S seconds
it takes the hits that became visible since its last pass and searches the
time around them with the batch search's own definition and code
(coincidence.reference), reading every hit in that time from the database,
whichever upload brought it. So a shower whose hits arrive in several
uploads, some late, is seen whole, and a pass boundary never splits it. Like
the public counters, it reads only a phone's first CROWDRAY_MAX_HITS_PER_MIN
hits of each minute (read_hits), so one flooding phone cannot stall it.

Zones. A core lasts at most one window W and its time is a member's, so a new
hit at t can only change cores whose time lies in [t - W, t + W]. A pass
reconciles the candidates of its zones, [t - 2W, t + 2W] around each new hit,
merged, and searches MARGIN_WINDOWS windows (at least a second) beyond them, so
every cylinder and seed link that touches a zone is seen whole.

Background. The device rates (coincidence.background) are measured over the
trailing CROWDRAY_LIVE_RATE_WINDOW_S seconds ending where the searched
stretch ends: each device's hits in that period, at most
CROWDRAY_MAX_HITS_PER_MIN a minute, over its exposure blocks in it (a device
without blocks counts as live throughout). The consumer keeps them up to date
from the new hits and blocks it folds (follow.rates), so a pass does not read
the hour again. expected_background is then the number of chance cores at
least as significant expected in the neighbourhood over that period: a batch
search over a longer span counts more time trials and gives the same core a
lower significance.

Reconciling. A candidate at or above CROWDRAY_LIVE_MIN_SIGMA that shares a
hit with a provisional shower updates it in place (same id); one sharing a hit
with a batch shower is left to the batch result; any other is added as
provisional, named like a batch candidate (S<smallest hit id>). Provisional
showers of the zones that no candidate matched are removed. A batch search
loaded over a span (follow.load) replaces the provisional showers in it.

Regions. With CROWDRAY_LIVE_PART=k/n the consumer (named live:k/n) is one of
n that share the network by longitude; it searches its band's hits and
reconciles only the showers whose centroid it owns (follow.regions).

The pass searches outside any transaction (SQLite writers would wait) and
writes its result in one; a pass redone after a crash writes the same result.
"""

from __future__ import annotations

import logging
import operator
import time
from collections.abc import Callable, Iterable, Iterator
from functools import reduce
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Max, Q, QuerySet
from django.db.models.functions import Cast

from coincidence.background import expected_for_sigma
from coincidence.floods import first_per_minute
from coincidence.params import Params
from coincidence.reference import device_table
from coincidence.reference import search as find_with_groups
from follow.rates import BLOCK_COLUMNS, LiveRates
from follow.regions import FIRST_MARGIN_DEG, Part, owned_whole
from follow.tail import Chunk, Consumer, Mark, done_rows, horizon, read_mark, save_mark
from ingest import near
from ingest.models import ConsumerMark, ExposureBlock, Hit, SearchRun, Shower
from vocab.contracts import HIT_COLUMNS, SHOWER_SCALARS, SHOWER_SCHEMA
from vocab.shower import SENSOR_AREA_M2
from vocab.units import NS_PER_MIN, NS_PER_S

log = logging.getLogger(__name__)
Ints = npt.NDArray[np.int64]
Zone = tuple[int, int]  # [lo, hi) in epoch ns
MARGIN_WINDOWS = 20


def merged(t_ns: Iterable[int], half_ns: int) -> list[Zone]:
    """The intervals [t - half_ns, t + half_ns] around each time, merged, as [lo, hi)."""
    t = np.sort(np.fromiter(t_ns, np.int64))
    if not len(t):
        return []
    lo, hi = t - half_ns, t + half_ns + 1
    starts = np.flatnonzero(np.r_[True, lo[1:] > np.maximum.accumulate(hi)[:-1]])
    ends = np.maximum.reduceat(hi, starts)
    return [(int(a), int(b)) for a, b in zip(lo[starts], ends, strict=True)]


def stretches(zones: list[Zone], margin_ns: int, longest_ns: int) -> list[list[Zone]]:
    """Consecutive zones grouped so that each group, with its margins, spans <= longest_ns."""
    groups: list[list[Zone]] = []
    for zone in zones:
        if groups and zone[1] - groups[-1][0][0] + 2 * margin_ns <= longest_ns:
            groups[-1].append(zone)
        else:
            groups.append([zone])
    return groups


def inside(t_ns: Ints, zones: list[Zone]) -> npt.NDArray[np.bool_]:
    """Whether each time lies in one of the sorted, disjoint zones."""
    lo = np.array([z[0] for z in zones], dtype=np.int64)
    hi = np.array([z[1] for z in zones], dtype=np.int64)
    k = np.searchsorted(lo, t_ns, side="right") - 1
    return (k >= 0) & (t_ns < hi[np.maximum(k, 0)])


def read_hits(
    lo: int,
    hi: int,
    flooding: Callable[[int, int], list[str]] | None = None,
    lons: list[tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """Hits with lo <= t_ns < hi as the search's columns (device ids as text, like the lake).

    Only the hits the public counters count: a device's first
    CROWDRAY_MAX_HITS_PER_MIN of each minute, in id order (coincidence.floods).
    A few phones flooding hundreds of hits a second would otherwise make one
    pass take minutes, and the follower's other consumers wait for it. Which
    those are depends on the whole minutes around [lo, hi): flooding(first, last),
    when given, names the devices over the cap in a minute of [first, last), and
    only their hits of those minutes are read beyond [lo, hi) (at a million
    phones, reading every hit of the minutes was 4.5 times the hits searched).
    lons: only hits in these longitude ranges [a, b] (follow.regions); the cap
    still counts a flooding device's hits everywhere.
    """
    first, last = lo // NS_PER_MIN * NS_PER_MIN, -(-hi // NS_PER_MIN) * NS_PER_MIN
    if flooding is None:
        df = _hits(Hit.objects.filter(t_ns__gte=first, t_ns__lt=last))
    else:
        df = _hits(Hit.objects.filter(_in_lons(lons), t_ns__gte=lo, t_ns__lt=hi))
        over = flooding(first, last)
        if over:
            whole = Hit.objects.filter(t_ns__gte=first, t_ns__lt=last, device_id__in=over)
            df = pd.concat([df[~df["device_id"].isin(over)], _hits(whole)], ignore_index=True)
    df = first_per_minute(df, settings.CROWDRAY_MAX_HITS_PER_MIN)
    keep = df["t_ns"].between(lo, hi - 1)
    if lons is not None:
        keep &= np.logical_or.reduce([df["lon"].between(a, b) for a, b in lons])
    return df[keep].reset_index(drop=True)


def _in_lons(lons: list[tuple[float, float]] | None) -> Q:
    """Hits in any of these longitude ranges (all when None)."""
    if lons is None:
        return Q()
    ranges = [Q(lon__gte=a, lon__lte=b) for a, b in lons]
    return reduce(operator.or_, ranges)


def _hits(rows: QuerySet[Hit]) -> pd.DataFrame:
    """HIT_COLUMNS of the rows; device ids as text without a UUID object per row (3 s a pass)."""
    fields = tuple(
        "id" if c == "hit_id" else "device_text" if c == "device_id" else c for c in HIT_COLUMNS
    )
    values = rows.annotate(device_text=Cast("device_id", CharField())).values_list(*fields)
    df = pd.DataFrame(list(values), columns=list(HIT_COLUMNS))
    df["device_id"] = dashed(df["device_id"].astype(str))
    return df.astype({"hit_id": np.int64, "t_ns": np.int64, "lat": float, "lon": float})


def dashed(ids: pd.Series) -> pd.Series:
    """UUIDs as str(uuid.UUID) writes them (SQLite keeps 32 hex digits; PostgreSQL, dashes)."""
    if ids.empty or len(ids.iloc[0]) != 32:
        return ids
    s = ids.str
    return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]


def read_blocks(lo: int, hi: int) -> pd.DataFrame:
    """Exposure blocks overlapping [lo, hi)."""
    columns = ["device_id", "start_ns", "end_ns", "lat", "lon"]
    rows = ExposureBlock.objects.filter(near.overlapping(lo, hi)).values_list(*columns)
    df = pd.DataFrame(list(rows), columns=columns)
    df["device_id"] = df["device_id"].astype(str)
    return df.astype({"start_ns": np.int64, "end_ns": np.int64, "lat": float, "lon": float})


class LiveSearch(Consumer):
    """The follower's consumer that keeps the provisional showers."""

    name = "live"
    own_thread = True
    # Blocks first: a pass over new hits then sees the blocks that came with them.
    streams = {
        "exposures": tuple(BLOCK_COLUMNS),
        "hits": ("device_id", "t_ns", "lat", "lon"),
    }
    # One search per pass: at a million phones a 15 s pass brings 125,000 new hits, and
    # each chunk's search covers the whole interval again.
    chunk_rows = 500_000
    transactional = False  # it searches first, then writes its result in one transaction

    def __init__(
        self,
        interval_s: float = 15.0,
        rate_window_s: float = 3600.0,
        min_sigma: float = 5.0,
        sensor_area_m2: float | None = None,
        part: Part | None = None,
    ) -> None:
        self.part = Part() if part is None else part
        # Each part keeps its own marks: `--only live` still names them all.
        self.name = "live" if self.part.whole else f"live:{self.part.k}/{self.part.n}"
        self.interval_s = interval_s
        self.rate_window_s = rate_window_s
        self.params = Params(
            max_expected=expected_for_sigma(min_sigma),
            sensor_area_m2=SENSOR_AREA_M2 if sensor_area_m2 is None else sensor_area_m2,
            max_hits_per_min=settings.CROWDRAY_MAX_HITS_PER_MIN,  # as read_hits reads them
        )
        self.margin_ns = max(NS_PER_S, MARGIN_WINDOWS * self.params.window_ns)
        self.described = {
            **self.params.as_dict(),
            "live": True,
            "min_sigma": min_sigma,
            "rate_window_s": rate_window_s,
        }
        self.rates: LiveRates | None = None

    def prepare(self) -> None:
        if self.rates is None:
            self.rates = load_rates(self)
        else:
            floor = self.rates.keep_from()
            if floor is not None:
                self.rates.forget_before(floor)

    def fold(self, chunk: Chunk) -> None:
        if self.rates is None:
            self.rates = load_rates(self)
        try:
            if chunk.stream == "exposures":
                self.rates.add_blocks(pd.DataFrame(chunk.columns))
                return
            c = chunk.columns
            self.rates.add_hits(c["device_id"], c["t_ns"], c["lat"], c["lon"])
            self.search_new(chunk, self.rates)
        except BaseException:
            self.rates = None  # the mark does not move: the chunk comes again, to a fresh state
            raise

    def search_new(self, chunk: Chunk, rates: LiveRates) -> None:
        started = time.perf_counter()
        zones = merged(chunk.columns["t_ns"], 2 * self.params.window_ns)
        longest = round(self.rate_window_s * NS_PER_S)
        counts = {"searched": 0, "found": 0, "added": 0, "updated": 0, "removed": 0}
        for group in stretches(zones, self.margin_ns, longest):
            found, searched = self.search(group, rates)
            counts["searched"] += searched
            counts["found"] += len(found)
            for key, n in reconcile(found, group, self.described, self.part).items():
                counts[key] += n
        log.info("live: %d new hits, %s in %.2f s", chunk.n, counts, time.perf_counter() - started)

    def search(self, zones: list[Zone], state: LiveRates) -> tuple[pd.DataFrame, int]:
        """The candidates around the zones, and how many hits were searched."""
        lo, hi = zones[0][0] - self.margin_ns, zones[-1][1] + self.margin_ns
        margin = FIRST_MARGIN_DEG
        while True:  # a part widens its band until its candidates' groups are whole
            hits = read_hits(lo, hi, state.flooding, self.part.searched(margin))
            if hits.empty:
                return pd.DataFrame(), 0
            found, groups = self.search_hits(hits, lo, hi, state)
            if owned_whole(self.part, found, hits, groups, margin, self.params.radius_m):
                return found, len(hits)
            log.info(
                "live %s: a candidate depends on hits past %.1f deg; searching wider",
                self.name,
                margin,
            )
            margin *= 4

    def search_hits(
        self, hits: pd.DataFrame, lo: int, hi: int, state: LiveRates
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The candidates of these hits, and every linked hit with its seed group."""
        rates = state.rates(hi)
        missing = hits[~hits["device_id"].isin(rates.index)]  # committed after the last chunk
        if len(missing):
            window = state.window(hi)
            rates = pd.concat([rates, device_table(missing, (window[1] - window[0]) / NS_PER_S)])
        blocks = state.blocks_between(lo, hi)
        if blocks is None:  # older than the rates hold: read them
            blocks = read_blocks(lo, hi)
        return find_with_groups(hits, self.params, blocks, rates)


def load_rates(live: LiveSearch) -> LiveRates:
    """The rates state as the consumer's marks have it: every done row from the floor on.

    A follower that starts with a fresh state reads the rate window (and KEEP_S) of
    hits and blocks once; the chunks after its marks then keep it up to date.
    """
    started = time.perf_counter()
    if not ConsumerMark.objects.filter(consumer=live.name, stream="exposures").exists():
        # New stream for this consumer: what it would fold is what the load reads.
        save_mark(live.name, "exposures", Mark(horizon("exposures")), 0)
    marks = {stream: read_mark(live.name, stream) for stream in live.streams}
    state = LiveRates(live.rate_window_s, live.params.max_hits_per_min, None)
    newest = Hit.objects.aggregate(t=Max("t_ns"))["t"]
    if newest is not None:
        state.latest_ns = int(newest)
        state.forget_before(state.keep_from() or 0)
    floor = state.floor_ns if state.floor_ns is not None else -(2**63)
    blocks = done_rows("exposures", marks["exposures"]).filter(end_ns__gt=floor)
    for piece in _pieces(blocks.values_list(*BLOCK_COLUMNS).iterator(chunk_size=20_000)):
        state.add_blocks(pd.DataFrame(piece, columns=BLOCK_COLUMNS))
    hits = done_rows("hits", marks["hits"]).filter(t_ns__gte=floor)
    n = 0
    rows = hits.values_list("device_id", "t_ns", "lat", "lon").iterator(chunk_size=20_000)
    for piece in _pieces(rows):
        device, t, lat, lon = (list(c) for c in zip(*piece, strict=True))
        state.add_hits(device, t, lat, lon)
        n += len(piece)
    log.info("live: rates loaded from %d hits in %.1f s", n, time.perf_counter() - started)
    return state


def _pieces(
    rows: Iterable[tuple[Any, ...]], size: int = 200_000
) -> Iterator[list[tuple[Any, ...]]]:
    piece: list[tuple[Any, ...]] = []
    for row in rows:
        piece.append(row)
        if len(piece) == size:
            yield piece
            piece = []
    if piece:
        yield piece


def _owners(hit_ids: list[int]) -> dict[int, str]:
    """The shower each of these hits belongs to (a hit is in at most one, per search)."""
    through = Shower.hits.through
    out: dict[int, str] = {}
    for start in range(0, len(hit_ids), 5000):
        piece = hit_ids[start : start + 5000]
        out.update(through.objects.filter(hit_id__in=piece).values_list("hit_id", "shower_id"))
    return out


def _provisional_in(zones: list[Zone], part: Part) -> set[str]:
    """The provisional showers of the zones that the part owns."""
    rows = Shower.objects.filter(provisional=True, t_ns__gte=zones[0][0], t_ns__lt=zones[-1][1])
    found = list(rows.values_list("shower_id", "t_ns", "lon"))
    keep = inside(np.array([t for _, t, _ in found], dtype=np.int64), zones)
    keep &= part.owns(np.array([lon for _, _, lon in found], dtype=np.float64))
    return {sid for (sid, _, _), k in zip(found, keep, strict=True) if k}


def _kinds(rows: list[dict[str, Any]]) -> tuple[dict[int, str], dict[str, bool]]:
    """Which shower holds each member hit, and whether each such shower is provisional."""
    owner = _owners(sorted({h for r in rows for h in r["hit_ids"]}))
    named = set(owner.values()) | {r["shower_id"] for r in rows}
    kinds = Shower.objects.filter(shower_id__in=named).values_list("shower_id", "provisional")
    return owner, dict(kinds)


def reconcile(
    found: pd.DataFrame, zones: list[Zone], described: dict[str, Any], part: Part | None = None
) -> dict[str, int]:
    """Make the provisional showers of the zones those found (see the module docstring).

    With a part (follow.regions), only the showers whose centroid it owns.
    """
    part = Part() if part is None else part
    counts = {"added": 0, "updated": 0, "removed": 0}
    if len(found):
        found = found[inside(found["t_ns"].to_numpy(np.int64), zones)]
        found = found[part.owns(found["lon"].to_numpy(np.float64))]
    rows = pa.Table.from_pandas(found, schema=SHOWER_SCHEMA).to_pylist() if len(found) else []
    rows.sort(key=lambda r: (r["t_ns"], r["shower_id"]))
    with transaction.atomic():
        stale = _provisional_in(zones, part)
        owner, kinds = _kinds(rows)
        kept: set[str] = set()
        run = _run(described)
        for row in rows:
            sids = {owner[h] for h in row["hit_ids"] if h in owner} - kept
            if any(not kinds[s] for s in sids) or kinds.get(row["shower_id"]) is False:
                continue  # the batch search's result is the record
            target = min(sids) if sids else row["shower_id"]
            merged_away = sids - {target}
            Shower.objects.filter(shower_id__in=merged_away).delete()
            stale -= merged_away
            counts["removed"] += len(merged_away)
            counts["updated" if target in kinds else "added"] += 1
            _save(target, row, run)
            kept.add(target)
        gone = stale - kept
        Shower.objects.filter(shower_id__in=gone, provisional=True).delete()
        counts["removed"] += len(gone)
    return counts


def _run(described: dict[str, Any]) -> SearchRun:
    """The search run the live search's showers belong to (one per set of parameters)."""
    for run in SearchRun.objects.filter(params__live=True).order_by("-pk")[:20]:
        if run.params == described:
            return run
    return SearchRun.objects.create(params=described)


def _save(shower_id: str, row: dict[str, Any], run: SearchRun) -> None:
    fields = {f: row[f] for f in SHOWER_SCALARS}
    Shower.objects.update_or_create(
        shower_id=shower_id, defaults={**fields, "search": run, "provisional": True}
    )
    through = Shower.hits.through
    through.objects.filter(shower_id=shower_id).delete()
    through.objects.bulk_create(
        [through(shower_id=shower_id, hit_id=h) for h in row["hit_ids"]], batch_size=5000
    )


def from_settings() -> LiveSearch:
    from django.conf import settings

    return LiveSearch(
        settings.CROWDRAY_LIVE_INTERVAL_S,
        settings.CROWDRAY_LIVE_RATE_WINDOW_S,
        settings.CROWDRAY_LIVE_MIN_SIGMA,
        settings.CROWDRAY_SENSOR_AREA_M2,
        Part.parse(settings.CROWDRAY_LIVE_PART),
    )
