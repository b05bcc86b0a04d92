"""The pricing engine: a basket and the promotions in force in, an explained price out. Pure and deterministic.

No I/O, no clock, no database: the caller gives validated promotions (``hub.promotions.validation``), a basket
whose lines already carry category and brand, and the store's time zone. Money is integer minor units (fen);
every rounding is round-half-up on exact integers, so the same input prices to the same fen on every hub.

How a price is found (docs/promotions.md says it for people):

1. **Eligibility.** A promotion is *usable* when the basket's ``at`` lies in ``[valid.from, valid.to)``, the
   store-local weekday and time fall in its ``weekdays``/``hours``, the member rule holds (``members_only``,
   ``tiers``) and, for a promotion with a ``coupon``, the basket carries that code (or an issued code the caller's
   coupon service mapped to the promotion, ``issued_codes``). Pricing reaches promotions through
   :class:`PromotionIndex` (by SKU, category and brand), so a basket touches only the promotions of its lines.
2. **Item phase.** Every unit of a line goes to exactly one of the usable item-phase promotions that cover it (a
   unit no promotion covers stays at full price). A promotion's saving is a function of the units it holds (its
   *pool*): ``percent_off``/``fixed_price`` per line, ``nth_item_off`` per SKU, ``buy_x_get_y`` over its pool (the
   cheapest units are discounted, as the issue says), ``bundle_price`` over complete bundles. The engine picks
   the assignment with the greatest key ``(total saving, savings per promotion in rank order, unit counts in
   canonical line order)`` — the best for the customer; on equal savings the higher priority, then the smaller
   id, takes the units. Rank order is (priority descending, id ascending); canonical line order sorts lines by
   what they are (SKU, category, brand, price, quantity, tax rate), so reordering a basket never changes its
   price.
3. **Order phase** on what is left: each usable order-phase promotion takes its saving from its own eligible net
   after the item phase (units held by an ``exclusive`` item-phase promotion are not eligible), and they combine;
   an ``exclusive`` order-phase promotion is used alone or not at all — whichever of "all non-exclusive ones" and
   "each exclusive one alone" saves the customer most (ties: higher priority, then id, of the option's leading
   promotion). Each saving is capped at what is left of its lines and allocated to them pro rata to that net by
   largest remainder (ties to the earlier line), so every fen lands on a line and a partial return refunds what
   the customer paid for those units.

**The search bound.** The item phase splits the basket into independent components: lines are joined only
through a grouping promotion (``buy_x_get_y`` and ``bundle_price`` over their pool, ``nth_item_off`` per SKU).
A line alone in its component is solved exactly by a dynamic programme over the unit split (``O(e · q²)`` for
``e`` promotions and ``q`` units; one promotion or one unit needs no DP). A component of several lines whose
assignments number at most :data:`EXACT_LIMIT` (the product over its lines of ``C(q+e-1, e-1)``) is solved
exactly: only the grouping promotions' share of each line is enumerated (the product over its lines of
``C(q+g-1+[p], g-1+[p])`` for ``g`` grouping promotions and ``[p]`` = 1 when it has per-line ones, never more
than the first product, so at most :data:`EXACT_LIMIT` combinations) and each line's per-line share is read off
its DP, which gives the same argmax as enumerating every assignment (``_exhaustive`` says why; tests/promotions
check it against that enumeration and against brute force over every unit). A larger component is improved by at
most :data:`LOCAL_PASSES` passes of moves "all units of one line to one of its promotions" from the rank-order
start; each move re-prices only the two promotions it touches. So pricing costs at most ``EXACT_LIMIT`` pool
evaluations per component plus ``LOCAL_PASSES · Σ e`` moves, never a product over the basket or over the 2,000
promotions of a chain; past the bound the deal is a good one, not a proven best. The order phase tries
``1 + (number of exclusive order promotions)`` options: linear.

**Caches.** A :class:`PromotionIndex` keeps each line's candidate promotions (per SKU, category, brand, weighed)
and each solved component (keyed by what decides its answer), so re-pricing a cart after a scan solves only the
component the new line joins. Both are pure functions of the index and their key; the answers never depend on
what is cached (tests/promotions: warm caches == from scratch).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

EXACT_LIMIT = 729  # assignments enumerated per item-phase component before the local search takes over
LOCAL_PASSES = 3  # passes of single-line moves past that bound
CANDIDATE_CACHE = 50_000  # (SKU, category, brand, weighed) -> candidate promotions, per index
SOLVED_CACHE = 20_000  # solved item-phase components, per index (what makes a re-price after a scan cheap)

TYPES = ("percent_off", "fixed_price", "spend_save", "buy_x_get_y", "bundle_price", "nth_item_off")
PER_LINE = ("percent_off", "fixed_price")  # saving is a sum over lines: no coupling between lines
GROUPING = ("buy_x_get_y", "bundle_price", "nth_item_off")
WEIGHABLE = ("percent_off", "fixed_price")  # the item-phase types a weighed line takes


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, both non-negative integers (no float ever touches money)."""
    return (2 * numerator + denominator) // (2 * denominator)


def percent_of(amount: int, percent: Fraction) -> int:
    """round-half-up(amount × percent / 100)."""
    return round_half_up(amount * percent.numerator, 100 * percent.denominator)


