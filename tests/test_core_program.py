"""qd-core in the real runtime (LiteSVM): every instruction's success path, its error paths, and the
attack classes that apply (missing / wrong signer, wrong owner, type cosplay, re-initialization,
non-canonical PDA, another owner's PDA, duplicate accounts, wrong config and program accounts,
the upgrade-authority check, the account-closing attack, set_frozen outside qd-security)."""
from __future__ import annotations

import tomllib
from collections.abc import Callable

import pytest
from quantdesk.clients import collateral, core, idl, security, token, trading_state
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.chain import ROOT, TxResult
from quantdesk.world import Owned, Venue, copy_owned_by, failed, poke, state, with_meta

E = idl.error_codes(core.NAME)
TOKEN, TOKEN_2022 = token.TOKEN_PROGRAM_ID, token.TOKEN_2022_PROGRAM_ID
SECURITY_AUTHORITY = security.AUTHORITY  # set_frozen's signer: qd-security's [b"authority"] PDA
PROGRAM_IDS = {n: Pubkey.from_string(k) for n, k in tomllib.loads((ROOT / "Anchor.toml").read_text())["programs"]["localnet"].items()}
MARGIN_LEN = 232
GLOBAL_LEN = 280
# MarginAccount byte offsets (crates/qd-core-state).
STATUS, FREEZE_REASON = 9, 14


@pytest.fixture
def venue() -> Venue:
    """A chain with qd-core deployed (qd-security too, not initialized), its GlobalConfig not yet created."""
    return Venue(init_security=False, init_core=False, quote_params=None, markets=())


@pytest.fixture
def owner(venue: Venue) -> Keypair:
    """The wallet whose margin accounts the tests create."""
    return venue.chain.keypair()


@pytest.fixture
def core_venue(venue: Venue) -> Venue:
    """qd-core initialized (the payer its admin)."""
    assert venue.init_core().ok
    return venue


@pytest.fixture
def account_venue(core_venue: Venue, owner: Keypair) -> Venue:
    """An initialized venue with the owner's sub-account 0 ("main")."""
    assert core_venue.create_margin_account(owner, 0, "main").ok
    return core_venue


def margin_of(owner: Keypair, sub_id: int = 0) -> Pubkey:
    return core.margin_account_address(owner.pubkey(), sub_id)


def snapshot(venue: Venue, *addresses: Pubkey) -> dict[Pubkey, Owned]:
    """The GlobalConfig and `addresses` as they are: a failure must not change any."""
    return state(venue.chain, [core.GLOBAL, *addresses])


def mint_bytes(initialized: int = 1, length: int = token.MINT_LEN) -> bytes:
    data = bytearray(length)
    data[45] = initialized
    return bytes(data)


# ---- initialize ----------------------------------------------------------------------------

def test_initialize_records_the_config_and_emits_an_event(venue: Venue) -> None:
    r = venue.init_core()
    assert r.ok, r.logs
    account = venue.chain.account(core.GLOBAL)
    assert account is not None and account.owner == core.PROGRAM_ID and len(account.data) == GLOBAL_LEN
    g = venue.global_config()
    assert (g.version, g.bump, g.max_sub_accounts, g.margin_accounts) == (1, 253, 16, 0)
    assert (g.admin, g.quote_mint) == (venue.admin.pubkey(), venue.usdc)
    assert (g.collateral_program, g.oracle_program, g.trading_program, g.security_program) == tuple(
        PROGRAM_IDS[n] for n in ("qd_collateral", "qd_oracle", "qd_trading", "qd_security"))
    [event] = core.parse_events(r.logs)
    assert event.name == "GlobalInitialized"
    assert (event.data.global_, event.data.admin, event.data.quote_mint, event.data.max_sub_accounts, event.data.seq) == (core.GLOBAL, venue.admin.pubkey(), venue.usdc, 16, 1)


def test_initialize_accepts_a_token_2022_mint_and_the_largest_limit(venue: Venue) -> None:
    mint = venue.chain.create_mint(6, token_program=TOKEN_2022)
    assert venue.init_core(core.MAX_SUB_ACCOUNTS_LIMIT, mint).ok
    assert (venue.global_config().quote_mint, venue.global_config().max_sub_accounts) == (mint, 256)


def test_initialize_twice_is_refused(core_venue: Venue) -> None:
    before = snapshot(core_venue)
    failed(core_venue.init_core(8), E["AlreadyInitialized"])
    assert snapshot(core_venue) == before


@pytest.mark.parametrize("limit", [0, 257, 0xFFFF])
def test_initialize_validates_the_sub_account_limit(venue: Venue, owner: Keypair, limit: int) -> None:
    failed(venue.init_core(limit), E["InvalidMaxSubAccounts"])
    assert venue.chain.account(core.GLOBAL) is None


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
def test_initialize_refuses_anything_but_an_initialized_mint(venue: Venue, data: bytes, owner: Pubkey) -> None:
    fake = Keypair().pubkey()
    venue.chain.set_account(fake, Account(10**9, data, owner, False, 0))
    failed(venue.init_core(mint=fake), E["InvalidQuoteMint"])
    assert venue.chain.account(core.GLOBAL) is None


