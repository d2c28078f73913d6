"""The bots a keeper can run, by the name its configuration gives them."""
from __future__ import annotations

from quantdesk.keeper.bots import Bot
from quantdesk.keeper.cranker import CrankerBot
from quantdesk.keeper.filler import FillerBot
from quantdesk.keeper.jit_maker import JitBot
from quantdesk.keeper.liquidator import LiquidatorBot
from quantdesk.keeper.publisher import PublisherBot
from quantdesk.keeper.risk import RiskBot
from quantdesk.keeper.triggers import TriggerBot
from quantdesk.keeper.twap import TwapBot

__all__ = ["BOTS"]

BOTS: dict[str, type[Bot]] = {"cranker": CrankerBot, "filler": FillerBot, "jit": JitBot, "liquidator": LiquidatorBot, "publisher": PublisherBot,
                              "risk": RiskBot, "trigger": TriggerBot, "twap": TwapBot}
