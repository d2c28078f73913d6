"""Trade surveillance on synthetic event streams: each pattern (wash trades between linked accounts,
spoofing, layering, marking the mark before funding, an oracle move followed by liquidations of the
liquidator's counterparties) is flagged with its evidence rows, and the same streams made honest are
not: clean trading raises no alert."""
from __future__ import annotations

import itertools

from solders.pubkey import Pubkey

from quantdesk.surveillance import Alert, AlertKind, Params, Records, scan
from quantdesk.surveillance.records import Fill, FundingCrank, Liquidation, OraclePrice, OrderEvent, Ownership, Ref, SessionKey, Transfer
from quantdesk.surveillance.spoofing import SpoofingParams

BASE, USDC, SEC = 10**9, 10**6, 1_000_000
PRICE = 100 * USDC
_sig = itertools.count(1)


def ref() -> Ref:
    return Ref(f"sig{next(_sig)}")


def key() -> Pubkey:
    return Pubkey.new_unique()


def fill(taker: Pubkey, maker: Pubkey, t: int, price: int = PRICE, base: int = BASE, market: int = 0, side: int = 0, ids: tuple[int, int] = (0, 0)) -> Fill:
    return Fill(ref(), slot=t // 400_000, ts_us=t, market=market, taker=taker, maker=maker, taker_side=side, price=price, base=base,
                taker_order_id=ids[0], maker_order_id=ids[1])