def test_initialize_account_attacks(venue: Venue) -> None:
    base = venue.core.initialize(venue.admin.pubkey(), venue.usdc)
    stranger = Keypair().pubkey()
    failed(venue.chain.send([with_meta(base, "admin", key=stranger, signer=False)]), E["MissingSigner"])
    failed(venue.chain.send([with_meta(base, "global", key=Keypair().pubkey())]), E["WrongAddress"])  # wrong config account
    failed(venue.chain.send([with_meta(base, "global", writable=False)]), E["NotWritable"])
    failed(venue.chain.send([with_meta(base, "system_program", key=core.PROGRAM_ID)]), E["WrongProgram"])  # fake System program
    failed(venue.chain.send([with_meta(base, "program", key=idl.program_id("qd_oracle"))]), E["WrongAddress"])  # another program account
    failed(venue.chain.send([with_meta(base, "global", key=venue.admin.pubkey())]), E["DuplicateAccount"])  # admin as the config: one account in two writable slots
    assert venue.chain.account(core.GLOBAL) is None


def test_only_the_upgrade_authority_initializes_an_upgradeable_deployment(venue: Venue) -> None:
    # Redeploy qd-core through the upgradeable loader, as on a public cluster.
    authority = venue.chain.keypair()
    program_data = venue.chain.deploy_upgradeable("qd_core", core.PROGRAM_ID, authority.pubkey())
    # The payer deployed nothing: refused, as is a ProgramData account of another program.
    failed(venue.init_core(), E["NotUpgradeAuthority"])
    fake_data = Keypair().pubkey()
    state = venue.chain.account(program_data).data[:45]  # type: ignore[union-attr]
    venue.chain.set_account(fake_data, Account(10**9, bytes(state), idl.BPF_LOADER_UPGRADEABLE, False, 0))
    ix = venue.core.initialize(authority.pubkey(), venue.usdc)
    failed(venue.chain.send([with_meta(ix, "program_data", key=fake_data)], [authority]), E["WrongAddress"])
    assert venue.chain.account(core.GLOBAL) is None
    assert venue.chain.send([ix], [authority]).ok
    assert venue.global_config().admin == authority.pubkey()


def test_a_copy_of_the_program_at_another_address_refuses_to_run(account_venue: Venue, owner: Keypair) -> None:
    impostor = Keypair().pubkey()
    account_venue.chain.deploy("qd_core", impostor)
    ix = account_venue.core.set_limits(owner.pubkey(), margin_of(owner), 500)
    failed(account_venue.chain.send([Instruction(impostor, ix.data, ix.accounts)], [owner]), E["WrongProgram"])


def test_malformed_instruction_data_is_refused(account_venue: Venue, owner: Keypair) -> None:
    ix = account_venue.core.set_limits(owner.pubkey(), margin_of(owner), 500)
    send = lambda data, accounts=ix.accounts: account_venue.chain.send([Instruction(ix.program_id, data, accounts)], [owner])  # noqa: E731
    before = snapshot(account_venue, margin_of(owner))
    failed(send(bytes(ix.data)[:-1]), E["InvalidInstructionData"])
    failed(send(bytes(ix.data) + b"\0"), E["InvalidInstructionData"])
    failed(send(bytes(ix.data)[:-1] + b"\x02"), E["InvalidInstructionData"])  # reduce_only is a bool
    failed(send(b"\x01" * 8), E["InvalidInstruction"])
    failed(send(bytes(ix.data), ix.accounts[:1]), E["NotEnoughAccounts"])
    assert snapshot(account_venue, margin_of(owner)) == before


# ---- set_max_sub_accounts ----------------------------------------------------------------------

def test_set_max_sub_accounts_by_the_admin(account_venue: Venue, owner: Keypair) -> None:
    assert account_venue.create_margin_account(owner, 15).ok
    r = account_venue.chain.send([account_venue.core.set_max_sub_accounts(account_venue.admin.pubkey(), 4)])
    assert r.ok, r.logs
    assert account_venue.global_config().max_sub_accounts == 4
    [event] = core.parse_events(r.logs)
    assert (event.name, event.data.admin, event.data.old, event.data.new, event.data.seq) == ("MaxSubAccountsChanged", account_venue.admin.pubkey(), 16, 4, 2)
    assert account_venue.global_config().audit_seq == 2
    failed(account_venue.create_margin_account(owner, 4), E["InvalidSubId"])
    # Sub-account 15 stays valid under the lowered limit.
    assert account_venue.chain.send([account_venue.core.set_limits(owner.pubkey(), margin_of(owner, 15), 200)], [owner]).ok
    assert account_venue.chain.send([account_venue.core.set_max_sub_accounts(account_venue.admin.pubkey(), 256)]).ok
    assert account_venue.global_config().audit_seq == 3, "the config's audit sequence numbers every admin action"
    assert account_venue.create_margin_account(owner, 255).ok
    assert account_venue.margin_state(margin_of(owner, 255)).sub_id == 255


