"""qd-core in the real runtime (LiteSVM): every instruction's success path, its error paths, and the
attack classes that apply (missing / wrong signer, wrong owner, type cosplay, re-initialization,
non-canonical PDA, another owner's PDA, duplicate accounts, wrong config and program accounts,
the upgrade-authority check, the account-closing attack, set_frozen outside qd-security)."""
from __future__ import annotations

import tomllib
from collections.abc import Callable

import pytest
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.chain import ROOT, Chain, TxResult
from quantdesk.clients import collateral, core, idl, security, token, trading_state
from quantdesk.clients.core import MarginAccount

from quantdesk.world import failed, with_meta

E = idl.error_codes(core.NAME)
TOKEN, TOKEN_2022 = token.TOKEN_PROGRAM_ID, token.TOKEN_2022_PROGRAM_ID
SECURITY_AUTHORITY = security.AUTHORITY  # set_frozen's signer: qd-security's [b"authority"] PDA
PROGRAM_IDS = {n: Pubkey.from_string(k) for n, k in tomllib.loads((ROOT / "Anchor.toml").read_text())["programs"]["localnet"].items()}
MARGIN_LEN = 232
GLOBAL_LEN = 280
# MarginAccount byte offsets (crates/qd-core-state).
STATUS, FREEZE_REASON = 9, 14


class Core:
    """A chain with qd-core deployed; `init()` creates the GlobalConfig."""

    def __init__(self) -> None:
        self.chain = Chain()
        self.ix = core.CoreInstructions()
        self.admin = self.chain.payer
        self.mint = self.chain.create_mint(6)
        self.owner = self.chain.keypair()

    def init(self, max_sub_accounts: int = core.DEFAULT_MAX_SUB_ACCOUNTS) -> TxResult:
        return self.chain.send([self.ix.initialize(self.admin.pubkey(), self.mint, max_sub_accounts)])

    def create(self, sub_id: int = 0, name: str = "", owner: Keypair | None = None) -> TxResult:
        o = owner or self.owner
        return self.chain.send([self.ix.create_margin_account(o.pubkey(), sub_id, name)], [o])

    def margin(self, sub_id: int = 0, owner: Keypair | None = None) -> Pubkey:
        return core.margin_account_address((owner or self.owner).pubkey(), sub_id)

    def state(self, address: Pubkey) -> MarginAccount:
        account = self.chain.account(address)
        assert account is not None and account.owner == core.PROGRAM_ID
        return core.decode_margin_account(address, bytes(account.data))

    def global_state(self) -> core.GlobalConfig:
        account = self.chain.account(core.GLOBAL)
        assert account is not None
        return core.decode_global(core.GLOBAL, bytes(account.data))

    def snapshot(self, *addresses: Pubkey) -> list[tuple[int, bytes, Pubkey] | None]:
        """Lamports, data and owner of the GlobalConfig and `addresses`: a failure must not change any."""
        out: list[tuple[int, bytes, Pubkey] | None] = []
        for a in (core.GLOBAL, *addresses):
            acc = self.chain.account(a)
            out.append((acc.lamports, bytes(acc.data), acc.owner) if acc else None)
        return out

    def poke(self, address: Pubkey, offset: int, value: bytes) -> None:
        """Writes bytes into an account (the counters and status bits later steps' programs maintain)."""
        acc = self.chain.account(address)
        assert acc is not None
        data = bytearray(acc.data)
        data[offset:offset + len(value)] = value
        self.chain.set_account(address, Account(acc.lamports, bytes(data), acc.owner, acc.executable, acc.rent_epoch))

    def copy_owned_by(self, address: Pubkey, owner: Pubkey) -> Pubkey:
        """A new account with `address`'s exact bytes but another owner program."""
        acc = self.chain.account(address)
        assert acc is not None
        fake = Keypair().pubkey()
        self.chain.set_account(fake, Account(acc.lamports, bytes(acc.data), owner, False, 0))
        return fake


@pytest.fixture
def c() -> Core:
    return Core()


@pytest.fixture
def live(c: Core) -> Core:
    assert c.init().ok
    return c


@pytest.fixture
def acct(live: Core) -> Core:
    """An initialized venue with the owner's sub-account 0 ("main")."""
    assert live.create(0, "main").ok
    return live


def mint_bytes(initialized: int = 1, length: int = token.MINT_LEN) -> bytes:
    data = bytearray(length)
    data[45] = initialized
    return bytes(data)


# ---- initialize ----------------------------------------------------------------------------

def test_initialize_records_the_config_and_emits_an_event(c: Core) -> None:
    r = c.init()
    assert r.ok, r.logs
    account = c.chain.account(core.GLOBAL)
    assert account is not None and account.owner == core.PROGRAM_ID and len(account.data) == GLOBAL_LEN
    g = c.global_state()
    assert (g.version, g.bump, g.max_sub_accounts, g.margin_accounts) == (1, 253, 16, 0)
    assert (g.admin, g.quote_mint) == (c.admin.pubkey(), c.mint)
    assert (g.collateral_program, g.oracle_program, g.trading_program, g.security_program) == tuple(
        PROGRAM_IDS[n] for n in ("qd_collateral", "qd_oracle", "qd_trading", "qd_security"))
    [event] = core.parse_events(r.logs)
    assert event.name == "GlobalInitialized"
    assert (event.data.global_, event.data.admin, event.data.quote_mint, event.data.max_sub_accounts, event.data.seq) == (core.GLOBAL, c.admin.pubkey(), c.mint, 16, 1)


