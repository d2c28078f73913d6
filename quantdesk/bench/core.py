"""qd-core CU scenarios: every instruction (create at sub_id 15, the last default sub-account)."""
from __future__ import annotations

from quantdesk.bench.cu import BENCH_SEED, CuTable
from quantdesk.chain import Chain
from quantdesk.clients import core, security

# set_frozen's signer: qd-security's [b"authority"] PDA.
SECURITY_AUTHORITY = security.AUTHORITY


def measure() -> CuTable:
    table = CuTable("qd_core")
    chain = Chain(seed=BENCH_SEED)
    ix = core.CoreInstructions()
    admin = chain.payer
    owner = chain.keypair()
    table.record("initialize", chain.send([ix.initialize(admin.pubkey(), chain.create_mint(6))]))
    table.record("set_max_sub_accounts", chain.send([ix.set_max_sub_accounts(admin.pubkey(), core.DEFAULT_MAX_SUB_ACCOUNTS)]))
    margin = core.margin_account_address(owner.pubkey(), 15)
    table.record("create_margin_account", chain.send([ix.create_margin_account(owner.pubkey(), 15, "desk sub-account 15")], [owner]))
    table.record("set_delegate", chain.send([ix.set_delegate(owner.pubkey(), margin, chain.new_keypair().pubkey())], [owner]))
    table.record("set_limits", chain.send([ix.set_limits(owner.pubkey(), margin, 500, 0b111, True)], [owner]))
    # set_frozen alone, with the authority PDA's signature granted as qd-security's CPI grants it.
    table.record("set_frozen", chain.send_unverified([ix.set_frozen(SECURITY_AUTHORITY, margin, True, 1)]))
    table.record("set_frozen_clear", chain.send_unverified([ix.set_frozen(SECURITY_AUTHORITY, margin, False, 0)]))
    table.record("close_margin_account", chain.send([ix.close_margin_account(owner.pubkey(), margin)], [owner]))
    return table
