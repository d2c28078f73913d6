"""qd-core CU scenarios: every instruction (create at sub_id 15, the last default sub-account)."""
from __future__ import annotations

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction
from solders.transaction_metadata import TransactionMetadata

from quantdesk.bench.cu import CuTable
from quantdesk.chain import Chain, TxResult
from quantdesk.clients import core, idl

TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
# set_frozen's signer: qd-security's [b"authority"] PDA.
SECURITY_AUTHORITY = Pubkey.find_program_address([b"authority"], idl.program_id("qd_security"))[0]


def _mint(chain: Chain) -> Pubkey:
    """An initialized 82-byte SPL mint (decimals 6)."""
    data = bytearray(82)
    data[44], data[45] = 6, 1
    mint = Keypair().pubkey()
    chain.set_account(mint, Account(10**9, bytes(data), TOKEN_PROGRAM, False, 0))
    return mint


def _as_security_authority(chain: Chain, instruction: Instruction) -> TxResult:
    """set_frozen alone, with the authority PDA's signature granted as qd-security's CPI grants
    it (signature verification off for this one transaction)."""
    chain.svm.with_sigverify(False)
    message = Message.new_with_blockhash([instruction], chain.payer.pubkey(), chain.svm.latest_blockhash())
    outcome = chain.svm.send_transaction(Transaction.populate(message, [Signature.new_unique() for _ in range(message.header.num_required_signatures)]))
    chain.svm.expire_blockhash()
    chain.svm.with_sigverify(True)
    if isinstance(outcome, TransactionMetadata):
        return TxResult(True, list(outcome.logs()), outcome.compute_units_consumed(), b"", None)
    meta = outcome.meta()
    return TxResult(False, list(meta.logs()), meta.compute_units_consumed(), b"", outcome.err())


def measure() -> CuTable:
    table = CuTable("qd_core")
    chain = Chain()
    ix = core.CoreInstructions()
    admin = chain.payer
    owner = chain.keypair()
    table.record("initialize", chain.send([ix.initialize(admin.pubkey(), _mint(chain))]))
    table.record("set_max_sub_accounts", chain.send([ix.set_max_sub_accounts(admin.pubkey(), core.DEFAULT_MAX_SUB_ACCOUNTS)]))
    margin = core.margin_account_address(owner.pubkey(), 15)
    table.record("create_margin_account", chain.send([ix.create_margin_account(owner.pubkey(), 15, "desk sub-account 15")], [owner]))
    table.record("set_delegate", chain.send([ix.set_delegate(owner.pubkey(), margin, Keypair().pubkey())], [owner]))
    table.record("set_limits", chain.send([ix.set_limits(owner.pubkey(), margin, 500, 0b111, True)], [owner]))
    table.record("set_frozen", _as_security_authority(chain, ix.set_frozen(SECURITY_AUTHORITY, margin, True, 1)))
    table.record("set_frozen_clear", _as_security_authority(chain, ix.set_frozen(SECURITY_AUTHORITY, margin, False, 0)))
    table.record("close_margin_account", chain.send([ix.close_margin_account(owner.pubkey(), margin)], [owner]))
    return table
