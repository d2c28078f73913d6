"""qd-security CU scenarios: every instruction, and check_action for each kind of signer (the
per-action cost of the pause + freeze + session checks every order-executing program pays)."""
from __future__ import annotations

from quantdesk.bench.cu import CuTable
from quantdesk.chain import Chain
from quantdesk.clients import core, security
from quantdesk.clients.security import ALL_SCOPES, Action, Operation, Role

TARGETS = {"check_action_session": 1_500}


def measure() -> CuTable:
    table = CuTable("qd_security", TARGETS)
    chain = Chain()
    ix = security.SecurityInstructions()
    cix = core.CoreInstructions()
    admin = chain.payer
    table.record("initialize", chain.send([ix.initialize(admin.pubkey())]))

    successor = chain.keypair()
    table.record("propose_super_admin", chain.send([ix.propose_super_admin(admin.pubkey(), successor.pubkey())]))
    table.record("accept_super_admin", chain.send([ix.accept_super_admin(successor.pubkey())], [successor]))
    chain.send([ix.propose_super_admin(successor.pubkey(), admin.pubkey())], [successor])  # hand back to the payer
    chain.send([ix.accept_super_admin(admin.pubkey())])

    # A full row: the grant scans 3 holders, the revoke finds the first and swaps the last in.
    risk = [chain.keypair() for _ in range(4)]
    for k in risk[:3]:
        chain.send([ix.grant_role(admin.pubkey(), Role.RISK_MANAGER, k.pubkey())])
    table.record("grant_role", chain.send([ix.grant_role(admin.pubkey(), Role.RISK_MANAGER, risk[3].pubkey())]))
    table.record("revoke_role", chain.send([ix.revoke_role(admin.pubkey(), Role.RISK_MANAGER, risk[0].pubkey())]))
    compliance = chain.keypair()
    chain.send([ix.grant_role(admin.pubkey(), Role.COMPLIANCE, compliance.pubkey())])

    table.record("set_pause", chain.send([ix.set_pause(risk[3].pubkey(), Operation.FILL.bit, True, market=5)], [risk[3]]))
    table.record("set_pause_unpause", chain.send([ix.set_pause(admin.pubkey(), Operation.FILL.bit, False, market=5)]))
    table.record("set_rate_limit", chain.send([ix.set_rate_limit(admin.pubkey(), 20, 500)]))

    chain.send([cix.initialize(admin.pubkey(), chain.create_mint(6))])
    owner = chain.keypair()
    chain.send([cix.create_margin_account(owner.pubkey(), 0, "bench")], [owner])
    margin = core.margin_account_address(owner.pubkey(), 0)
    table.record("freeze_account", chain.send([ix.freeze_account(compliance.pubkey(), margin, 1)], [compliance]))
    table.record("unfreeze_account", chain.send([ix.unfreeze_account(compliance.pubkey(), margin, 2)], [compliance]))

    key = chain.keypair()
    expires = chain.clock.unix_timestamp + 86_400
    table.record("create_session", chain.send([ix.create_session(owner.pubkey(), key.pubkey(), ALL_SCOPES, 1 << 3, 10**9, expires, 10**10)], [owner]))
    session = security.session_address(owner.pubkey(), key.pubkey())
    table.record("check_action_owner", chain.send([ix.check_action(owner.pubkey(), margin, Action.WITHDRAW)], [owner]))
    delegate = chain.keypair()
    chain.send([cix.set_delegate(owner.pubkey(), margin, delegate.pubkey())], [owner])
    table.record("check_action_delegate", chain.send([ix.check_action(delegate.pubkey(), margin, Action.PLACE_ORDER, 3, 1_000)], [delegate]))
    table.record("check_action_session", chain.send([ix.check_action(key.pubkey(), margin, Action.PLACE_ORDER, 3, 1_000, session)], [key]))
    table.record("revoke_session", chain.send([ix.revoke_session(key.pubkey(), session)], [key]))
    table.record("close_session", chain.send([ix.close_session(owner.pubkey(), session)], [owner]))
    return table