def test_initialize_accepts_a_token_2022_mint_and_the_largest_limit(c: Core) -> None:
    c.mint = c.chain.create_mint(6, token_program=TOKEN_2022)
    assert c.init(core.MAX_SUB_ACCOUNTS_LIMIT).ok
    assert (c.global_state().quote_mint, c.global_state().max_sub_accounts) == (c.mint, 256)


def test_initialize_twice_is_refused(live: Core) -> None:
    before = live.snapshot()
    failed(live.init(8), E["AlreadyInitialized"])
    assert live.snapshot() == before


@pytest.mark.parametrize("limit", [0, 257, 0xFFFF])
def test_initialize_validates_the_sub_account_limit(c: Core, limit: int) -> None:
    failed(c.init(limit), E["InvalidMaxSubAccounts"])
    assert c.chain.account(core.GLOBAL) is None


@pytest.mark.parametrize(
    ("data", "owner"),
    [
        (mint_bytes(), Pubkey.default()),              # system-owned copy of a mint
        (mint_bytes(), core.PROGRAM_ID),               # owned by another program
        (mint_bytes(initialized=0), TOKEN),            # allocated, never initialized
        (mint_bytes(length=81), TOKEN),                # too short
        (mint_bytes(length=165), TOKEN),               # a token account, not a mint
    ],
)
def test_initialize_refuses_anything_but_an_initialized_mint(c: Core, data: bytes, owner: Pubkey) -> None:
    fake = Keypair().pubkey()
    c.chain.set_account(fake, Account(10**9, data, owner, False, 0))
    c.mint = fake
    failed(c.init(), E["InvalidQuoteMint"])
    assert c.chain.account(core.GLOBAL) is None


def test_initialize_account_attacks(c: Core) -> None:
    base = c.ix.initialize(c.admin.pubkey(), c.mint)
    stranger = Keypair().pubkey()
    failed(c.chain.send([with_meta(base, "admin", key=stranger, signer=False)]), E["MissingSigner"])
    failed(c.chain.send([with_meta(base, "global", key=Keypair().pubkey())]), E["WrongAddress"])  # wrong config account
    failed(c.chain.send([with_meta(base, "global", writable=False)]), E["NotWritable"])
    failed(c.chain.send([with_meta(base, "system_program", key=core.PROGRAM_ID)]), E["WrongProgram"])  # fake System program
    failed(c.chain.send([with_meta(base, "program", key=idl.program_id("qd_oracle"))]), E["WrongAddress"])  # another program account
    failed(c.chain.send([with_meta(base, "global", key=c.admin.pubkey())]), E["WrongAddress"])  # admin as the config
    assert c.chain.account(core.GLOBAL) is None


def test_only_the_upgrade_authority_initializes_an_upgradeable_deployment(c: Core) -> None:
    # Redeploy qd-core through the upgradeable loader, as on a public cluster.
    authority = c.chain.keypair()
    program_data = c.chain.deploy_upgradeable("qd_core", core.PROGRAM_ID, authority.pubkey())
    # The payer deployed nothing: refused, as is a ProgramData account of another program.
    failed(c.init(), E["NotUpgradeAuthority"])
    fake_data = Keypair().pubkey()
    state = c.chain.account(program_data).data[:45]  # type: ignore[union-attr]
    c.chain.set_account(fake_data, Account(10**9, bytes(state), idl.BPF_LOADER_UPGRADEABLE, False, 0))
    ix = c.ix.initialize(authority.pubkey(), c.mint)
    failed(c.chain.send([with_meta(ix, "program_data", key=fake_data)], [authority]), E["WrongAddress"])
    assert c.chain.account(core.GLOBAL) is None
    assert c.chain.send([ix], [authority]).ok
    assert c.global_state().admin == authority.pubkey()


def test_a_copy_of_the_program_at_another_address_refuses_to_run(acct: Core) -> None:
    impostor = Keypair().pubkey()
    acct.chain.deploy("qd_core", impostor)
    ix = acct.ix.set_limits(acct.owner.pubkey(), acct.margin(), 500)
    failed(acct.chain.send([Instruction(impostor, ix.data, ix.accounts)], [acct.owner]), E["WrongProgram"])