@dataclass(frozen=True, slots=True, eq=False)
class Promotion:
    """A validated promotion (built by ``validation.parse_promotion``); ``raw`` is the object as authored."""

    id: str
    name: Mapping[str, str]
    type: str
    phase: str
    exclusive: bool
    priority: int
    members_only: bool
    tiers: frozenset[str] | None
    coupon: str | None  # normalised (stripped, upper case), or None
    skus: frozenset[str]
    categories: frozenset[str]
    brands: frozenset[str]
    exclude_skus: frozenset[str]
    start: datetime
    end: datetime
    weekdays: frozenset[int] | None
    hours: tuple[tuple[int, int], ...] | None  # minutes since local midnight, [start, end)
    percent: Fraction | None = None  # percent_off, nth_item_off, buy_x_get_y (its percent_off)
    price_minor: int | None = None  # fixed_price (per unit, per kg on a weighed line), bundle_price
    ladder: tuple[tuple[int, int], ...] = ()  # spend_save: (spend_minor, save_minor), ascending
    repeat: bool = False
    buy: int = 0
    get: int = 0
    n: int = 0
    groups: tuple[tuple[frozenset[str], int], ...] = ()
    raw: Mapping[str, Any] | None = None

    @property
    def rank_key(self) -> tuple[int, str]:
        return (-self.priority, self.id)

    @property
    def whole_basket(self) -> bool:
        return not (self.skus or self.categories or self.brands or self.groups)

    def covers(self, line: Line) -> bool:
        """Is the line in this promotion's scope (and of a kind its type can discount)?"""
        if line.sku in self.exclude_skus:
            return False
        if line.weighted and self.phase == "item" and self.type not in WEIGHABLE:
            return False
        if self.groups and not any(line.sku in skus for skus, _qty in self.groups):
            return False
        if self.skus or self.categories or self.brands:
            return line.sku in self.skus or line.category in self.categories or line.brand in self.brands
        return True


@dataclass(frozen=True, slots=True, eq=False)
class Line:
    """A basket line as priced: ``units`` is the quantity, or 1 for a weighed line (which is priced whole)."""

    index: int
    sku: str
    category: str
    brand: str
    qty: int | None
    unit_price_minor: int | None
    grams: int | None
    price_per_kg_minor: int | None
    tax_rate: Fraction | None
    tax_rate_text: str | None
    gross: int
    units: int
    unit_gross: int
    weighted: bool

    @property
    def canonical_key(self) -> tuple:
        """What the line is, not where it stands: lines equal under this key are interchangeable."""
        return (
            self.sku,
            self.category,
            self.brand,
            self.weighted,
            self.unit_price_minor or 0,
            self.price_per_kg_minor or 0,
            self.qty or 0,
            self.grams or 0,
            self.tax_rate_text or "",
        )


@dataclass(frozen=True, slots=True)
class Member:
    tier: str | None


@dataclass(frozen=True, slots=True)
class Basket:
    at: datetime  # UTC
    member: Member | None
    coupons: tuple[Any, ...]  # as given; bad codes are reported, not refused
    lines: tuple[Line, ...]


def make_line(
    index: int,
    *,
    sku: str,
    category: str,
    brand: str,
    qty: int | None = None,
    unit_price_minor: int | None = None,
    grams: int | None = None,
    price_per_kg_minor: int | None = None,
    tax_rate: str | None = None,
) -> Line:
    """A line with its gross: ``qty × unit price``, or round-half-up(grams × price per kg / 1000)."""
    rate = Fraction(tax_rate) if tax_rate is not None else None
    if grams is not None:
        assert price_per_kg_minor is not None
        gross = round_half_up(grams * price_per_kg_minor, 1000)
        return Line(
            index, sku, category, brand, None, None, grams, price_per_kg_minor, rate, tax_rate, gross, 1, gross, True
        )
    assert qty is not None and unit_price_minor is not None
    return Line(
        index,
        sku,
        category,
        brand,
        qty,
        unit_price_minor,
        None,
        None,
        rate,
        tax_rate,
        qty * unit_price_minor,
        qty,
        unit_price_minor,
        False,
    )