def _with_admin(venue: Venue, admin: Pubkey) -> Account:
    real = venue.chain.account(core.GLOBAL)
    assert real is not None
    data = bytearray(real.data)
    data[16:48] = bytes(admin)
    return Account(real.lamports, bytes(data), real.owner, False, 0)


def test_set_max_sub_accounts_errors(core_venue: Venue) -> None:
    stranger = core_venue.chain.keypair()
    before = snapshot(core_venue)
    failed(core_venue.chain.send([core_venue.core.set_max_sub_accounts(stranger.pubkey(), 8)], [stranger]), E["NotAdmin"])
    admin = Keypair()  # the real admin's key without its signature (the payer pays)
    core_venue.chain.set_account(core.GLOBAL, _with_admin(core_venue, admin.pubkey()))
    failed(core_venue.chain.send([with_meta(core_venue.core.set_max_sub_accounts(admin.pubkey(), 8), "admin", signer=False)]), E["MissingSigner"])
    core_venue.chain.set_account(core.GLOBAL, _with_admin(core_venue, core_venue.admin.pubkey()))
    failed(core_venue.chain.send([core_venue.core.set_max_sub_accounts(core_venue.admin.pubkey(), 0)]), E["InvalidMaxSubAccounts"])
    failed(core_venue.chain.send([core_venue.core.set_max_sub_accounts(core_venue.admin.pubkey(), 257)]), E["InvalidMaxSubAccounts"])
    assert snapshot(core_venue) == before


def test_set_max_sub_accounts_refuses_a_fake_or_read_only_config(account_venue: Venue, owner: Keypair) -> None:
    ix = account_venue.core.set_max_sub_accounts(account_venue.admin.pubkey(), 8)
    before = snapshot(account_venue, margin_of(owner))
    # A margin account (another type of this program) in the config's place.
    failed(account_venue.chain.send([with_meta(ix, "global", key=margin_of(owner))]), E["WrongAddress"])
    failed(account_venue.chain.send([with_meta(ix, "global", writable=False)]), E["NotWritable"])
    # The real address with the config's bytes, owned by the System program.
    real = account_venue.chain.account(core.GLOBAL)
    assert real is not None
    account_venue.chain.set_account(core.GLOBAL, Account(real.lamports, bytes(real.data), Pubkey.default(), False, 0))
    failed(account_venue.chain.send([ix]), E["WrongOwner"])
    account_venue.chain.set_account(core.GLOBAL, real)
    assert snapshot(account_venue, margin_of(owner)) == before


# ---- create_margin_account ---------------------------------------------------------------------

def test_create_margin_account_with_defaults_and_an_event(core_venue: Venue, owner: Keypair) -> None:
    balance = core_venue.chain.lamports(owner.pubkey())
    core_venue.chain.set_time(slot=42)
    r = core_venue.create_margin_account(owner, 3, "hedge ✓")
    assert r.ok, r.logs
    address = margin_of(owner, 3)
    account = core_venue.chain.account(address)
    assert account is not None and len(account.data) == MARGIN_LEN
    rent = core_venue.chain.svm.minimum_balance_for_rent_exemption(MARGIN_LEN)
    assert account.lamports == rent and core_venue.chain.lamports(owner.pubkey()) == balance - rent  # the owner paid
    m = core_venue.margin_state(address)
    assert (m.owner, m.sub_id, m.name, m.status, m.delegate, m.freeze_reason, m.audit_seq, m.created_slot) == (
        owner.pubkey(), 3, "hedge ✓", 0, None, 0, 0, 42)
    assert m.limits == core.Limits(0, core.ALL_MARKETS, False)
    assert m.bump == Pubkey.find_program_address([b"margin", bytes(owner.pubkey()), (3).to_bytes(2, "little")], core.PROGRAM_ID)[1]
    assert core_venue.global_config().margin_accounts == 1
    [event] = core.parse_events(r.logs)
    assert event.name == "MarginAccountCreated"
    assert (event.data.owner, event.data.margin_account, event.data.sub_id, bytes(event.data.name), event.data.slot) == (
        owner.pubkey(), address, 3, core.encode_name("hedge ✓"), 42)
    assert m.summary().startswith(f"#3 'hedge ✓' {address} owner={owner.pubkey()} active delegate=-")