def test_malformed_instruction_data_is_refused(acct: Core) -> None:
    ix = acct.ix.set_limits(acct.owner.pubkey(), acct.margin(), 500)
    send = lambda data, accounts=ix.accounts: acct.chain.send([Instruction(ix.program_id, data, accounts)], [acct.owner])  # noqa: E731
    before = acct.snapshot(acct.margin())
    failed(send(bytes(ix.data)[:-1]), E["InvalidInstructionData"])
    failed(send(bytes(ix.data) + b"\0"), E["InvalidInstructionData"])
    failed(send(bytes(ix.data)[:-1] + b"\x02"), E["InvalidInstructionData"])  # reduce_only is a bool
    failed(send(b"\x01" * 8), E["InvalidInstruction"])
    failed(send(bytes(ix.data), ix.accounts[:1]), E["NotEnoughAccounts"])
    assert acct.snapshot(acct.margin()) == before


# ---- set_max_sub_accounts ----------------------------------------------------------------------

def test_set_max_sub_accounts_by_the_admin(acct: Core) -> None:
    assert acct.create(15).ok
    r = acct.chain.send([acct.ix.set_max_sub_accounts(acct.admin.pubkey(), 4)])
    assert r.ok, r.logs
    assert acct.global_state().max_sub_accounts == 4
    [event] = core.parse_events(r.logs)
    assert (event.name, event.data.admin, event.data.old, event.data.new, event.data.seq) == ("MaxSubAccountsChanged", acct.admin.pubkey(), 16, 4, 2)
    assert acct.global_state().audit_seq == 2
    failed(acct.create(4), E["InvalidSubId"])
    # Sub-account 15 stays valid under the lowered limit.
    assert acct.chain.send([acct.ix.set_limits(acct.owner.pubkey(), acct.margin(15), 200)], [acct.owner]).ok
    assert acct.chain.send([acct.ix.set_max_sub_accounts(acct.admin.pubkey(), 256)]).ok
    assert acct.global_state().audit_seq == 3, "the config's audit sequence numbers every admin action"
    assert acct.create(255).ok
    assert acct.state(acct.margin(255)).sub_id == 255


def _with_admin(c: Core, admin: Pubkey) -> Account:
    real = c.chain.account(core.GLOBAL)
    assert real is not None
    data = bytearray(real.data)
    data[16:48] = bytes(admin)
    return Account(real.lamports, bytes(data), real.owner, False, 0)


def test_set_max_sub_accounts_errors(live: Core) -> None:
    stranger = live.chain.keypair()
    before = live.snapshot()
    failed(live.chain.send([live.ix.set_max_sub_accounts(stranger.pubkey(), 8)], [stranger]), E["NotAdmin"])
    admin = Keypair()  # the real admin's key without its signature (the payer pays)
    live.chain.set_account(core.GLOBAL, _with_admin(live, admin.pubkey()))
    failed(live.chain.send([with_meta(live.ix.set_max_sub_accounts(admin.pubkey(), 8), "admin", signer=False)]), E["MissingSigner"])
    live.chain.set_account(core.GLOBAL, _with_admin(live, live.admin.pubkey()))
    failed(live.chain.send([live.ix.set_max_sub_accounts(live.admin.pubkey(), 0)]), E["InvalidMaxSubAccounts"])
    failed(live.chain.send([live.ix.set_max_sub_accounts(live.admin.pubkey(), 257)]), E["InvalidMaxSubAccounts"])
    assert live.snapshot() == before


def test_set_max_sub_accounts_refuses_a_fake_or_read_only_config(acct: Core) -> None:
    ix = acct.ix.set_max_sub_accounts(acct.admin.pubkey(), 8)
    before = acct.snapshot(acct.margin())
    # A margin account (another type of this program) in the config's place.
    failed(acct.chain.send([with_meta(ix, "global", key=acct.margin())]), E["WrongAddress"])
    failed(acct.chain.send([with_meta(ix, "global", writable=False)]), E["NotWritable"])
    # The real address with the config's bytes, owned by the System program.
    real = acct.chain.account(core.GLOBAL)
    assert real is not None
    acct.chain.set_account(core.GLOBAL, Account(real.lamports, bytes(real.data), Pubkey.default(), False, 0))
    failed(acct.chain.send([ix]), E["WrongOwner"])
    acct.chain.set_account(core.GLOBAL, real)
    assert acct.snapshot(acct.margin()) == before


# ---- create_margin_account ---------------------------------------------------------------------

def test_create_margin_account_with_defaults_and_an_event(live: Core) -> None:
    balance = live.chain.lamports(live.owner.pubkey())
    live.chain.set_time(slot=42)
    r = live.create(3, "hedge ✓")
    assert r.ok, r.logs
    address = live.margin(3)
    account = live.chain.account(address)
    assert account is not None and len(account.data) == MARGIN_LEN
    rent = live.chain.svm.minimum_balance_for_rent_exemption(MARGIN_LEN)
    assert account.lamports == rent and live.chain.lamports(live.owner.pubkey()) == balance - rent  # the owner paid
    m = live.state(address)
    assert (m.owner, m.sub_id, m.name, m.status, m.delegate, m.freeze_reason, m.audit_seq, m.created_slot) == (
        live.owner.pubkey(), 3, "hedge ✓", 0, None, 0, 0, 42)
    assert m.limits == core.Limits(0, core.ALL_MARKETS, False)
    assert m.bump == Pubkey.find_program_address([b"margin", bytes(live.owner.pubkey()), (3).to_bytes(2, "little")], core.PROGRAM_ID)[1]
    assert live.global_state().margin_accounts == 1
    [event] = core.parse_events(r.logs)
    assert event.name == "MarginAccountCreated"
    assert (event.data.owner, event.data.margin_account, event.data.sub_id, bytes(event.data.name), event.data.slot) == (
        live.owner.pubkey(), address, 3, core.encode_name("hedge ✓"), 42)
    assert m.summary().startswith(f"#3 'hedge ✓' {address} owner={live.owner.pubkey()} active delegate=-")