class PromotionIndex:
    """Promotions by phase and by SKU, category and brand (and the whole-basket ones), so a line meets only its
    own: pricing a basket touches the few promotions of its lines, not the chain's thousands."""

    def __init__(self, promotions: Iterable[Promotion]):
        self.promotions: tuple[Promotion, ...] = tuple(sorted(promotions, key=lambda p: p.rank_key))
        self.by_id = {p.id: p for p in self.promotions}
        self.rank = {p.id: i for i, p in enumerate(self.promotions)}
        self.by_code: dict[str, list[Promotion]] = {}
        self._buckets: dict[
            str, tuple[dict[str, list[Promotion]], dict[str, list[Promotion]], dict[str, list[Promotion]]]
        ] = {"item": ({}, {}, {}), "order": ({}, {}, {})}
        self._everywhere: dict[str, list[Promotion]] = {"item": [], "order": []}
        for p in self.promotions:
            if p.coupon:
                self.by_code.setdefault(p.coupon, []).append(p)
            by_sku, by_category, by_brand = self._buckets[p.phase]
            if p.groups:
                for sku in sorted(set().union(*(skus for skus, _ in p.groups))):
                    by_sku.setdefault(sku, []).append(p)
            elif p.whole_basket:
                self._everywhere[p.phase].append(p)
            else:
                for sku in p.skus:
                    by_sku.setdefault(sku, []).append(p)
                for cat in p.categories:
                    by_category.setdefault(cat, []).append(p)
                for brand in p.brands:
                    by_brand.setdefault(brand, []).append(p)
        # Caches of pure functions of (this index, their key): the index never changes once built (the hub builds
        # a new one per downlink version), so an entry never goes stale; each is emptied when it reaches its size
        # cap rather than evicted one by one, which keeps it safe to share between request threads.
        # Their entries are tuples of strings and integers only (promotions by rank, solved components packed by
        # ``_pack``): CPython's garbage collector stops tracking such tuples, so tens of thousands of kept entries
        # neither trigger nor lengthen its full collections — with objects in them, a full collection over the
        # caches paused a price for 100-400 ms now and then (the bench's basket p99).
        self._candidates: dict[tuple, tuple[int, ...]] = {}
        self._solved: dict[tuple, tuple] = {}

    def __len__(self) -> int:
        return len(self.promotions)

    def clear_caches(self) -> None:
        """Forget the cached candidate promotions and solved components (memory only: answers do not change)."""
        self._candidates.clear()
        self._solved.clear()

    def everywhere(self, phase: str) -> list[Promotion]:
        """The whole-basket promotions of a phase (their scope may still exclude SKUs)."""
        return self._everywhere[phase]

    def for_line(self, line: Line, phase: str | None = None, *, everywhere: bool = True) -> list[Promotion]:
        """Every promotion (of ``phase``, or both) whose scope covers the line, in rank order (time and member rules
        not yet applied); ``everywhere=False`` leaves out the whole-basket ones."""
        found: dict[str, Promotion] = {}
        for ph in (phase,) if phase else ("item", "order"):
            by_sku, by_category, by_brand = self._buckets[ph]
            for bucket in (
                by_sku.get(line.sku),
                by_category.get(line.category),
                by_brand.get(line.brand),
                self._everywhere[ph] if everywhere else None,
            ):
                if bucket:
                    for p in bucket:
                        if p.id not in found and p.covers(line):
                            found[p.id] = p
        rank = self.rank
        return sorted(found.values(), key=lambda p: rank[p.id])

    def candidates(self, line: Line) -> tuple[tuple[Promotion, ...], tuple[Promotion, ...]]:
        """``for_line(line, "item")`` and ``for_line(line, "order", everywhere=False)``, cached per (SKU, category,
        brand, weighed): the scope test depends on nothing else, and a till scans the same few thousand items all
        day, so a line's candidate promotions are looked up once per index, not once per scan."""
        key = (line.sku, line.category, line.brand, line.weighted)
        hit = self._candidates.get(key)
        if hit is None:  # kept flat (see __init__): the number of item-phase ones, then both lists by rank
            rank = self.rank
            item = [rank[p.id] for p in self.for_line(line, "item")]
            hit = (len(item), *item, *(rank[p.id] for p in self.for_line(line, "order", everywhere=False)))
            if len(self._candidates) >= CANDIDATE_CACHE:
                self._candidates.clear()
            self._candidates[key] = hit
        if len(hit) == 1:
            return (), ()
        promotions = self.promotions
        n = hit[0] + 1
        return tuple([promotions[i] for i in hit[1:n]]), tuple([promotions[i] for i in hit[n:]])


# --- when a promotion may be used ------------------------------------------------------------------------------


def timing_problem(p: Promotion, at: datetime, local: datetime) -> str | None:
    """Why the promotion is not in force at ``at`` (``local`` is the same instant in the store's zone), or None."""
    if at < p.start:
        return "not_started"
    if at >= p.end:
        return "expired"
    if p.weekdays is not None and local.isoweekday() not in p.weekdays:
        return "outside_hours"
    if p.hours is not None:
        minute = local.hour * 60 + local.minute
        if not any(a <= minute < b for a, b in p.hours):
            return "outside_hours"
    return None


def member_problem(p: Promotion, member: Member | None) -> str | None:
    if (p.members_only or p.tiers is not None) and member is None:
        return "members_only"
    if p.tiers is not None and (member is None or member.tier not in p.tiers):
        return "tier"
    return None


def normalise_code(code: Any) -> str | None:
    """A coupon code as compared (stripped, upper case), or None when it is not a plausible code."""
    if not isinstance(code, str):
        return None
    text = code.strip().upper()
    if not text or len(text) > 64 or any(ch.isspace() for ch in text):
        return None
    return text


# --- the saving of one item-phase promotion on the units it holds --------------------------------------------

Pool = list[tuple[Line, int]]  # (line, units held), in canonical line order


def evaluate(p: Promotion, pool: Pool) -> tuple[dict[int, int], int]:
    """The saving of item-phase promotion ``p`` on its pool: ({line index: discount}, times applied)."""
    out: dict[int, int] = {}
    if p.type == "percent_off":
        assert p.percent is not None
        times = 0
        for line, c in pool:
            d = percent_of(c * line.unit_gross, p.percent)
            if d:
                out[line.index] = d
                times += c
        return out, times
    if p.type == "fixed_price":
        assert p.price_minor is not None
        times = 0
        for line, c in pool:
            if line.weighted:
                d = max(0, line.gross - round_half_up(line.grams * p.price_minor, 1000))  # type: ignore[operator]
            else:
                d = c * max(0, line.unit_gross - p.price_minor)
            if d:
                out[line.index] = d
                times += c
        return out, times
    if p.type == "nth_item_off":
        assert p.percent is not None
        by_sku: dict[str, list[tuple[Line, int]]] = {}
        for line, c in pool:
            by_sku.setdefault(line.sku, []).append((line, c))
        times = 0
        for group in by_sku.values():
            # every n-th unit, counting from the dearest: of each pair (n = 2) the cheaper one is discounted
            group.sort(key=lambda lc: -lc[0].unit_gross)  # stable: canonical order among equal prices
            seen = 0
            for line, c in group:
                k = (seen + c) // p.n - seen // p.n
                seen += c
                if k:
                    d = percent_of(k * line.unit_gross, p.percent)
                    times += k
                    if d:
                        out[line.index] = out.get(line.index, 0) + d
        return out, times
    if p.type == "buy_x_get_y":
        assert p.percent is not None
        n = sum(c for _, c in pool)
        size = p.buy + p.get
        groups = n // size if p.repeat else min(1, n // size)
        m = groups * p.get
        if not m:
            return out, 0
        for line, c in sorted(pool, key=lambda lc: lc[0].unit_gross):  # the cheapest units are discounted
            k = min(c, m)
            m -= k
            d = percent_of(k * line.unit_gross, p.percent)
            if d:
                out[line.index] = d
            if not m:
                break
        return out, groups
    if p.type == "bundle_price":
        return _bundles(p, pool)
    raise ValueError(f"{p.type} is not an item-phase type")