def test_names_empty_full_and_invalid(core_venue: Venue, owner: Keypair) -> None:
    assert core_venue.create_margin_account(owner, 0, "").ok and core_venue.margin_state(margin_of(owner, 0)).name == ""
    assert core_venue.create_margin_account(owner, 1, "x" * 32).ok and core_venue.margin_state(margin_of(owner, 1)).name == "x" * 32
    with pytest.raises(ValueError):
        core.encode_name("x" * 33)
    with pytest.raises(ValueError):
        core.encode_name("a\0b")
    ix = core_venue.core.create_margin_account(owner.pubkey(), 2, "abcd")
    for forged in (b"ab\0d", b"\xff\xfe\0\0", b"ab\xc3\0"):  # interior zero, not UTF-8, cut character
        data = bytes(ix.data).replace(b"abcd", forged)
        failed(core_venue.chain.send([Instruction(ix.program_id, data, ix.accounts)], [owner]), E["InvalidName"])
    assert core_venue.chain.account(margin_of(owner, 2)) is None


def test_sub_account_limit_and_enumeration(core_venue: Venue, owner: Keypair) -> None:
    for sub_id in range(core.DEFAULT_MAX_SUB_ACCOUNTS):
        assert core_venue.create_margin_account(owner, sub_id, f"sub {sub_id}").ok
    failed(core_venue.create_margin_account(owner, 16), E["InvalidSubId"])
    assert core_venue.chain.account(margin_of(owner, 16)) is None
    other = core_venue.chain.keypair()
    assert core_venue.create_margin_account(other, 0, "other").ok
    assert core_venue.global_config().margin_accounts == 17
    # By PDAs: sub ids 0..max.
    by_pda = [core_venue.margin_state(margin_of(owner, i)) for i in range(core_venue.global_config().max_sub_accounts) if core_venue.chain.account(margin_of(owner, i))]
    assert [m.name for m in by_pda] == [f"sub {i}" for i in range(16)]
    # By the getProgramAccounts filters fetch_margin_accounts sends, applied to every qd-core account.
    candidates = [core.GLOBAL, *(margin_of(owner, i) for i in range(16)), margin_of(other, 0)]
    filters = core.margin_account_filter_bytes(owner.pubkey())
    matched = []
    for address in candidates:
        data = bytes(core_venue.chain.account(address).data)  # type: ignore[union-attr]
        if all(data[off:off + len(raw)] == raw for off, raw in filters):
            matched.append(core.decode_margin_account(address, data))
    assert sorted(m.sub_id for m in matched) == list(range(16))
    assert [f.offset for f in core.margin_account_filters(owner.pubkey())] == [0, 16]


def test_create_twice_is_refused(account_venue: Venue, owner: Keypair) -> None:
    before = snapshot(account_venue, margin_of(owner))
    failed(account_venue.create_margin_account(owner, 0, "again"), E["AlreadyInitialized"])
    assert snapshot(account_venue, margin_of(owner)) == before


def test_create_refuses_a_non_canonical_bump(core_venue: Venue, owner: Keypair) -> None:
    seeds = [b"margin", bytes(owner.pubkey()), (0).to_bytes(2, "little")]
    canonical, bump = Pubkey.find_program_address(seeds, core.PROGRAM_ID)
    for other_bump in range(bump - 1, -1, -1):
        try:
            other = Pubkey.create_program_address([*seeds, bytes([other_bump])], core.PROGRAM_ID)
        except Exception:  # on the curve: not a PDA
            continue
        ix = with_meta(core_venue.core.create_margin_account(owner.pubkey(), 0), "margin_account", key=other)
        failed(core_venue.chain.send([ix], [owner]), E["WrongAddress"])
        assert core_venue.chain.account(other) is None
        break
    else:
        pytest.fail("no non-canonical bump found")
    assert core_venue.chain.account(canonical) is None


def test_create_refuses_another_owners_pda_and_missing_signatures(core_venue: Venue, owner: Keypair) -> None:
    victim = core_venue.chain.keypair()
    ix = with_meta(core_venue.core.create_margin_account(owner.pubkey(), 0), "margin_account", key=margin_of(victim, 0))
    failed(core_venue.chain.send([ix], [owner]), E["WrongAddress"])
    ix = with_meta(core_venue.core.create_margin_account(victim.pubkey(), 0), "owner", signer=False)
    failed(core_venue.chain.send([ix]), E["MissingSigner"])
    assert core_venue.chain.account(margin_of(victim, 0)) is None
    assert core_venue.global_config().margin_accounts == 0


def test_create_account_attacks(core_venue: Venue, owner: Keypair) -> None:
    base = core_venue.core.create_margin_account(owner.pubkey(), 0)
    send = lambda ix: core_venue.chain.send([ix], [owner])  # noqa: E731
    before = snapshot(core_venue, margin_of(owner))
    failed(send(with_meta(base, "margin_account", key=owner.pubkey())), E["DuplicateAccount"])  # owner as the margin account
    failed(send(with_meta(base, "margin_account", key=core.GLOBAL)), E["DuplicateAccount"])
    failed(send(with_meta(base, "global", key=Keypair().pubkey())), E["WrongAddress"])  # wrong config account
    failed(send(with_meta(base, "system_program", key=idl.program_id("qd_oracle"))), E["WrongProgram"])  # arbitrary CPI target
    failed(send(with_meta(base, "margin_account", writable=False)), E["NotWritable"])
    failed(send(with_meta(base, "owner", writable=False)), E["NotWritable"])
    assert snapshot(core_venue, margin_of(owner)) == before


