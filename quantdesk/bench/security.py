"""qd-security CU scenarios: every instruction (each timelocked change as its propose and its
execute), the approval set's propose / approve path, and check_action for each kind of signer (the
per-action cost of the pause + freeze + session checks every order-executing program pays)."""
from __future__ import annotations

from solders.keypair import Keypair

from quantdesk.bench.cu import BENCH_SEED, CuTable
from quantdesk.chain import Chain
from quantdesk.clients import core, security
from quantdesk.clients.security import ALL_SCOPES, LOCAL_TIMELOCK_DELAY, Action, Change, Operation, Role
from quantdesk.world import security_config_on

TARGETS = {"check_action_session": 1_500}


def measure() -> CuTable:
    table = CuTable("qd_security", TARGETS)
    chain = Chain(seed=BENCH_SEED)
    ix = security.SecurityInstructions()
    cix = core.CoreInstructions()
    admin = chain.payer
    table.record("initialize", chain.send([ix.initialize(admin.pubkey(), timelock_delay=LOCAL_TIMELOCK_DELAY)]))

    def enact(name: str, change: bytes, proposer: Keypair = admin) -> None:
        """Proposes and executes `change`, recording both (the wait costs nothing on-chain)."""
        proposal_id = security_config_on(chain).proposal_count
        table.record(f"propose_{name}", chain.send([ix.propose(proposer.pubkey(), proposal_id, change)], [proposer]))
        chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
        table.record(f"execute_{name}", chain.send([ix.execute_proposal(security.proposal_address(proposal_id))]))

    successor = chain.keypair()
    enact("hand_over", Change.propose_super_admin(successor.pubkey()))
    table.record("accept_super_admin", chain.send([ix.accept_super_admin(successor.pubkey())], [successor]))
    security.enact(chain, successor, Change.propose_super_admin(admin.pubkey()))  # hand back to the payer
    chain.send([ix.accept_super_admin(admin.pubkey())])

    # A full row: the grant scans 3 holders, the revoke finds the first and swaps the last in.
    risk = [chain.keypair() for _ in range(4)]
    for k in risk[:3]:
        security.enact(chain, admin, Change.grant_role(Role.RISK_MANAGER, k.pubkey()))
    enact("grant_role", Change.grant_role(Role.RISK_MANAGER, risk[3].pubkey()))
    enact("revoke_role", Change.revoke_role(Role.RISK_MANAGER, risk[0].pubkey()))
    compliance = chain.keypair()
    security.enact(chain, admin, Change.grant_role(Role.COMPLIANCE, compliance.pubkey()))

    table.record("set_pause", chain.send([ix.set_pause(risk[3].pubkey(), Operation.FILL.bit, True, market=5)], [risk[3]]))
    enact("unpause", Change.unpause(Operation.FILL.bit, market=5))
    enact("set_rate_limit", Change.set_rate_limit(20, 500))
    pending = security_config_on(chain).proposal_count
    chain.send([ix.propose(admin.pubkey(), pending, Change.set_rate_limit(1, 1))])
    table.record("cancel_proposal", chain.send([ix.cancel_proposal(admin.pubkey(), security.proposal_address(pending))]))

    # A 2-of-3 approval set as super-admin: a member proposes (its approval counted), a second approves.
    members = [chain.keypair() for _ in range(3)]
    table.record("create_approval_set", chain.send([ix.create_approval_set(admin.pubkey(), 0, 2, [m.pubkey() for m in members])]))
    council = security.approval_set_address(admin.pubkey(), 0)
    security.enact(chain, admin, Change.propose_super_admin(council))
    chain.send([ix.accept_super_admin(members[0].pubkey(), council)], [members[0]])
    proposal_id = security_config_on(chain).proposal_count
    proposal = security.proposal_address(proposal_id)
    table.record("propose_by_member", chain.send([ix.propose(members[0].pubkey(), proposal_id, Change.set_timelock_delay(5), council)], [members[0]]))
    table.record("approve_proposal", chain.send([ix.approve_proposal(members[1].pubkey(), proposal, council)], [members[1]]))
    chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    table.record("execute_set_timelock_delay", chain.send([ix.execute_proposal(proposal)]))

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