def test_names_empty_full_and_invalid(live: Core) -> None:
    assert live.create(0, "").ok and live.state(live.margin(0)).name == ""
    assert live.create(1, "x" * 32).ok and live.state(live.margin(1)).name == "x" * 32
    with pytest.raises(ValueError):
        core.encode_name("x" * 33)
    with pytest.raises(ValueError):
        core.encode_name("a\0b")
    ix = live.ix.create_margin_account(live.owner.pubkey(), 2, "abcd")
    for forged in (b"ab\0d", b"\xff\xfe\0\0", b"ab\xc3\0"):  # interior zero, not UTF-8, cut character
        data = bytes(ix.data).replace(b"abcd", forged)
        failed(live.chain.send([Instruction(ix.program_id, data, ix.accounts)], [live.owner]), E["InvalidName"])
    assert live.chain.account(live.margin(2)) is None


def test_sub_account_limit_and_enumeration(live: Core) -> None:
    for sub_id in range(core.DEFAULT_MAX_SUB_ACCOUNTS):
        assert live.create(sub_id, f"sub {sub_id}").ok
    failed(live.create(16), E["InvalidSubId"])
    assert live.chain.account(live.margin(16)) is None
    other = live.chain.keypair()
    assert live.create(0, "other", owner=other).ok
    assert live.global_state().margin_accounts == 17
    # By PDAs: sub ids 0..max.
    by_pda = [live.state(live.margin(i)) for i in range(live.global_state().max_sub_accounts) if live.chain.account(live.margin(i))]
    assert [m.name for m in by_pda] == [f"sub {i}" for i in range(16)]
    # By the getProgramAccounts filters margin_accounts_of sends, applied to every qd-core account.
    candidates = [core.GLOBAL, *(live.margin(i) for i in range(16)), live.margin(0, other)]
    filters = core.margin_account_filter_bytes(live.owner.pubkey())
    matched = []
    for address in candidates:
        data = bytes(live.chain.account(address).data)  # type: ignore[union-attr]
        if all(data[off:off + len(raw)] == raw for off, raw in filters):
            matched.append(core.decode_margin_account(address, data))
    assert sorted(m.sub_id for m in matched) == list(range(16))
    assert [f.offset for f in core.margin_account_filters(live.owner.pubkey())] == [0, 16]


def test_create_twice_is_refused(acct: Core) -> None:
    before = acct.snapshot(acct.margin())
    failed(acct.create(0, "again"), E["AlreadyInitialized"])
    assert acct.snapshot(acct.margin()) == before


def test_create_refuses_a_non_canonical_bump(live: Core) -> None:
    seeds = [b"margin", bytes(live.owner.pubkey()), (0).to_bytes(2, "little")]
    canonical, bump = Pubkey.find_program_address(seeds, core.PROGRAM_ID)
    for other_bump in range(bump - 1, -1, -1):
        try:
            other = Pubkey.create_program_address([*seeds, bytes([other_bump])], core.PROGRAM_ID)
        except Exception:  # on the curve: not a PDA
            continue
        ix = with_meta(live.ix.create_margin_account(live.owner.pubkey(), 0), "margin_account", key=other)
        failed(live.chain.send([ix], [live.owner]), E["WrongAddress"])
        assert live.chain.account(other) is None
        break
    else:
        pytest.fail("no non-canonical bump found")
    assert live.chain.account(canonical) is None


def test_create_refuses_another_owners_pda_and_missing_signatures(live: Core) -> None:
    victim = live.chain.keypair()
    ix = with_meta(live.ix.create_margin_account(live.owner.pubkey(), 0), "margin_account", key=live.margin(0, victim))
    failed(live.chain.send([ix], [live.owner]), E["WrongAddress"])
    ix = with_meta(live.ix.create_margin_account(victim.pubkey(), 0), "owner", signer=False)
    failed(live.chain.send([ix]), E["MissingSigner"])
    assert live.chain.account(live.margin(0, victim)) is None
    assert live.global_state().margin_accounts == 0


