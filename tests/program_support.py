"""Shared by the LiteSVM program tests: asserting a named failure, forging account metas the way
a malicious client would, durable-nonce transactions, and ORACLE_ADMIN set-ups for qd-oracle feeds."""
from __future__ import annotations

from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import AdvanceNonceAccountParams, advance_nonce_account, create_nonce_account

from quantdesk.chain import Chain, TxResult
from quantdesk.clients import oracle, security
from quantdesk.clients.security import Role


def failed(result: TxResult, code: int) -> None:
    """The transaction failed with custom error `code` (look codes up by name: idl.error_codes)."""
    assert not result.ok, "the transaction should have failed"
    assert result.custom_error == code, f"expected error {code}, got {result.error}; logs: {result.logs}"


def with_meta(ix: Instruction, index: int, *, signer: bool | None = None, writable: bool | None = None, key: Pubkey | None = None) -> Instruction:
    """`ix` with one account meta changed (to forge what a malicious client would send)."""
    metas = list(ix.accounts)
    m = metas[index]
    metas[index] = AccountMeta(key or m.pubkey, m.is_signer if signer is None else signer, m.is_writable if writable is None else writable)
    return Instruction(ix.program_id, ix.data, metas)


class Nonce:
    """A durable nonce account of `authority`: transactions on its value never expire (what a
    pre-signed admin transaction uses)."""

    def __init__(self, chain: Chain, authority: Keypair) -> None:
        self.chain, self.authority = chain, authority
        self.account = Keypair()
        assert chain.send(create_nonce_account(authority.pubkey(), self.account.pubkey(), authority.pubkey(), 10**7), [self.account, authority]).ok

    def send(self, ixs: list[Instruction], *signers: Keypair) -> TxResult:
        """`ixs` after AdvanceNonceAccount, on the nonce's stored value instead of a blockhash."""
        account = self.chain.account(self.account.pubkey())
        assert account is not None
        value = Hash(bytes(account.data)[40:72])  # nonce state: version, state, authority, then the durable value
        advance = advance_nonce_account(AdvanceNonceAccountParams(nonce_pubkey=self.account.pubkey(), authorized_pubkey=self.authority.pubkey()))
        return self.chain.send([advance, *ixs], [self.authority, *signers], blockhash=value)


def grant_oracle_admin(chain: Chain, by: Keypair) -> Keypair:
    """A new key granted ORACLE_ADMIN by `by` (qd-security's super-admin or an ADMIN), through the timelock."""
    holder = chain.keypair()
    assert security.enact(chain, by, security.Change.grant_role(Role.ORACLE_ADMIN, holder.pubkey())).ok
    return holder


def revoke_oracle_admin(chain: Chain, by: Keypair, holder: Keypair) -> None:
    assert security.enact(chain, by, security.Change.revoke_role(Role.ORACLE_ADMIN, holder.pubkey())).ok


def feed_of_revoked_admin(chain: Chain, by: Keypair, symbol: str, publisher: Keypair, price: int) -> Pubkey:
    """A published qd-oracle feed whose authority no longer holds ORACLE_ADMIN: created by an
    oracle admin that `by` then revoked. Listings must not trust it."""
    admin = grant_oracle_admin(chain, by)
    ix = oracle.OracleInstructions()
    feed = oracle.feed_address(symbol)
    assert chain.send([ix.initialize_feed(admin.pubkey(), symbol, -6, 30, [publisher.pubkey()])], [admin]).ok
    assert chain.send([ix.publish(publisher.pubkey(), feed, price, price // 1_000, chain.clock.unix_timestamp)], [publisher]).ok
    revoke_oracle_admin(chain, by, admin)
    return feed