def test_create_before_initialize_is_refused(venue: Venue, owner: Keypair) -> None:
    failed(venue.create_margin_account(owner, 0), E["WrongOwner"])
    assert venue.chain.account(margin_of(owner)) is None


# ---- close_margin_account ----------------------------------------------------------------------

def test_close_returns_the_rent_and_the_account_can_be_recreated(account_venue: Venue, owner: Keypair) -> None:
    address = margin_of(owner)
    rent = account_venue.chain.lamports(address)
    balance = account_venue.chain.lamports(owner.pubkey())
    r = account_venue.chain.send([account_venue.core.close_margin_account(owner.pubkey(), address)], [owner])
    assert r.ok, r.logs
    gone = account_venue.chain.account(address)  # LiteSVM reports a deleted account as empty
    assert gone is None or (gone.lamports, bytes(gone.data), gone.owner) == (0, b"", Pubkey.default())
    assert account_venue.chain.lamports(owner.pubkey()) == balance + rent
    assert account_venue.global_config().margin_accounts == 0
    [event] = core.parse_events(r.logs)
    assert (event.name, event.data.owner, event.data.margin_account, event.data.sub_id) == ("MarginAccountClosed", owner.pubkey(), address, 0)
    assert account_venue.create_margin_account(owner, 0, "again").ok
    assert account_venue.margin_state(address).name == "again" and account_venue.global_config().margin_accounts == 1


def test_a_closed_account_cannot_be_revived_in_the_same_transaction(account_venue: Venue, owner: Keypair) -> None:
    address = margin_of(owner)
    close = account_venue.core.close_margin_account(owner.pubkey(), address)
    use = account_venue.core.set_limits(owner.pubkey(), address, 500)
    # The closed account is System-owned and empty from the close on: the next use fails.
    failed(account_venue.chain.send([close, use], [owner]), E["WrongOwner"])
    assert account_venue.margin_state(address).limits.max_leverage_x100 == 0


def open_balances(account_venue: Venue, owner: Keypair, margin: Pubkey) -> Callable[[], None]:
    """Opens the margin account's collateral balances; returns what closes them."""
    ix = collateral.CollateralInstructions()
    assert account_venue.chain.send([ix.open_balances(owner.pubkey(), margin)], [owner]).ok
    return lambda: assert_ok(account_venue.chain.send([ix.close_balances(owner.pubkey(), margin)], [owner]))


def open_trading(account_venue: Venue, owner: Keypair, margin: Pubkey) -> Callable[[], None]:
    """Writes the TradingAccount qd-trading opens (flat, no orders); returns what leaves it as
    qd-trading's close does (System-owned, empty)."""
    trading = trading_state.trading_address(margin)
    data = trading_state.TradingAccount(margin_account=margin, owner=owner.pubkey()).encode()
    account_venue.chain.set_account(trading, Account(10**8, data, trading_state.PROGRAM_ID))
    return lambda: account_venue.chain.set_account(trading, Account(10**8, b"", Pubkey.default()))


def assert_ok(result: TxResult) -> None:
    assert result.ok, result.logs


@pytest.mark.parametrize(("account", "address", "open_account"), [
    ("collateral_balances", collateral.balances_address, open_balances),
    ("trading_account", trading_state.trading_address, open_trading),
])
def test_close_refuses_an_account_whose_balances_or_trading_account_is_open(
        account_venue: Venue, owner: Keypair, account: str, address: Callable[[Pubkey], Pubkey],
        open_account: Callable[[Venue, Keypair, Pubkey], Callable[[], None]]) -> None:
    margin = margin_of(owner)
    close_it = open_account(account_venue, owner, margin)
    before = snapshot(account_venue, margin)
    close = account_venue.core.close_margin_account(owner.pubkey(), margin)
    failed(account_venue.chain.send([close], [owner]), E["AccountNotEmpty"])
    # Any other account in the slot: checked against the margin account's PDA.
    failed(account_venue.chain.send([with_meta(close, account, key=Keypair().pubkey())], [owner]), E["WrongAddress"])
    failed(account_venue.chain.send([with_meta(close, account, key=address(margin_of(owner, 1)))], [owner]), E["WrongAddress"])
    assert snapshot(account_venue, margin) == before
    close_it()
    assert_ok(account_venue.chain.send([close], [owner]))