def test_create_account_attacks(live: Core) -> None:
    base = live.ix.create_margin_account(live.owner.pubkey(), 0)
    send = lambda ix: live.chain.send([ix], [live.owner])  # noqa: E731
    before = live.snapshot(live.margin())
    failed(send(with_meta(base, "margin_account", key=live.owner.pubkey())), E["DuplicateAccount"])  # owner as the margin account
    failed(send(with_meta(base, "margin_account", key=core.GLOBAL)), E["DuplicateAccount"])
    failed(send(with_meta(base, "global", key=Keypair().pubkey())), E["WrongAddress"])  # wrong config account
    failed(send(with_meta(base, "system_program", key=idl.program_id("qd_oracle"))), E["WrongProgram"])  # arbitrary CPI target
    failed(send(with_meta(base, "margin_account", writable=False)), E["NotWritable"])
    failed(send(with_meta(base, "owner", writable=False)), E["NotWritable"])
    assert live.snapshot(live.margin()) == before


def test_create_before_initialize_is_refused(c: Core) -> None:
    failed(c.create(0), E["WrongOwner"])
    assert c.chain.account(c.margin()) is None


# ---- close_margin_account ----------------------------------------------------------------------

def test_close_returns_the_rent_and_the_account_can_be_recreated(acct: Core) -> None:
    address = acct.margin()
    rent = acct.chain.lamports(address)
    balance = acct.chain.lamports(acct.owner.pubkey())
    r = acct.chain.send([acct.ix.close_margin_account(acct.owner.pubkey(), address)], [acct.owner])
    assert r.ok, r.logs
    gone = acct.chain.account(address)  # LiteSVM reports a deleted account as empty
    assert gone is None or (gone.lamports, bytes(gone.data), gone.owner) == (0, b"", Pubkey.default())
    assert acct.chain.lamports(acct.owner.pubkey()) == balance + rent
    assert acct.global_state().margin_accounts == 0
    [event] = core.parse_events(r.logs)
    assert (event.name, event.data.owner, event.data.margin_account, event.data.sub_id) == ("MarginAccountClosed", acct.owner.pubkey(), address, 0)
    assert acct.create(0, "again").ok
    assert acct.state(address).name == "again" and acct.global_state().margin_accounts == 1


def test_a_closed_account_cannot_be_revived_in_the_same_transaction(acct: Core) -> None:
    address = acct.margin()
    close = acct.ix.close_margin_account(acct.owner.pubkey(), address)
    use = acct.ix.set_limits(acct.owner.pubkey(), address, 500)
    # The closed account is System-owned and empty from the close on: the next use fails.
    failed(acct.chain.send([close, use], [acct.owner]), E["WrongOwner"])
    assert acct.state(address).limits.max_leverage_x100 == 0


def open_balances(acct: Core, margin: Pubkey) -> Callable[[], None]:
    """Opens the margin account's collateral balances; returns what closes them."""
    ix = collateral.CollateralInstructions()
    assert acct.chain.send([ix.open_balances(acct.owner.pubkey(), margin)], [acct.owner]).ok
    return lambda: assert_ok(acct.chain.send([ix.close_balances(acct.owner.pubkey(), margin)], [acct.owner]))


def open_trading(acct: Core, margin: Pubkey) -> Callable[[], None]:
    """Writes the TradingAccount qd-trading opens (flat, no orders); returns what leaves it as
    qd-trading's close does (System-owned, empty)."""
    trading = trading_state.trading_address(margin)
    data = trading_state.TradingAccount(margin_account=margin, owner=acct.owner.pubkey()).encode()
    acct.chain.set_account(trading, Account(10**8, data, trading_state.PROGRAM_ID))
    return lambda: acct.chain.set_account(trading, Account(10**8, b"", Pubkey.default()))


def assert_ok(result: TxResult) -> None:
    assert result.ok, result.logs


@pytest.mark.parametrize(("account", "address", "open_account"), [
    ("collateral_balances", collateral.balances_address, open_balances),
    ("trading_account", trading_state.trading_address, open_trading),
])
def test_close_refuses_an_account_whose_balances_or_trading_account_is_open(
        acct: Core, account: str, address: Callable[[Pubkey], Pubkey], open_account: Callable[[Core, Pubkey], Callable[[], None]]) -> None:
    margin = acct.margin()
    close_it = open_account(acct, margin)
    before = acct.snapshot(margin)
    close = acct.ix.close_margin_account(acct.owner.pubkey(), margin)
    failed(acct.chain.send([close], [acct.owner]), E["AccountNotEmpty"])
    # Any other account in the slot: checked against the margin account's PDA.
    failed(acct.chain.send([with_meta(close, account, key=Keypair().pubkey())], [acct.owner]), E["WrongAddress"])
    failed(acct.chain.send([with_meta(close, account, key=address(acct.margin(1)))], [acct.owner]), E["WrongAddress"])
    assert acct.snapshot(margin) == before
    close_it()
    assert_ok(acct.chain.send([close], [acct.owner]))


@pytest.mark.parametrize(("status", "error"), [(core.STATUS_FROZEN, "AccountFrozen"), (core.STATUS_BEING_LIQUIDATED, "BeingLiquidated")])
def test_close_refuses_a_frozen_or_liquidating_account(acct: Core, status: int, error: str) -> None:
    acct.poke(acct.margin(), STATUS, bytes([status]))
    before = acct.snapshot(acct.margin())
    failed(acct.chain.send([acct.ix.close_margin_account(acct.owner.pubkey(), acct.margin())], [acct.owner]), E[error])
    assert acct.snapshot(acct.margin()) == before
    assert E["AccountFrozen"] == 6201  # the code every program reports (qd-access)


