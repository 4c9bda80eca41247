"""The funnel over a known mix of conversations (tests/funnel_mix.py), every figure worked by hand.

Furthest stages in the period (12 conversations): started 1, browsed 1, cart 1, address 1,
payment_method 1, payment_details 1, confirmation 2, purchased 4. Reached (at least) each stage:
12, 11, 10, 9, 8, 7, 6, 4.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.funnel_mix import build_mix
from tools.funnel import Period, Stage, funnel_report, furthest_stages
from tools.funnel.significance import two_proportion_z_test
from tools.store.db import Database

PERIOD = Period(date(2026, 11, 20), date(2026, 11, 21))


def rows_for(counts: list[int]) -> list[dict[str, Any]]:
    """Stage rows as the contract defines them, from the eight 'reached' counts."""
    names = ["started", "browsed", "cart", "address", "payment_method", "payment_details",
             "confirmation", "purchased"]
    rows = []
    for index, (name, count) in enumerate(zip(names, counts, strict=True)):
        previous = counts[index - 1] if index else 0
        rows.append({"stage": name, "count": count,
                     "share_of_started": round(count / counts[0], 4),
                     "drop_off_from_previous": round(1 - count / previous, 4) if previous else None})
    return rows


def group(conversations: int, purchases: int, counts: list[int]) -> dict[str, Any]:
    return {"conversations": conversations, "purchases": purchases,
            "conversion": round(purchases / conversations, 4), "stages": rows_for(counts)}


@pytest.fixture
async def mix(db: Database) -> dict[str, str]:
    async with db.session() as session:
        ids = await build_mix(session)
        await session.commit()
    return ids


async def test_each_conversation_stops_at_its_furthest_stage(db: Database,
                                                             mix: dict[str, str]) -> None:
    since, until = PERIOD.bounds()
    async with db.session() as session:
        stages = await furthest_stages(session, None, since, until)
    assert {name: stages.get(cid) for name, cid in mix.items()} == {
        "started": Stage.STARTED, "browsed": Stage.BROWSED, "cart": Stage.CART,
        "address": Stage.ADDRESS, "method": Stage.PAYMENT_METHOD,
        "card_token": Stage.PAYMENT_DETAILS, "confirm_left": Stage.CONFIRMATION,
        "failed": Stage.CONFIRMATION, "paid_card_1": Stage.PURCHASED,
        "paid_card_2": Stage.PURCHASED, "konbini": Stage.PURCHASED,
        "after_delivery": Stage.PURCHASED, "before": None, "after": None,
    }


async def test_stages_of_chosen_conversations_whatever_their_date(db: Database,
                                                                  mix: dict[str, str]) -> None:
    async with db.session() as session:
        stages = await furthest_stages(session, [mix["before"], mix["cart"], "no-such-id"])
        assert await furthest_stages(session, []) == {}
    assert stages == {mix["before"]: Stage.PURCHASED, mix["cart"]: Stage.CART}


async def test_every_figure_of_the_report(db: Database, mix: dict[str, str]) -> None:
    async with db.session() as session:
        report = await funnel_report(session, PERIOD)

    assert report["period"] == {"since": "2026-11-20", "until": "2026-11-21"}
    assert report["stages"] == [
        {"stage": "started", "count": 12, "share_of_started": 1.0,
         "drop_off_from_previous": None},
        {"stage": "browsed", "count": 11, "share_of_started": 0.9167,
         "drop_off_from_previous": 0.0833},
        {"stage": "cart", "count": 10, "share_of_started": 0.8333,
         "drop_off_from_previous": 0.0909},
        {"stage": "address", "count": 9, "share_of_started": 0.75,
         "drop_off_from_previous": 0.1},
        {"stage": "payment_method", "count": 8, "share_of_started": 0.6667,
         "drop_off_from_previous": 0.1111},
        {"stage": "payment_details", "count": 7, "share_of_started": 0.5833,
         "drop_off_from_previous": 0.125},
        {"stage": "confirmation", "count": 6, "share_of_started": 0.5,
         "drop_off_from_previous": 0.1429},
        {"stage": "purchased", "count": 4, "share_of_started": 0.3333,
         "drop_off_from_previous": 0.3333},
    ]
    assert report["stopped_at"] == {"started": 1, "browsed": 1, "cart": 1, "address": 1,
                                    "payment_method": 1, "payment_details": 1,
                                    "confirmation": 2}
    assert report["awaiting_store_payment"] == 1
    assert report["by"] == {
        "day": {"2026-11-20": group(5, 2, [5, 4, 3, 2, 2, 2, 2, 2]),
                "2026-11-21": group(7, 2, [7, 7, 7, 7, 6, 5, 4, 2])},
        "locale": {"en": group(7, 2, [7, 6, 6, 5, 5, 4, 3, 2]),
                   "ja": group(5, 2, [5, 5, 4, 4, 3, 3, 3, 2])},
        "payment_method": {"after_delivery": group(1, 1, [1, 1, 1, 1, 1, 1, 1, 1]),
                           "card": group(5, 2, [5, 5, 5, 5, 5, 4, 3, 2]),
                           "konbini": group(2, 1, [2, 2, 2, 2, 2, 2, 2, 1]),
                           "none": group(4, 0, [4, 3, 2, 1, 0, 0, 0, 0])},
        "prompt_variant": {"b": group(5, 2, [5, 5, 5, 4, 3, 3, 3, 2]),
                           "default": group(7, 2, [7, 6, 5, 5, 5, 4, 3, 2])},
    }
    # Seconds from the first event to the first purchasing order: 300, 600 (not the failed order
    # at 400), 90, 200; user messages before it: 3 (not the "thanks" after), 5, 1, 2.
    # Model calls of purchasers: 3 + 2 + 0 + 1 = 6; tokens 3*120 + 2*250 + 0 + 0 = 860.
    assert report["purchase"] == {"median_seconds": 250.0, "median_user_turns": 2.5,
                                  "model_calls_per_purchase": 1.5, "tokens_per_purchase": 215.0}
    # b (2 of 5) against default (2 of 7, the most conversations); pooled 4/12.
    z = (2 / 5 - 2 / 7) / math.sqrt(4 / 12 * 8 / 12 * (1 / 5 + 1 / 7))
    assert z == pytest.approx(0.41404, abs=1e-5)
    assert report["variants"] == [
        {"variant": "b", "conversations": 5, "purchases": 2, "conversion": 0.4,
         "control": "default", "z": pytest.approx(z),
         "p_value": pytest.approx(math.erfc(z / math.sqrt(2))), "significant": False},
        {"variant": "default", "conversations": 7, "purchases": 2, "conversion": 0.2857,
         "control": "default", "z": None, "p_value": None, "significant": False},
    ]
    assert report["variants"][0]["p_value"] == pytest.approx(0.67884, abs=1e-5)


async def test_an_empty_period_has_zero_counts_and_no_ratios(db: Database,
                                                             mix: dict[str, str]) -> None:
    async with db.session() as session:
        report = await funnel_report(session, Period(date(2030, 1, 1), date(2030, 1, 31)))
    assert [row["count"] for row in report["stages"]] == [0] * 8
    assert {row["share_of_started"] for row in report["stages"]} == {None}
    assert report["by"] == {"day": {}, "locale": {}, "payment_method": {}, "prompt_variant": {}}
    assert report["purchase"] == {"median_seconds": None, "median_user_turns": None,
                                  "model_calls_per_purchase": None, "tokens_per_purchase": None}
    assert report["variants"] == [] and report["awaiting_store_payment"] == 0


def test_period_resolution() -> None:
    today = date(2026, 11, 27)
    assert Period.resolve(days=30, today=today) == Period(date(2026, 10, 29), today)
    assert Period.resolve(days=1, today=today) == Period(today, today)
    assert Period.resolve(since=date(2026, 11, 1), today=today) == Period(date(2026, 11, 1), today)
    assert Period.resolve(days=7, until=date(2026, 11, 10)) == Period(date(2026, 11, 4),
                                                                      date(2026, 11, 10))
    assert Period(date(2026, 11, 20), date(2026, 11, 21)).bounds() == (
        datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC))
    with pytest.raises(ValueError, match="since is after until"):
        Period.resolve(since=date(2026, 11, 2), until=date(2026, 11, 1))


def test_z_test_against_a_hand_computed_significant_case() -> None:
    # 200 of 1000 against 150 of 1000: pooled 0.175, standard error sqrt(0.175 * 0.825 * 0.002).
    test = two_proportion_z_test(200, 1000, 150, 1000)
    assert test is not None
    assert test.z == pytest.approx(0.05 / math.sqrt(0.175 * 0.825 * 0.002))
    assert test.z == pytest.approx(2.9424, abs=1e-4)
    assert test.p_value == pytest.approx(0.003257, abs=1e-6)
    reverse = two_proportion_z_test(150, 1000, 200, 1000)
    assert reverse is not None and reverse.z == pytest.approx(-test.z)
    assert reverse.p_value == pytest.approx(test.p_value)


@pytest.mark.parametrize("counts", [(0, 10, 0, 10), (10, 10, 5, 5), (1, 0, 1, 10)])
def test_z_test_is_undefined_without_variation_or_trials(counts: tuple[int, int, int, int]) -> None:
    assert two_proportion_z_test(*counts) is None