@pytest.mark.parametrize(("status", "error"), [(core.STATUS_FROZEN, "AccountFrozen"), (core.STATUS_BEING_LIQUIDATED, "BeingLiquidated")])
def test_close_refuses_a_frozen_or_liquidating_account(account_venue: Venue, owner: Keypair, status: int, error: str) -> None:
    poke(account_venue.chain, margin_of(owner), STATUS, bytes([status]))
    before = snapshot(account_venue, margin_of(owner))
    failed(account_venue.chain.send([account_venue.core.close_margin_account(owner.pubkey(), margin_of(owner))], [owner]), E[error])
    assert snapshot(account_venue, margin_of(owner)) == before
    assert E["AccountFrozen"] == 6201  # the code every program reports (qd-access)


def test_close_by_anyone_but_the_owner_is_refused(account_venue: Venue, owner: Keypair) -> None:
    delegate = account_venue.chain.keypair()
    assert account_venue.chain.send([account_venue.core.set_delegate(owner.pubkey(), margin_of(owner), delegate.pubkey())], [owner]).ok
    before = snapshot(account_venue, margin_of(owner))
    for signer in (account_venue.chain.keypair(), delegate):
        failed(account_venue.chain.send([account_venue.core.close_margin_account(signer.pubkey(), margin_of(owner))], [signer]), E["NotOwner"])
    unsigned = with_meta(account_venue.core.close_margin_account(owner.pubkey(), margin_of(owner)), "owner", signer=False)
    failed(account_venue.chain.send([unsigned]), E["MissingSigner"])
    assert snapshot(account_venue, margin_of(owner)) == before


def test_close_account_attacks(account_venue: Venue, owner: Keypair) -> None:
    base = account_venue.core.close_margin_account(owner.pubkey(), margin_of(owner))
    send = lambda ix: account_venue.chain.send([ix], [owner])  # noqa: E731
    victim = account_venue.chain.keypair()
    assert account_venue.create_margin_account(victim, 0).ok
    before = snapshot(account_venue, margin_of(owner), margin_of(victim, 0))
    # Wrong owner: the margin account's exact bytes in a System-owned account.
    failed(send(with_meta(base, "margin_account", key=copy_owned_by(account_venue.chain, margin_of(owner), Pubkey.default()))), E["WrongOwner"])
    # Type cosplay: a qd-core account of margin size carrying the GlobalConfig discriminator.
    cosplay = copy_owned_by(account_venue.chain, margin_of(owner), core.PROGRAM_ID)
    poke(account_venue.chain, cosplay, 0, bytes(account_venue.chain.account(core.GLOBAL).data)[:8])  # type: ignore[union-attr]
    failed(send(with_meta(base, "margin_account", key=cosplay)), E["WrongDiscriminator"])
    failed(send(with_meta(base, "margin_account", key=core.GLOBAL)), E["DuplicateAccount"])
    failed(send(with_meta(base, "margin_account", key=owner.pubkey())), E["DuplicateAccount"])
    failed(send(with_meta(base, "global", key=Keypair().pubkey())), E["WrongAddress"])  # wrong config account
    failed(send(with_meta(base, "owner", writable=False)), E["NotWritable"])
    failed(send(with_meta(base, "margin_account", writable=False)), E["NotWritable"])
    # Another owner's account, closed to the attacker's wallet.
    failed(send(with_meta(base, "margin_account", key=margin_of(victim, 0))), E["NotOwner"])
    assert snapshot(account_venue, margin_of(owner), margin_of(victim, 0)) == before


# ---- set_delegate ------------------------------------------------------------------------------

def test_set_replace_and_remove_the_delegate(account_venue: Venue, owner: Keypair) -> None:
    first, second = Keypair().pubkey(), Keypair().pubkey()
    r = account_venue.chain.send([account_venue.core.set_delegate(owner.pubkey(), margin_of(owner), first)], [owner])
    assert r.ok, r.logs
    assert account_venue.margin_state(margin_of(owner)).delegate == first
    [event] = core.parse_events(r.logs)
    assert (event.name, event.data.margin_account, event.data.owner, event.data.old, event.data.new) == (
        "DelegateChanged", margin_of(owner), owner.pubkey(), Pubkey.default(), first)
    r = account_venue.chain.send([account_venue.core.set_delegate(owner.pubkey(), margin_of(owner), second)], [owner])
    assert account_venue.margin_state(margin_of(owner)).delegate == second
    assert (core.parse_events(r.logs)[0].data.old, core.parse_events(r.logs)[0].data.new) == (first, second)
    assert account_venue.chain.send([account_venue.core.set_delegate(owner.pubkey(), margin_of(owner), None)], [owner]).ok
    assert account_venue.margin_state(margin_of(owner)).delegate is None