def test_close_by_anyone_but_the_owner_is_refused(acct: Core) -> None:
    delegate = acct.chain.keypair()
    assert acct.chain.send([acct.ix.set_delegate(acct.owner.pubkey(), acct.margin(), delegate.pubkey())], [acct.owner]).ok
    before = acct.snapshot(acct.margin())
    for signer in (acct.chain.keypair(), delegate):
        failed(acct.chain.send([acct.ix.close_margin_account(signer.pubkey(), acct.margin())], [signer]), E["NotOwner"])
    unsigned = with_meta(acct.ix.close_margin_account(acct.owner.pubkey(), acct.margin()), "owner", signer=False)
    failed(acct.chain.send([unsigned]), E["MissingSigner"])
    assert acct.snapshot(acct.margin()) == before


def test_close_account_attacks(acct: Core) -> None:
    base = acct.ix.close_margin_account(acct.owner.pubkey(), acct.margin())
    send = lambda ix: acct.chain.send([ix], [acct.owner])  # noqa: E731
    victim = acct.chain.keypair()
    assert acct.create(0, owner=victim).ok
    before = acct.snapshot(acct.margin(), acct.margin(0, victim))
    # Wrong owner: the margin account's exact bytes in a System-owned account.
    failed(send(with_meta(base, "margin_account", key=acct.copy_owned_by(acct.margin(), Pubkey.default()))), E["WrongOwner"])
    # Type cosplay: a qd-core account of margin size carrying the GlobalConfig discriminator.
    cosplay = acct.copy_owned_by(acct.margin(), core.PROGRAM_ID)
    acct.poke(cosplay, 0, bytes(acct.chain.account(core.GLOBAL).data)[:8])  # type: ignore[union-attr]
    failed(send(with_meta(base, "margin_account", key=cosplay)), E["WrongDiscriminator"])
    failed(send(with_meta(base, "margin_account", key=core.GLOBAL)), E["DuplicateAccount"])
    failed(send(with_meta(base, "margin_account", key=acct.owner.pubkey())), E["DuplicateAccount"])
    failed(send(with_meta(base, "global", key=Keypair().pubkey())), E["WrongAddress"])  # wrong config account
    failed(send(with_meta(base, "owner", writable=False)), E["NotWritable"])
    failed(send(with_meta(base, "margin_account", writable=False)), E["NotWritable"])
    # Another owner's account, closed to the attacker's wallet.
    failed(send(with_meta(base, "margin_account", key=acct.margin(0, victim))), E["NotOwner"])
    assert acct.snapshot(acct.margin(), acct.margin(0, victim)) == before


# ---- set_delegate ------------------------------------------------------------------------------

def test_set_replace_and_remove_the_delegate(acct: Core) -> None:
    first, second = Keypair().pubkey(), Keypair().pubkey()
    r = acct.chain.send([acct.ix.set_delegate(acct.owner.pubkey(), acct.margin(), first)], [acct.owner])
    assert r.ok, r.logs
    assert acct.state(acct.margin()).delegate == first
    [event] = core.parse_events(r.logs)
    assert (event.name, event.data.margin_account, event.data.owner, event.data.old, event.data.new) == (
        "DelegateChanged", acct.margin(), acct.owner.pubkey(), Pubkey.default(), first)
    r = acct.chain.send([acct.ix.set_delegate(acct.owner.pubkey(), acct.margin(), second)], [acct.owner])
    assert acct.state(acct.margin()).delegate == second
    assert (core.parse_events(r.logs)[0].data.old, core.parse_events(r.logs)[0].data.new) == (first, second)
    assert acct.chain.send([acct.ix.set_delegate(acct.owner.pubkey(), acct.margin(), None)], [acct.owner]).ok
    assert acct.state(acct.margin()).delegate is None


def test_set_delegate_errors(acct: Core) -> None:
    delegate = acct.chain.keypair()
    assert acct.chain.send([acct.ix.set_delegate(acct.owner.pubkey(), acct.margin(), delegate.pubkey())], [acct.owner]).ok
    before = acct.snapshot(acct.margin())
    failed(acct.chain.send([acct.ix.set_delegate(acct.owner.pubkey(), acct.margin(), acct.owner.pubkey())], [acct.owner]), E["InvalidDelegate"])
    # Neither the delegate nor a stranger may change it (a session key is just another stranger here).
    for signer in (delegate, acct.chain.keypair()):
        failed(acct.chain.send([acct.ix.set_delegate(signer.pubkey(), acct.margin(), signer.pubkey())], [signer]), E["NotOwner"])
    unsigned = with_meta(acct.ix.set_delegate(acct.owner.pubkey(), acct.margin(), None), "owner", signer=False)
    failed(acct.chain.send([unsigned]), E["MissingSigner"])
    assert acct.snapshot(acct.margin()) == before