def _bundles(p: Promotion, pool: Pool) -> tuple[dict[int, int], int]:
    """Complete bundles from the dearest units of each group, while a bundle still saves; the saving is shared over
    the bundled units pro rata to their price (largest remainder, ties to the earlier line)."""
    assert p.price_minor is not None
    units: list[list[Line]] = []
    for skus, _qty in p.groups:
        mine = sorted(((line, c) for line, c in pool if line.sku in skus), key=lambda lc: -lc[0].unit_gross)
        units.append([line for line, c in mine for _ in range(c)])
    possible = min(len(u) // qty for u, (_skus, qty) in zip(units, p.groups))
    if not p.repeat:
        possible = min(possible, 1)
    bundles, saving = 0, 0
    used: dict[int, int] = {}
    weights: dict[int, int] = {}
    for b in range(possible):
        members = [line for u, (_skus, qty) in zip(units, p.groups) for line in u[b * qty : (b + 1) * qty]]
        value = sum(line.unit_gross for line in members) - p.price_minor
        if value <= 0:
            break  # the units only get cheaper from here
        bundles += 1
        saving += value
        for line in members:
            used[line.index] = used.get(line.index, 0) + 1
            weights[line.index] = weights.get(line.index, 0) + line.unit_gross
    if not bundles:
        return {}, 0
    return allocate(saving, sorted(weights.items())), bundles


def allocate(amount: int, weights: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Split ``amount`` over ``(line index, weight)`` pro rata by largest remainder, ties to the earlier line.

    With ``amount <= sum(weights)`` no line gets more than its weight, so no line's net goes below zero. The fens
    left after the floors number fewer than the lines with a non-zero remainder (they are the sum of those
    remainders over the total), so only those lines are ranked."""
    total = sum([w for _, w in weights])
    if amount <= 0 or total <= 0:
        return {}
    out: dict[int, int] = {}
    remainders = []
    given = 0
    for idx, w in weights:
        q, r = divmod(amount * w, total)
        out[idx] = q
        given += q
        if r:
            remainders.append((-r, idx))
    left = amount - given
    if left:
        for _r, idx in heapq.nsmallest(left, remainders):
            out[idx] += 1
    return {k: v for k, v in out.items() if v}


# --- the item phase: which promotion each unit takes ----------------------------------------------------------


@dataclass
class _Choice:
    """The item-phase assignment of one component and what it is worth."""

    key: tuple
    counts: dict[int, tuple[int, ...]]  # line index -> units per promotion (its eligible list)
    discounts: dict[str, dict[int, int]]  # promotion id -> {line index: discount}
    times: dict[str, int]


def _pack(indices: tuple[int, ...], choice: _Choice) -> tuple[int | str, ...]:
    """A solved component as the cache keeps it: one flat tuple of strings and integers (see
    ``PromotionIndex``; a flat one because the collector untracks a tuple only once the tuples in it are, in an
    order it does not keep), with the line indices it was solved for. Lengths come before what they count."""
    flat: list[int | str] = [len(indices), *indices, len(choice.counts)]
    for i, counts in choice.counts.items():
        flat += (i, len(counts), *counts)
    flat.append(len(choice.discounts))
    for pid, per_line in choice.discounts.items():
        flat += (pid, choice.times[pid], len(per_line))
        for i, d in per_line.items():
            flat += (i, d)
    return tuple(flat)


def _unpack(packed: tuple[int | str, ...], lines: Sequence[Line]) -> _Choice:
    """The cached answer for ``lines`` (``_pack`` read back). It holds for any basket with the same lines, usable
    promotions and relative line order (the cache key); only the line indices may differ, and then the answer
    is re-labelled position by position. The search's key is not kept: nothing compares it after the search."""
    n = int(packed[0])
    was = packed[1 : 1 + n]
    now = tuple(line.index for line in lines)
    relabel: dict[Any, int] = dict(zip(was, now))
    pos = 1 + n
    counts: dict[int, tuple[int, ...]] = {}
    for _ in range(int(packed[pos])):
        i, k = packed[pos + 1], int(packed[pos + 2])
        counts[relabel[i]] = packed[pos + 3 : pos + 3 + k]  # type: ignore[assignment]
        pos += 2 + k
    pos += 1
    discounts: dict[str, dict[int, int]] = {}
    times: dict[str, int] = {}
    for _ in range(int(packed[pos])):
        pid, t, k = str(packed[pos + 1]), int(packed[pos + 2]), int(packed[pos + 3])
        pos += 3
        discounts[pid] = {relabel[packed[pos + 1 + 2 * j]]: int(packed[pos + 2 + 2 * j]) for j in range(k)}
        times[pid] = t
        pos += 2 * k
    return _Choice((), counts, discounts, times)


@functools.lru_cache(maxsize=1024)
def _compositions(q: int, e: int) -> tuple[tuple[int, ...], ...]:
    """Every way to split ``q`` interchangeable units over ``e`` promotions (the first slot fullest first)."""
    if e == 1:
        return ((q,),)
    out = []
    for first in range(q, -1, -1):
        for rest in _compositions(q - first, e - 1):
            out.append((first, *rest))
    return tuple(out)


def _score(
    lines: Sequence[Line],
    elig: Mapping[int, Sequence[Promotion]],
    promos: Sequence[Promotion],
    counts: Mapping[int, tuple[int, ...]],
) -> _Choice:
    pools: dict[str, Pool] = {p.id: [] for p in promos}
    for line in lines:
        for p, c in zip(elig[line.index], counts[line.index]):
            if c:
                pools[p.id].append((line, c))
    discounts, times, per_promo = {}, {}, []
    for p in promos:
        d, t = evaluate(p, pools[p.id]) if pools[p.id] else ({}, 0)
        discounts[p.id], times[p.id] = d, t
        per_promo.append(sum(d.values()))
    flat = tuple(c for line in lines for c in counts[line.index])
    return _Choice((sum(per_promo), tuple(per_promo), flat), dict(counts), discounts, times)


def _line_values(line: Line, eligible: Sequence[Promotion]) -> list[list[int]]:
    """``values[j][c]``: what promotion ``j`` saves holding ``c`` of this line's units and nothing else."""
    return [[sum(evaluate(p, [(line, c)])[0].values()) if c else 0 for c in range(line.units + 1)] for p in eligible]


def _line_dp(line: Line, eligible: Sequence[Promotion]) -> list[tuple]:
    """For every ``r`` in ``0..q``: the best ``(total, savings in rank order, counts)`` of this line's promotions
    holding exactly ``r`` of its units, each promotion's saving depending only on how many units it holds.

    A DP over (promotion, units left), ``O(e · q²)``, maximising the same lexicographic key as an enumeration: for a
    fixed count ``c`` at promotion ``j`` the key of the whole is ordered exactly as the key of the rest."""
    q, e = line.units, len(eligible)
    values = _line_values(line, eligible)
    best: list[tuple] = [(0, (), ())] + [None] * q  # type: ignore[list-item]
    for j in range(e - 1, -1, -1):
        vj = values[j]
        row: list[tuple] = []
        for r in range(q + 1):
            top = None
            for c in range(r + 1):
                rest = best[r - c]
                if rest is None:
                    continue
                cand = (vj[c] + rest[0], (vj[c], *rest[1]), (c, *rest[2]))
                if top is None or cand > top:
                    top = cand
            row.append(top)  # type: ignore[arg-type]
        best = row
    return best


def _solve_single_line(line: Line, eligible: Sequence[Promotion]) -> _Choice:
    """Exact best split of one line's units over its promotions, when no other line shares a pool with it (each
    promotion's saving then depends only on how many of this line's units it holds). One promotion or one unit
    needs no DP: with one unit, the key is largest for the first promotion (in rank order) of the largest saving —
    an earlier non-zero saving wins the savings tuple, and with nothing saved the counts ``(1, 0, …)`` win."""
    q, e = line.units, len(eligible)
    if e == 1:
        p = eligible[0]
        d, t = evaluate(p, [(line, q)])
        saving = sum(d.values())
        return _Choice((saving, (saving,), (q,)), {line.index: (q,)}, {p.id: d}, {p.id: t})
    if q == 1:
        values = [sum(evaluate(p, [(line, 1)])[0].values()) for p in eligible]
        top = values.index(max(values))
        counts = tuple(1 if j == top else 0 for j in range(e))
    else:
        counts = _line_dp(line, eligible)[q][2]
    return _score([line], {line.index: eligible}, eligible, {line.index: counts})


def _exhaustive(lines: Sequence[Line], elig: Mapping[int, Sequence[Promotion]], promos: Sequence[Promotion]) -> _Choice:
    """The best assignment of a component of several lines, exactly: the argmax of the full key over every
    assignment, found by enumerating only the *grouping* promotions' share of each line.

    Why that is exact: fix how many units of each line every grouping promotion holds; what is left of line ``l``
    (``r_l`` units) goes to its per-line promotions, whose savings add up line by line. The key's first two parts
    (total, savings in rank order) are then a constant plus a sum over lines, and lexicographic order is
    translation-invariant, so the sum is largest exactly when every line's part is largest; its third part (the
    counts, line after line) is then largest when every line's counts are. So each line's per-line share is the
    single-line DP's best for ``r_l`` units (computed once for every ``r_l``), and only the grouping shares are
    enumerated: at most the old product of ``C(q+e-1, e-1)``, usually far fewer. A combination whose total is
    already below the best found is dropped before its key is built (ties still compare the whole key)."""
    slot = {p.id: k for k, p in enumerate(promos)}
    width = len(promos)
    per_line = []
    for pos, line in enumerate(lines):
        el = elig[line.index]
        gpos = [k for k, p in enumerate(el) if p.type in GROUPING]
        ppos = [k for k, p in enumerate(el) if p.type not in GROUPING]
        pbest = _line_dp(line, [el[k] for k in ppos]) if ppos else None
        options = []
        for split in _compositions(line.units, len(gpos) + (1 if ppos else 0)):
            counts = [0] * len(el)
            for k, c in zip(gpos, split):
                counts[k] = c
            if pbest is not None:
                p_total, p_savings, p_counts = pbest[split[-1]]
                for k, c in zip(ppos, p_counts):
                    counts[k] = c
                p_vec = tuple((slot[el[k].id], v) for k, v in zip(ppos, p_savings) if v)
            else:
                p_total, p_vec = 0, ()
            held = tuple((el[k].id, c) for k, c in zip(gpos, split) if c)
            options.append((held, p_total, p_vec, tuple(counts)))
        per_line.append((pos, line, options))

    by_id = {p.id: p for p in promos}
    memo: dict[tuple, int] = {}
    best_key: tuple | None = None
    best_combo: tuple | None = None
    for combo in itertools.product(*(options for _pos, _line, options in per_line)):
        pools: dict[str, list[tuple[int, Line, int]]] = {}
        total = 0
        for (pos, line, _options), (held, p_total, _vec, _counts) in zip(per_line, combo):
            total += p_total
            for pid, c in held:
                pools.setdefault(pid, []).append((pos, line, c))
        saved = []
        for pid, pool in pools.items():
            key = (pid, *((pos, c) for pos, _line, c in pool))
            s = memo.get(key)
            if s is None:
                s = memo[key] = sum(evaluate(by_id[pid], [(line, c) for _pos, line, c in pool])[0].values())
            saved.append((pid, s))
            total += s
        if best_key is not None and total < best_key[0]:
            continue
        vec = [0] * width
        for pid, s in saved:
            vec[slot[pid]] += s
        for option in combo:
            for k, v in option[2]:
                vec[k] += v
        key = (total, tuple(vec), tuple(c for option in combo for c in option[3]))
        if best_key is None or key > best_key:
            best_key, best_combo = key, combo
    assert best_combo is not None
    return _score(lines, elig, promos, {line.index: option[3] for line, option in zip(lines, best_combo)})


def _local_search(
    lines: Sequence[Line], elig: Mapping[int, Sequence[Promotion]], promos: Sequence[Promotion]
) -> _Choice:
    """Past :data:`EXACT_LIMIT`: start with every line's units on its highest-ranked promotion, then move whole
    lines to another of their promotions while that improves the key, for at most :data:`LOCAL_PASSES` passes.
    A move re-prices only the two promotions it touches."""
    counts = {line.index: tuple(line.units if k == 0 else 0 for k in range(len(elig[line.index]))) for line in lines}
    pools: dict[str, dict[int, tuple[Line, int]]] = {p.id: {} for p in promos}
    order = {line.index: pos for pos, line in enumerate(lines)}
    for line in lines:
        pools[elig[line.index][0].id][line.index] = (line, line.units)

    def value(pid: str) -> int:
        pool = sorted(pools[pid].values(), key=lambda lc: order[lc[0].index])
        return sum(evaluate(by_id[pid], pool)[0].values()) if pool else 0

    by_id = {p.id: p for p in promos}
    slot = {p.id: i for i, p in enumerate(promos)}
    vals = [value(p.id) for p in promos]
    current = (sum(vals), tuple(vals))
    for _ in range(LOCAL_PASSES):
        moved = False
        for line in lines:
            options = elig[line.index]
            if len(options) < 2:
                continue
            here = next(i for i, c in enumerate(counts[line.index]) if c)
            for k, target in enumerate(options):
                if k == here:
                    continue
                src = options[here].id
                del pools[src][line.index]
                pools[target.id][line.index] = (line, line.units)
                trial = list(vals)
                trial[slot[src]], trial[slot[target.id]] = value(src), value(target.id)
                key = (sum(trial), tuple(trial))
                if key > current:
                    vals, current, here, moved = trial, key, k, True
                    counts[line.index] = tuple(line.units if i == k else 0 for i in range(len(options)))
                else:
                    del pools[target.id][line.index]
                    pools[src][line.index] = (line, line.units)
        if not moved:
            break
    return _score(lines, elig, promos, counts)


def _components(lines: Sequence[Line], elig: Mapping[int, Sequence[Promotion]]) -> list[list[Line]]:
    """Lines joined through a grouping promotion (per SKU for ``nth_item_off``), each list in canonical order."""
    parent = {line.index: line.index for line in lines}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    anchor: dict[tuple[str, str], int] = {}
    for line in lines:
        for p in elig[line.index]:
            if p.type in GROUPING:
                key = (p.id, line.sku if p.type == "nth_item_off" else "")
                if key in anchor:
                    parent[find(line.index)] = find(anchor[key])
                else:
                    anchor[key] = line.index
    comps: dict[int, list[Line]] = {}
    for line in lines:
        comps.setdefault(find(line.index), []).append(line)
    return list(comps.values())


def _assignments_bounded(lines: Sequence[Line], elig: Mapping[int, Sequence[Promotion]]) -> bool:
    total = 1
    for line in lines:
        e = len(elig[line.index])
        total *= math.comb(line.units + e - 1, e - 1)
        if total > EXACT_LIMIT:
            return False
    return True


def _solve(comp: Sequence[Line], elig: Mapping[int, Sequence[Promotion]], rank: Mapping[str, int]) -> _Choice:
    promos = sorted({p.id: p for line in comp for p in elig[line.index]}.values(), key=lambda p: rank[p.id])
    if len(comp) == 1:
        return _solve_single_line(comp[0], elig[comp[0].index])
    if _assignments_bounded(comp, elig):
        return _exhaustive(comp, elig, promos)
    return _local_search(comp, elig, promos)


def item_phase(
    lines: Sequence[Line],
    elig: Mapping[int, Sequence[Promotion]],
    rank: Mapping[str, int],
    solved: dict[tuple, tuple] | None = None,
) -> list[_Choice]:
    """The best assignment, component by component (``lines`` in canonical order, ``elig`` in rank order).

    With ``solved`` (the index's cache), a component is looked up by what determines its answer — each line's
    canonical key and usable promotions, in canonical order, and the relative order of the lines' indices (the
    tie-breaks of an allocation go to the earlier line) — and solved only when it is new. Adding a line to a priced
    cart therefore re-solves only the component the new line joins; the answer is the same as from scratch because
    it is a function of exactly that key (tests/promotions check incremental == from scratch)."""
    out = []
    for comp in _components([line for line in lines if elig[line.index]], elig):
        if solved is None:
            out.append(_solve(comp, elig, rank))
            continue
        indices = [line.index for line in comp]
        flat: list[Any] = [len(comp)]  # flat, as ``_pack`` says why; each line's promotions after their number
        for line in comp:
            ids = elig[line.index]
            flat += line.canonical_key
            flat.append(len(ids))
            flat += [p.id for p in ids]
        if len(comp) > 1:
            flat += sorted(range(len(comp)), key=indices.__getitem__)
        key = tuple(flat)
        hit = solved.get(key)
        if hit is None:
            choice = _solve(comp, elig, rank)
            if len(solved) >= SOLVED_CACHE:
                solved.clear()
            solved[key] = _pack(tuple(indices), choice)
            out.append(choice)
        else:
            out.append(_unpack(hit, comp))
    return out


# --- the order phase ----------------------------------------------------------------------------------------


def order_saving(p: Promotion, base: int) -> tuple[int, int]:
    """(saving, times) of an order-phase promotion on its eligible net ``base``."""
    if p.type == "spend_save":
        if p.repeat:
            spend, save = p.ladder[0]
            times = base // spend
            return times * save, times
        reached = [save for spend, save in p.ladder if base >= spend]
        return (reached[-1], 1) if reached else (0, 0)
    if p.type == "percent_off":
        assert p.percent is not None
        saving = percent_of(base, p.percent)
        return saving, 1 if saving else 0
    raise ValueError(f"{p.type} is not an order-phase type")


def _order_option(
    members: Sequence[Promotion], scope: Mapping[str, list[int]], eligible_net: Sequence[int], net: Sequence[int]
) -> tuple[int, dict[str, dict[int, int]], dict[str, int]]:
    """Apply ``members`` in rank order, each on its own eligible net after the item phase, capped by what is left
    (``eligible_net`` and ``net`` by line index)."""
    left = list(net)
    allocations: dict[str, dict[int, int]] = {}
    times: dict[str, int] = {}
    total = 0
    for p in members:
        lines = scope[p.id]
        saving, t = order_saving(p, sum([eligible_net[i] for i in lines]))
        if saving <= 0:
            continue  # capped below by nothing: it would not be applied anyway
        weights = [(i, min(eligible_net[i], left[i])) for i in lines]
        saving = min(saving, sum([w for _, w in weights]))
        if saving <= 0:
            continue
        alloc = allocate(saving, weights)
        for i, d in alloc.items():
            left[i] -= d
        allocations[p.id], times[p.id] = alloc, t
        total += saving
    return total, allocations, times


# --- the price ------------------------------------------------------------------------------------------------


def price(
    promotions: PromotionIndex | Iterable[Promotion],
    basket: Basket,
    tz: ZoneInfo | str,
    *,
    issued_codes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Price ``basket`` with the best deal for the customer; every fen taken off is explained.

    ``issued_codes`` is where coupon issuance plugs in: the caller's coupon service, having reserved single-use
    codes, maps each code to the promotion id it unlocks; a promotion with a ``coupon`` is unlocked by its own
    public code or by such an issued code."""
    index = promotions if isinstance(promotions, PromotionIndex) else PromotionIndex(promotions)
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    local = basket.at.astimezone(zone)
    issued = {c: pid for code, pid in (issued_codes or {}).items() if (c := normalise_code(code)) is not None}

    rejected: list[dict[str, str]] = []
    codes: list[str] = []
    as_given: dict[str, str] = {}
    for raw in basket.coupons:
        code = normalise_code(raw)
        if code is None:
            rejected.append({"code": str(raw), "reason": "invalid"})
        elif code in codes:
            rejected.append({"code": str(raw), "reason": "duplicate"})
        elif code not in index.by_code and issued.get(code) not in index.by_id:
            rejected.append({"code": str(raw), "reason": "unknown"})
        else:
            codes.append(code)
            as_given[code] = str(raw)
    unlocked = {p.id for c in codes for p in index.by_code.get(c, ())} | {issued[c] for c in codes if c in issued}

    problems: dict[str, str | None] = {}

    def problem(p: Promotion) -> str | None:
        if p.id not in problems:
            problems[p.id] = timing_problem(p, basket.at, local) or member_problem(p, basket.member)
        return problems[p.id]

    usable_memo: dict[str, bool] = {}

    def usable(p: Promotion) -> bool:
        ok = usable_memo.get(p.id)
        if ok is None:
            ok = usable_memo[p.id] = problem(p) is None and (p.coupon is None or p.id in unlocked)
        return ok

    lines = basket.lines
    rank = index.rank
    canonical = sorted(lines, key=lambda ln: (ln.canonical_key, ln.index))
    item_elig: dict[int, list[Promotion]] = {}
    order_scope: dict[str, list[int]] = {}
    order_promos: dict[str, Promotion] = {}
    for p in index.everywhere("order"):
        if usable(p):
            scoped = [ln.index for ln in lines if not p.exclude_skus or p.covers(ln)]
            if scoped:
                order_scope[p.id], order_promos[p.id] = scoped, p
    for line in lines:
        item_candidates, order_candidates = index.candidates(line)
        item_elig[line.index] = [p for p in item_candidates if usable(p)]
        for p in order_candidates:
            if usable(p):
                order_scope.setdefault(p.id, []).append(line.index)
                order_promos[p.id] = p

    # item phase
    item_disc: dict[int, dict[str, int]] = {line.index: {} for line in lines}
    applied_times: dict[str, int] = {}
    held_by_exclusive: dict[int, int] = {line.index: 0 for line in lines}  # gross of units an exclusive holds
    for choice in item_phase(canonical, item_elig, rank, index._solved):
        for pid, per_line in choice.discounts.items():
            if per_line:
                applied_times[pid] = choice.times[pid]
            for i, d in per_line.items():
                item_disc[i][pid] = d
        for i, counts in choice.counts.items():
            for p, c in zip(item_elig[i], counts):
                if p.exclusive and c:
                    held_by_exclusive[i] += lines[i].gross if lines[i].weighted else c * lines[i].unit_gross
    net = [line.gross - sum(item_disc[line.index].values()) for line in lines]
    eligible_net = []
    for line in lines:
        i = line.index
        excl_disc = sum(d for pid, d in item_disc[i].items() if index.by_id[pid].exclusive)
        eligible_net.append(net[i] - (held_by_exclusive[i] - excl_disc))

    # order phase: all the non-exclusive ones together, or one exclusive alone
    ranked = sorted(order_promos.values(), key=lambda p: rank[p.id])
    total, order_alloc, order_times = _order_option(
        [p for p in ranked if not p.exclusive], order_scope, eligible_net, net
    )
    best_key = (total, -min((rank[pid] for pid in order_alloc), default=len(rank)))
    winner: Promotion | None = None
    for p in ranked:
        if p.exclusive:
            # alone, the saving is only capped by its lines' eligible net: no allocation needed to compare
            base = sum(eligible_net[i] for i in order_scope[p.id])
            alone = min(order_saving(p, base)[0], base)
            if alone > 0 and (alone, -rank[p.id]) > best_key:
                best_key, winner = (alone, -rank[p.id]), p
    if winner is not None:
        _total, order_alloc, order_times = _order_option([winner], order_scope, eligible_net, net)
    applied_times.update(order_times)

    # the explanation
    order_applied: list[list[dict[str, Any]]] = [[] for _ in lines]
    for pid, alloc in sorted(order_alloc.items(), key=lambda kv: rank[kv[0]]):
        for i, d in alloc.items():
            order_applied[i].append({"promotion": pid, "discount_minor": d})
    line_out, tax_by_rate = [], {}
    total_discount = 0
    for line in lines:
        i = line.index
        mine = item_disc[i]
        applied = [
            {"promotion": pid, "discount_minor": d}
            for pid, d in (sorted(mine.items(), key=lambda kv: rank[kv[0]]) if len(mine) > 1 else mine.items())
        ]
        applied += order_applied[i]
        discount = sum(a["discount_minor"] for a in applied)
        line_net = line.gross - discount
        tax = 0
        if line.tax_rate is not None and line.tax_rate > 0:
            rate = line.tax_rate
            tax = round_half_up(line_net * rate.numerator, rate.numerator + rate.denominator)
        if line.tax_rate_text is not None:
            tax_by_rate[line.tax_rate_text] = tax_by_rate.get(line.tax_rate_text, 0) + tax
        total_discount += discount
        out = {"sku": line.sku}
        out.update({"grams": line.grams} if line.weighted else {"qty": line.qty})
        out.update(gross_minor=line.gross, discount_minor=discount, net_minor=line_net, tax_minor=tax, applied=applied)
        line_out.append(out)

    per_promo: dict[str, int] = {}
    for i in item_disc:
        for pid, d in item_disc[i].items():
            per_promo[pid] = per_promo.get(pid, 0) + d
    for pid, alloc in order_alloc.items():
        per_promo[pid] = per_promo.get(pid, 0) + sum(alloc.values())
    applied_all = [
        {"promotion": pid, "discount_minor": d, "times": applied_times.get(pid, 0)}
        for pid, d in sorted(per_promo.items(), key=lambda kv: (index.by_id[kv[0]].phase != "item", index.rank[kv[0]]))
        if d
    ]

    for code in codes:
        matches = [*index.by_code.get(code, ())]
        if code in issued and issued[code] in index.by_id:
            matches.append(index.by_id[issued[code]])
        if any(per_promo.get(p.id) for p in matches):
            continue
        reasons = [problem(p) for p in matches]
        rejected.append({"code": as_given[code], "reason": next((r for r in reasons if r), "not_applied")})

    subtotal = sum(line.gross for line in lines)
    return {
        "subtotal_minor": subtotal,
        "discount_minor": total_discount,
        "total_minor": subtotal - total_discount,
        "tax": [{"rate": r, "tax_minor": t} for r, t in sorted(tax_by_rate.items(), key=lambda kv: Fraction(kv[0]))],
        "lines": line_out,
        "applied": applied_all,
        "rejected_coupons": rejected,
    }


def refund_minor(line_result: Mapping[str, Any], returned: int, already_returned: int = 0) -> int:
    """What returning ``returned`` more units of a priced line gives back, after ``already_returned`` earlier.

    Cumulative floors: however a line's units come back, in one return or several, the refunds add up to exactly
    the line's net (what the customer paid for it). A weighed line comes back whole."""
    if "grams" in line_result:
        units = 1
    else:
        units = int(line_result["qty"])
    if returned < 0 or already_returned < 0 or already_returned + returned > units:
        raise ValueError("cannot return more units than the line holds")
    paid = int(line_result["net_minor"])
    return paid * (already_returned + returned) // units - paid * already_returned // units