def test_set_delegate_errors(account_venue: Venue, owner: Keypair) -> None:
    delegate = account_venue.chain.keypair()
    assert account_venue.chain.send([account_venue.core.set_delegate(owner.pubkey(), margin_of(owner), delegate.pubkey())], [owner]).ok
    before = snapshot(account_venue, margin_of(owner))
    failed(account_venue.chain.send([account_venue.core.set_delegate(owner.pubkey(), margin_of(owner), owner.pubkey())], [owner]), E["InvalidDelegate"])
    # Neither the delegate nor a stranger may change it (a session key is just another stranger here).
    for signer in (delegate, account_venue.chain.keypair()):
        failed(account_venue.chain.send([account_venue.core.set_delegate(signer.pubkey(), margin_of(owner), signer.pubkey())], [signer]), E["NotOwner"])
    unsigned = with_meta(account_venue.core.set_delegate(owner.pubkey(), margin_of(owner), None), "owner", signer=False)
    failed(account_venue.chain.send([unsigned]), E["MissingSigner"])
    assert snapshot(account_venue, margin_of(owner)) == before


def test_a_frozen_account_may_only_remove_its_delegate(account_venue: Venue, owner: Keypair) -> None:
    delegate = Keypair().pubkey()
    assert account_venue.chain.send([account_venue.core.set_delegate(owner.pubkey(), margin_of(owner), delegate)], [owner]).ok
    poke(account_venue.chain, margin_of(owner), STATUS, bytes([core.STATUS_FROZEN]))
    before = snapshot(account_venue, margin_of(owner))
    failed(account_venue.chain.send([account_venue.core.set_delegate(owner.pubkey(), margin_of(owner), Keypair().pubkey())], [owner]), E["AccountFrozen"])
    assert snapshot(account_venue, margin_of(owner)) == before
    assert account_venue.chain.send([account_venue.core.set_delegate(owner.pubkey(), margin_of(owner), None)], [owner]).ok
    m = account_venue.margin_state(margin_of(owner))
    assert m.delegate is None and m.frozen


def test_owner_instruction_account_attacks(account_venue: Venue, owner: Keypair) -> None:
    """set_delegate and set_limits share the owner checks: wrong owner, cosplay, read-only, another owner's account."""
    victim = account_venue.chain.keypair()
    assert account_venue.create_margin_account(victim, 0).ok
    before = snapshot(account_venue, margin_of(owner), margin_of(victim, 0))
    fake = copy_owned_by(account_venue.chain, margin_of(owner), Pubkey.default())
    for base in (account_venue.core.set_delegate(owner.pubkey(), margin_of(owner), Keypair().pubkey()), account_venue.core.set_limits(owner.pubkey(), margin_of(owner), 500)):
        send = lambda ix: account_venue.chain.send([ix], [owner])  # noqa: E731
        failed(send(with_meta(base, "margin_account", key=fake)), E["WrongOwner"])
        failed(send(with_meta(base, "margin_account", key=core.GLOBAL)), E["WrongAccountSize"])  # the GlobalConfig as a margin account
        failed(send(with_meta(base, "margin_account", writable=False)), E["NotWritable"])
        failed(send(with_meta(base, "margin_account", key=owner.pubkey())), E["WrongOwner"])  # owner == margin account
        failed(send(with_meta(base, "margin_account", key=margin_of(victim, 0))), E["NotOwner"])
    assert snapshot(account_venue, margin_of(owner), margin_of(victim, 0)) == before


# ---- set_limits --------------------------------------------------------------------------------

def test_set_limits_and_event(account_venue: Venue, owner: Keypair) -> None:
    r = account_venue.chain.send([account_venue.core.set_limits(owner.pubkey(), margin_of(owner), 500, 0b1011, True)], [owner])
    assert r.ok, r.logs
    limits = account_venue.margin_state(margin_of(owner)).limits
    assert limits == core.Limits(500, 0b1011, True)
    assert limits.allows_market(3) and not limits.allows_market(2) and not limits.allows_market(64)
    [event] = core.parse_events(r.logs)
    assert (event.name, event.data.max_leverage_x100, event.data.allowed_markets, event.data.reduce_only) == ("LimitsChanged", 500, 0b1011, True)
    assert "leverage<=5.00x markets=0xb reduce-only" in account_venue.margin_state(margin_of(owner)).summary()
    for lev in (0, 100, 10_000):
        assert account_venue.chain.send([account_venue.core.set_limits(owner.pubkey(), margin_of(owner), lev)], [owner]).ok
        assert account_venue.margin_state(margin_of(owner)).limits == core.Limits(lev, core.ALL_MARKETS, False)


def test_set_limits_errors(account_venue: Venue, owner: Keypair) -> None:
    before = snapshot(account_venue, margin_of(owner))
    for lev in (1, 99, 10_001, 0xFFFF):
        failed(account_venue.chain.send([account_venue.core.set_limits(owner.pubkey(), margin_of(owner), lev)], [owner]), E["InvalidLimits"])
    delegate = account_venue.chain.keypair()
    for signer in (delegate, account_venue.chain.keypair()):
        failed(account_venue.chain.send([account_venue.core.set_limits(signer.pubkey(), margin_of(owner), 500)], [signer]), E["NotOwner"])
    failed(account_venue.chain.send([with_meta(account_venue.core.set_limits(owner.pubkey(), margin_of(owner), 500), "owner", signer=False)]), E["MissingSigner"])
    assert snapshot(account_venue, margin_of(owner)) == before