def test_a_frozen_account_may_only_remove_its_delegate(acct: Core) -> None:
    delegate = Keypair().pubkey()
    assert acct.chain.send([acct.ix.set_delegate(acct.owner.pubkey(), acct.margin(), delegate)], [acct.owner]).ok
    acct.poke(acct.margin(), STATUS, bytes([core.STATUS_FROZEN]))
    before = acct.snapshot(acct.margin())
    failed(acct.chain.send([acct.ix.set_delegate(acct.owner.pubkey(), acct.margin(), Keypair().pubkey())], [acct.owner]), E["AccountFrozen"])
    assert acct.snapshot(acct.margin()) == before
    assert acct.chain.send([acct.ix.set_delegate(acct.owner.pubkey(), acct.margin(), None)], [acct.owner]).ok
    m = acct.state(acct.margin())
    assert m.delegate is None and m.frozen


def test_owner_instruction_account_attacks(acct: Core) -> None:
    """set_delegate and set_limits share the owner checks: wrong owner, cosplay, read-only, another owner's account."""
    victim = acct.chain.keypair()
    assert acct.create(0, owner=victim).ok
    before = acct.snapshot(acct.margin(), acct.margin(0, victim))
    fake = acct.copy_owned_by(acct.margin(), Pubkey.default())
    for base in (acct.ix.set_delegate(acct.owner.pubkey(), acct.margin(), Keypair().pubkey()), acct.ix.set_limits(acct.owner.pubkey(), acct.margin(), 500)):
        send = lambda ix: acct.chain.send([ix], [acct.owner])  # noqa: E731
        failed(send(with_meta(base, "margin_account", key=fake)), E["WrongOwner"])
        failed(send(with_meta(base, "margin_account", key=core.GLOBAL)), E["WrongAccountSize"])  # the GlobalConfig as a margin account
        failed(send(with_meta(base, "margin_account", writable=False)), E["NotWritable"])
        failed(send(with_meta(base, "margin_account", key=acct.owner.pubkey())), E["WrongOwner"])  # owner == margin account
        failed(send(with_meta(base, "margin_account", key=acct.margin(0, victim))), E["NotOwner"])
    assert acct.snapshot(acct.margin(), acct.margin(0, victim)) == before


# ---- set_limits --------------------------------------------------------------------------------

def test_set_limits_and_event(acct: Core) -> None:
    r = acct.chain.send([acct.ix.set_limits(acct.owner.pubkey(), acct.margin(), 500, 0b1011, True)], [acct.owner])
    assert r.ok, r.logs
    limits = acct.state(acct.margin()).limits
    assert limits == core.Limits(500, 0b1011, True)
    assert limits.allows_market(3) and not limits.allows_market(2) and not limits.allows_market(64)
    [event] = core.parse_events(r.logs)
    assert (event.name, event.data.max_leverage_x100, event.data.allowed_markets, event.data.reduce_only) == ("LimitsChanged", 500, 0b1011, True)
    assert "leverage<=5.00x markets=0xb reduce-only" in acct.state(acct.margin()).summary()
    for lev in (0, 100, 10_000):
        assert acct.chain.send([acct.ix.set_limits(acct.owner.pubkey(), acct.margin(), lev)], [acct.owner]).ok
        assert acct.state(acct.margin()).limits == core.Limits(lev, core.ALL_MARKETS, False)


def test_set_limits_errors(acct: Core) -> None:
    before = acct.snapshot(acct.margin())
    for lev in (1, 99, 10_001, 0xFFFF):
        failed(acct.chain.send([acct.ix.set_limits(acct.owner.pubkey(), acct.margin(), lev)], [acct.owner]), E["InvalidLimits"])
    delegate = acct.chain.keypair()
    for signer in (delegate, acct.chain.keypair()):
        failed(acct.chain.send([acct.ix.set_limits(signer.pubkey(), acct.margin(), 500)], [signer]), E["NotOwner"])
    failed(acct.chain.send([with_meta(acct.ix.set_limits(acct.owner.pubkey(), acct.margin(), 500), "owner", signer=False)]), E["MissingSigner"])
    assert acct.snapshot(acct.margin()) == before


# ---- set_frozen --------------------------------------------------------------------------------

def test_set_frozen_refuses_users_and_missing_signatures(acct: Core) -> None:
    before = acct.snapshot(acct.margin())
    for signer in (acct.owner, acct.admin, acct.chain.keypair()):
        failed(acct.chain.send([acct.ix.set_frozen(signer.pubkey(), acct.margin(), True, 7)], [signer]), E["NotSecurityAuthority"])
    unsigned = with_meta(acct.ix.set_frozen(SECURITY_AUTHORITY, acct.margin(), True, 7), "security_authority", signer=False)
    failed(acct.chain.send([unsigned]), E["MissingSigner"])
    assert acct.snapshot(acct.margin()) == before


