"""The test world: QuantDesk's programs set up on an in-process `Chain` the way a test, a benchmark
(`make bench`) or the demo needs them, and the readers that decode their accounts from it.

    venue = Venue()                        # qd-security, qd-core, qd-collateral (USDC), qd-oracle
    venue.add_market(0, "SOL-PERP")        # a feed at PRICE and a perp market on it
    taker, maker = venue.trader(), venue.trader()
    order_id = venue.placed_id(taker, order(BID, MARKET, IOC, price=102 * USDC))
    venue.advance(2)
    assert venue.place_and_make(maker, taker, order_id, PRICE, BASE).ok

Forged instructions name the account they change (`with_meta(ix, "trading_account", key=...)`),
resolved through the program's IDL; refusals are asserted by error name (`failed`)."""
from __future__ import annotations

import re

from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import AdvanceNonceAccountParams, advance_nonce_account, create_nonce_account

from quantdesk.chain import Chain, TxResult
from quantdesk.clients import idl, oracle, security
from quantdesk.clients.security import Role

PROGRAMS = ("qd_core", "qd_collateral", "qd_oracle", "qd_security", "qd_trading")
"""The programs whose IDLs name the accounts of their instructions."""


# ---------------------------------------------------------------- refusals and forged accounts

def failed(result: TxResult, code: int) -> None:
    """The transaction failed with custom error `code` (look codes up by name: idl.error_codes)."""
    assert not result.ok, "the transaction should have failed"
    assert result.custom_error == code, f"expected error {code}, got {result.error}; logs: {result.logs}"


def snake_case(name: str) -> str:
    """An IDL name (camelCase) as the Rust and Python code spell it: "tradingAccount" -> "trading_account"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def account_names(ix: Instruction) -> list[str]:
    """The snake_case names of `ix`'s accounts in its IDL (program id and 8-byte discriminator
    decoded); the metas after them are the remaining accounts."""
    for name in PROGRAMS:
        if idl.program_id(name) != ix.program_id:
            continue
        for instruction in idl.load_idl(name).instructions:
            if idl.discriminator("global", snake_case(instruction.name)) == bytes(ix.data)[:8]:
                return [snake_case(a.name) for a in instruction.accounts]
        raise LookupError(f"no instruction of {name} has the discriminator {bytes(ix.data)[:8].hex()}")
    raise LookupError(f"{ix.program_id} is none of {', '.join(PROGRAMS)}")


def meta_index(ix: Instruction, account: str | None = None, remaining: int | None = None) -> int:
    """The position of `ix`'s account named `account` (IDL name, camelCase or snake_case), or of
    remaining account number `remaining` (0: the first after the IDL's list)."""
    names = account_names(ix)
    if (account is None) == (remaining is None):
        raise TypeError("name an IDL account or give a remaining account's index, not both")
    if account is not None:
        wanted = snake_case(account)
        if wanted not in names:
            raise KeyError(f"{wanted!r} is not an account of this instruction: {', '.join(names)}")
        return names.index(wanted)
    assert remaining is not None
    if not 0 <= remaining < len(ix.accounts) - len(names):
        raise IndexError(f"remaining account {remaining} of {len(ix.accounts) - len(names)}")
    return len(names) + remaining


def account_meta(ix: Instruction, account: str | None = None, *, remaining: int | None = None) -> AccountMeta:
    """`ix`'s meta of the account named `account` (or remaining account number `remaining`)."""
    return ix.accounts[meta_index(ix, account, remaining)]


def with_meta(ix: Instruction, account: str | None = None, *, remaining: int | None = None, signer: bool | None = None,
              writable: bool | None = None, key: Pubkey | None = None) -> Instruction:
    """`ix` with one account meta changed, the account named as in the program's IDL (or a
    remaining account by its index): what a malicious client would send."""
    index = meta_index(ix, account, remaining)
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


# ---------------------------------------------------------------- oracle admins

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