# ---- set_frozen --------------------------------------------------------------------------------

def test_set_frozen_refuses_users_and_missing_signatures(account_venue: Venue, owner: Keypair) -> None:
    before = snapshot(account_venue, margin_of(owner))
    for signer in (owner, account_venue.admin, account_venue.chain.keypair()):
        failed(account_venue.chain.send([account_venue.core.set_frozen(signer.pubkey(), margin_of(owner), True, 7)], [signer]), E["NotSecurityAuthority"])
    unsigned = with_meta(account_venue.core.set_frozen(SECURITY_AUTHORITY, margin_of(owner), True, 7), "security_authority", signer=False)
    failed(account_venue.chain.send([unsigned]), E["MissingSigner"])
    assert snapshot(account_venue, margin_of(owner)) == before


def test_set_frozen_sets_and_clears_the_freeze_when_the_authority_signs(account_venue: Venue, owner: Keypair) -> None:
    """The runtime's side of the rule: with signature checks off, the authority PDA appears as a
    signer just as qd-security's invoke_signed makes it one."""
    margin = margin_of(owner)
    assert account_venue.chain.send_unverified([account_venue.core.set_frozen(SECURITY_AUTHORITY, margin, True, 7)]).ok
    m = account_venue.margin_state(margin)
    assert (m.frozen, m.freeze_reason, m.audit_seq, m.status) == (True, 7, 1, core.STATUS_FROZEN)
    assert "frozen(reason 7)" in m.summary()
    poke(account_venue.chain, margin, STATUS, bytes([core.STATUS_FROZEN | core.STATUS_BANKRUPT]))
    assert account_venue.chain.send_unverified([account_venue.core.set_frozen(SECURITY_AUTHORITY, margin, False, 9)]).ok
    m = account_venue.margin_state(margin)
    assert (m.frozen, m.freeze_reason, m.audit_seq, m.status) == (False, 0, 2, core.STATUS_BANKRUPT)  # other bits kept
    # Account checks still apply to the authority: a system-owned copy and the config are refused.
    fake = copy_owned_by(account_venue.chain, margin, Pubkey.default())
    assert not account_venue.chain.send_unverified([account_venue.core.set_frozen(SECURITY_AUTHORITY, fake, True, 7)]).ok
    assert not account_venue.chain.send_unverified([account_venue.core.set_frozen(SECURITY_AUTHORITY, core.GLOBAL, True, 7)]).ok
    assert account_venue.margin_state(margin).audit_seq == 2


def test_freeze_through_qd_security(account_venue: Venue, owner: Keypair) -> None:
    sec = security.SecurityInstructions()
    # loader v2: the first signer initializes, with a short delay
    assert account_venue.chain.send([sec.initialize(account_venue.admin.pubkey(), timelock_delay=security.LOCAL_TIMELOCK_DELAY)]).ok
    compliance = account_venue.chain.keypair()
    assert security.enact(account_venue.chain, account_venue.admin, security.Change.grant_role(security.Role.COMPLIANCE, compliance.pubkey())).ok
    r = account_venue.chain.send([sec.freeze_account(compliance.pubkey(), margin_of(owner), 11)], [compliance])
    assert r.ok, r.logs
    m = account_venue.margin_state(margin_of(owner))
    assert (m.frozen, m.freeze_reason, m.audit_seq) == (True, 11, 1)
    failed(account_venue.chain.send([account_venue.core.close_margin_account(owner.pubkey(), margin_of(owner))], [owner]), E["AccountFrozen"])
    assert account_venue.chain.send([sec.unfreeze_account(compliance.pubkey(), margin_of(owner), 12)], [compliance]).ok
    m = account_venue.margin_state(margin_of(owner))
    assert (m.frozen, m.freeze_reason, m.audit_seq) == (False, 0, 2)
    assert account_venue.chain.send([account_venue.core.close_margin_account(owner.pubkey(), margin_of(owner))], [owner]).ok



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
        mine = await client.fetch_margin_accounts(owner.pubkey())
        assert [(m.sub_id, m.name) for m in mine] == [(0, "main"), (1, "mm"), (2, "hedge")]
        assert mine[1].delegate == other.pubkey() and mine[2].limits == core.Limits(300, 1, True)
        await client.close(owner, 1)
        assert [m.sub_id for m in await client.fetch_margin_accounts(owner.pubkey())] == [0, 2]
        assert (await client.fetch_global()).margin_accounts == 3
        with pytest.raises(LookupError):
            await client.fetch_margin_account(core.margin_account_address(owner.pubkey(), 1))