def test_set_frozen_sets_and_clears_the_freeze_when_the_authority_signs(acct: Core) -> None:
    """The runtime's side of the rule: with signature checks off, the authority PDA appears as a
    signer just as qd-security's invoke_signed makes it one."""
    margin = acct.margin()
    assert acct.chain.send_unverified([acct.ix.set_frozen(SECURITY_AUTHORITY, margin, True, 7)]).ok
    m = acct.state(margin)
    assert (m.frozen, m.freeze_reason, m.audit_seq, m.status) == (True, 7, 1, core.STATUS_FROZEN)
    assert "frozen(reason 7)" in m.summary()
    acct.poke(margin, STATUS, bytes([core.STATUS_FROZEN | core.STATUS_BANKRUPT]))
    assert acct.chain.send_unverified([acct.ix.set_frozen(SECURITY_AUTHORITY, margin, False, 9)]).ok
    m = acct.state(margin)
    assert (m.frozen, m.freeze_reason, m.audit_seq, m.status) == (False, 0, 2, core.STATUS_BANKRUPT)  # other bits kept
    # Account checks still apply to the authority: a system-owned copy and the config are refused.
    fake = acct.copy_owned_by(margin, Pubkey.default())
    assert not acct.chain.send_unverified([acct.ix.set_frozen(SECURITY_AUTHORITY, fake, True, 7)]).ok
    assert not acct.chain.send_unverified([acct.ix.set_frozen(SECURITY_AUTHORITY, core.GLOBAL, True, 7)]).ok
    assert acct.state(margin).audit_seq == 2


def test_freeze_through_qd_security(acct: Core) -> None:
    sec = security.SecurityInstructions()
    # loader v2: the first signer initializes, with a short delay
    assert acct.chain.send([sec.initialize(acct.admin.pubkey(), timelock_delay=security.LOCAL_TIMELOCK_DELAY)]).ok
    compliance = acct.chain.keypair()
    assert security.enact(acct.chain, acct.admin, security.Change.grant_role(security.Role.COMPLIANCE, compliance.pubkey())).ok
    r = acct.chain.send([sec.freeze_account(compliance.pubkey(), acct.margin(), 11)], [compliance])
    assert r.ok, r.logs
    m = acct.state(acct.margin())
    assert (m.frozen, m.freeze_reason, m.audit_seq) == (True, 11, 1)
    failed(acct.chain.send([acct.ix.close_margin_account(acct.owner.pubkey(), acct.margin())], [acct.owner]), E["AccountFrozen"])
    assert acct.chain.send([sec.unfreeze_account(compliance.pubkey(), acct.margin(), 12)], [compliance]).ok
    m = acct.state(acct.margin())
    assert (m.frozen, m.freeze_reason, m.audit_seq) == (False, 0, 2)
    assert acct.chain.send([acct.ix.close_margin_account(acct.owner.pubkey(), acct.margin())], [acct.owner]).ok



# ---- CoreClient over RPC -----------------------------------------------------------------------

async def test_core_client_against_the_local_validator() -> None:
    """CoreClient end to end on the local validator: getProgramAccounts with the discriminator
    and owner memcmp filters finds exactly the owner's accounts, sorted by sub_id."""
    from anchorpy import Provider, Wallet
    from solana.rpc.async_api import AsyncClient
    from solana.rpc.commitment import Confirmed

    from quantdesk.localnet import run_in_background

    async with run_in_background(slot_ms=100, root=ROOT, log_level="warning") as node, AsyncClient(node.rpc_url, commitment=Confirmed) as rpc:
        admin, owner, other = Keypair(), Keypair(), Keypair()
        for kp in (admin, owner, other):
            await rpc.request_airdrop(kp.pubkey(), 10 * 10**9)
        client = core.CoreClient(Provider(rpc, Wallet(admin)))
        mint = Keypair()
        rent = (await rpc.get_minimum_balance_for_rent_exemption(token.MINT_LEN)).value
        await client.send(token.create_mint(admin.pubkey(), mint.pubkey(), admin.pubkey(), 6, rent), [mint])
        await client.send([client.ix.initialize(admin.pubkey(), mint.pubkey())])
        assert (await client.fetch_global()).quote_mint == mint.pubkey()
        for sub_id, name in ((2, "hedge"), (0, "main"), (1, "mm")):
            assert await client.create(owner, sub_id, name) == core.margin_account_address(owner.pubkey(), sub_id)
        await client.create(other, 0, "not mine")
        await client.set_delegate(owner, 1, other.pubkey())
        await client.set_limits(owner, 2, 300, 0b1, True)
        mine = await client.margin_accounts_of(owner.pubkey())
        assert [(m.sub_id, m.name) for m in mine] == [(0, "main"), (1, "mm"), (2, "hedge")]
        assert mine[1].delegate == other.pubkey() and mine[2].limits == core.Limits(300, 1, True)
        await client.close(owner, 1)
        assert [m.sub_id for m in await client.margin_accounts_of(owner.pubkey())] == [0, 2]
        assert (await client.fetch_global()).margin_accounts == 3
        with pytest.raises(LookupError):
            await client.fetch_margin_account(core.margin_account_address(owner.pubkey(), 1))