def oracle(t: int, price: int = PRICE, market: int = 0, publisher: Pubkey | None = None) -> OraclePrice:
    return OraclePrice(ref(), slot=t // 400_000, ts_us=t, market=market, price=price, publisher=publisher or PUBLISHER)


PUBLISHER = Pubkey.new_unique()


def accounts(n: int) -> tuple[list[Pubkey], list[Pubkey], list[Ownership]]:
    """`n` wallets each owning one margin account."""
    wallets, margins = [key() for _ in range(n)], [key() for _ in range(n)]
    return wallets, margins, [Ownership(ref(), m, w) for w, m in zip(wallets, margins)]


def kinds(alerts: list[Alert]) -> list[AlertKind]:
    return [a.kind for a in alerts]


def test_wash_trades_between_accounts_linked_by_a_delegate_a_session_or_a_transfer() -> None:
    wallets, m, owned = accounts(6)
    delegate = Ownership(ref(), m[0], wallets[1], delegate=True)  # wallet 1 is account 0's delegate and owns account 1
    session = SessionKey(ref(), wallets[2], wallets[3])  # a session key of wallet 2 owns account 3
    transfer = Transfer(ref(), m[4], m[5], 1_000 * USDC)
    fills = [fill(m[0], m[1], 1 * SEC), fill(m[1], m[0], 2 * SEC, side=1), fill(m[2], m[3], 3 * SEC), fill(m[4], m[5], 4 * SEC, market=1)]
    alerts = scan(Records(fills=fills, ownerships=[*owned, delegate], sessions=[session], transfers=[transfer]))
    assert kinds(alerts) == [AlertKind.WASH_TRADE] * 3
    first = alerts[0]
    assert set(first.accounts) == {m[0], m[1]} and fills[0].ref in first.evidence and fills[1].ref in first.evidence
    # The linking rows are cited: the delegate change and both accounts' ownership.
    assert delegate.ref in first.evidence
    assert session.ref in alerts[1].evidence and transfer.ref in alerts[2].evidence and alerts[2].market == 1
    # The same fills between unlinked accounts are not flagged.
    assert scan(Records(fills=fills, ownerships=owned)) == []


def test_spoofing_and_layering_are_flagged_and_honest_quotes_are_not() -> None:
    _, (spoofer, other, maker), owned = accounts(3)
    orders: list[OrderEvent] = []
    # Honest quoting: small orders, some cancelled, some filled.
    for i in range(20):
        orders.append(OrderEvent(ref(), 0, i * SEC, maker, 100 + i, 0, i % 2, True, BASE // 10, PRICE))
        if i % 3 == 0:
            orders.append(OrderEvent(ref(), 0, i * SEC + 200_000, maker, 100 + i, 0, i % 2, False, BASE // 10))
    honest = Records(orders=list(orders), ownerships=owned)
    assert scan(honest) == []
    # Spoofing: three large bids placed and pulled within a second each while it sells.
    for i in range(3):
        t = 30 * SEC + i * 5 * SEC
        orders.append(OrderEvent(ref(), 0, t, spoofer, i + 1, 0, 0, True, 20 * BASE, PRICE - USDC))
        orders.append(OrderEvent(ref(), 0, t + SEC, spoofer, i + 1, 0, 0, False, 20 * BASE))
    sell = fill(spoofer, other, 36 * SEC, side=1)
    # Layering: four large asks at four levels within a second, pulled together.
    for i in range(4):
        orders.append(OrderEvent(ref(), 0, 100 * SEC + i * 100_000, other, 10 + i, 0, 1, True, 30 * BASE, PRICE + (i + 1) * USDC))
    for i in range(4):
        orders.append(OrderEvent(ref(), 0, 101 * SEC + i * 100_000, other, 10 + i, 0, 1, False, 30 * BASE))
    alerts = scan(Records(orders=orders, fills=[sell], ownerships=owned))
    # The spoofer's bids; the layering account's asks are flagged as layering and, four large
    # orders pulled at once, as spoofing too.
    assert [(a.kind, a.accounts) for a in alerts] == [(AlertKind.SPOOFING, (spoofer,)), (AlertKind.LAYERING, (other,)), (AlertKind.SPOOFING, (other,))]
    spoof, layers = alerts[0], alerts[1]
    assert sell.ref in spoof.evidence and len(spoof.evidence) == 7 and "other side" in spoof.reason
    assert "4 price levels" in layers.reason and len(layers.evidence) == 8
    # Large orders that rest a while before being pulled are not spoofs.
    patient = SpoofingParams(max_life_us=SEC // 2)
    assert AlertKind.SPOOFING not in kinds(scan(Records(orders=orders, fills=[sell], ownerships=owned), Params(spoofing=patient)))


def test_fills_away_from_the_oracle_just_before_funding_are_marking() -> None:
    _, (a, b), owned = accounts(2)
    prices = [oracle(t * SEC) for t in range(0, 3_600, 10)]
    crank = FundingCrank(ref(), slot=3_600 * SEC // 400_000, ts_us=3_600 * SEC, market=0)
    clean = [fill(a, b, t * SEC, PRICE + USDC // 10) for t in range(100, 3_600, 300)]  # 10 bps from the oracle
    assert scan(Records(fills=clean, prices=prices, cranks=[crank], ownerships=owned)) == []
    marks = [fill(a, b, (3_600 - 60) * SEC, PRICE * 1_02 // 100), fill(b, a, (3_600 - 30) * SEC, PRICE * 1_02 // 100, side=1)]
    early = fill(a, b, 600 * SEC, PRICE * 1_02 // 100)  # far from the oracle, but long before the crank
    (alert,) = scan(Records(fills=clean + marks + [early], prices=prices, cranks=[crank], ownerships=owned))
    assert alert.kind == AlertKind.MARKING and "200 bps" in alert.reason and crank.ref in alert.evidence
    assert {f.ref for f in marks} <= set(alert.evidence) and early.ref not in alert.evidence


def test_an_oracle_move_then_liquidations_of_the_liquidators_counterparties() -> None:
    wallets, (liquidator, v1, v2, v3, bystander), owned = accounts(5)
    before = [fill(v, liquidator, SEC * (i + 1)) for i, v in enumerate((v1, v2, v3))]
    move = [oracle(10 * SEC, PRICE), oracle(20 * SEC, PRICE * 90 // 100, publisher=wallets[0])]  # published by the liquidator's owner
    steps = [Liquidation(ref(), slot=60, ts_us=24 * SEC, market=0, liquidator=liquidator, account=v) for v in (v1, v2, bystander)]
    (alert,) = scan(Records(fills=before, prices=move, liquidations=steps, ownerships=owned))
    assert alert.kind == AlertKind.ORACLE_LIQUIDATION and alert.accounts == (liquidator, *sorted((v1, v2), key=bytes))
    assert "1000 bps" in alert.reason and "publisher acts for that group" in alert.reason
    assert before[0].ref in alert.evidence and steps[2].ref in alert.evidence
    # The same liquidations after a small move, or of accounts it never traded with, are not flagged.
    small = [oracle(10 * SEC, PRICE), oracle(20 * SEC, PRICE * 99 // 100)]
    assert scan(Records(fills=before, prices=small, liquidations=steps, ownerships=owned)) == []
    strangers = [Liquidation(ref(), slot=60, ts_us=24 * SEC, market=0, liquidator=liquidator, account=bystander)]
    assert scan(Records(fills=before, prices=move, liquidations=strangers, ownerships=owned)) == []
