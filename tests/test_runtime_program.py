"""qd-runtime in the real runtime: tests/programs/qd-test-runtime drives the crate's CPI, PDA
signing, System and SPL Token helpers, realloc, close, events, return data and Clock inside
LiteSVM, and these tests assert the effects on balances, token amounts, data and errors.

Needs target/deploy/qd_test_runtime.so (`make build`).
"""
from __future__ import annotations

import re
import struct

import pytest
from quantdesk.clients.idl import discriminator
from solders.account import Account
from solders.clock import Clock
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from spl.token.instructions import InitializeMintParams, create_associated_token_account, get_associated_token_address, initialize_mint

from quantdesk.chain import ROOT, SOL, Chain, TxResult

PROGRAM_ID = Pubkey.from_string("CTTnDSiho9oNUe47aWWCzo1KCvW5sQLby3aDcPBENP1c")
FEE = 5_000  # LiteSVM's default lamports per signature
MAX_PERMITTED_DATA_INCREASE = 10 * 1024
TOKEN_ACCOUNT_LEN = 165
MINT_LEN = 82
DECIMALS = 6
MINT_DECIMALS_MISMATCH = 18  # spl-token TokenError::MintDecimalsMismatch
INSUFFICIENT_FUNDS = 1  # spl-token TokenError::InsufficientFunds


def runtime_error(name: str) -> int:
    """A qd-runtime error code, read from its Rust source so renumbering cannot desync us."""
    source = (ROOT / "crates/qd-runtime/src/error.rs").read_text()
    match = re.search(rf"^\s*{name} = (\d+),", source, re.MULTILINE)
    assert match is not None, f"RuntimeError::{name} not found"
    return int(match[1])


def ix(name: str, args: bytes, *accounts: AccountMeta) -> Instruction:
    return Instruction(PROGRAM_ID, discriminator("global", name) + args, list(accounts))


def w(key: Pubkey, signer: bool = False) -> AccountMeta:
    return AccountMeta(key, signer, True)


def ro(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, False, False)


def pda(*seeds: bytes) -> Pubkey:
    return Pubkey.find_program_address(list(seeds), PROGRAM_ID)[0]


AUTHORITY = pda(b"authority")


@pytest.fixture(scope="module")
def chain() -> Chain:
    c = Chain()
    c.deploy("qd_test_runtime", PROGRAM_ID)
    return c


def create_state(chain: Chain, payer: Keypair, space: int, state: Pubkey | None = None) -> TxResult:
    state = state or pda(b"state", bytes(payer.pubkey()))
    return chain.send([ix("create_state", struct.pack("<Q", space), w(payer.pubkey(), True), w(state), ro(SYSTEM_PROGRAM))],
                      payer=payer)


def test_create_state_creates_a_rent_exempt_pda_by_cpi(chain: Chain) -> None:
    payer = chain.keypair()
    state = pda(b"state", bytes(payer.pubkey()))
    before = chain.lamports(payer.pubkey())
    result = create_state(chain, payer, 72)
    assert result.ok, result.logs
    rent = chain.svm.minimum_balance_for_rent_exemption(72)
    account = chain.account(state)
    assert account is not None
    assert (account.owner, len(account.data), account.lamports) == (PROGRAM_ID, 72, rent)
    assert bytes(account.data) == bytes(72)
    assert before - chain.lamports(payer.pubkey()) == rent + FEE
    assert f"Program {SYSTEM_PROGRAM} invoke [2]" in result.logs

    again = create_state(chain, payer, 72)
    assert again.custom_error == runtime_error("AlreadyInitialized")


@pytest.mark.parametrize("prefund_delta", [-800_000, 12_345], ids=["below-rent", "above-rent"])
def test_create_state_takes_over_a_prefunded_address(chain: Chain, prefund_delta: int) -> None:
    """Someone sent lamports to the PDA first (to block CreateAccount); creation still works:
    top up to rent exemption, allocate, assign."""
    payer = chain.keypair()
    state = pda(b"state", bytes(payer.pubkey()))
    rent = chain.svm.minimum_balance_for_rent_exemption(40)
    prefund = rent + prefund_delta
    griefer = chain.keypair()
    assert chain.send([transfer(TransferParams(from_pubkey=griefer.pubkey(), to_pubkey=state, lamports=prefund))], payer=griefer).ok
    before = chain.lamports(payer.pubkey())

    result = create_state(chain, payer, 40)
    assert result.ok, result.logs
    account = chain.account(state)
    assert account is not None
    assert (account.owner, len(account.data), account.lamports) == (PROGRAM_ID, 40, max(rent, prefund))
    assert before - chain.lamports(payer.pubkey()) == max(0, rent - prefund) + FEE


def test_create_state_refuses_a_non_canonical_bump(chain: Chain) -> None:
    payer = chain.keypair()
    seeds = [b"state", bytes(payer.pubkey())]
    _, canonical = Pubkey.find_program_address(seeds, PROGRAM_ID)
    other = None
    for bump in range(canonical - 1, -1, -1):  # the next lower bump that is off the curve
        try:
            other = Pubkey.create_program_address([*seeds, bytes([bump])], PROGRAM_ID)
            break
        except Exception:  # on the curve; solders raises its PubkeyError, which it does not export
            continue
    assert other is not None
    result = create_state(chain, payer, 8, state=other)
    assert result.custom_error == runtime_error("WrongAddress")
    assert chain.account(other) is None


def test_transfer_sol_from_a_signer_and_from_a_pda(chain: Chain) -> None:
    sender, recipient = chain.keypair(), Keypair().pubkey()
    result = chain.send([ix("transfer_sol", struct.pack("<Q", SOL), w(sender.pubkey(), True), w(recipient), ro(SYSTEM_PROGRAM))],
                        payer=sender)
    assert result.ok, result.logs
    assert chain.lamports(recipient) == SOL

    wallet = pda(b"wallet")
    chain.svm.airdrop(wallet, 3 * SOL)
    result = chain.send([ix("transfer_sol", struct.pack("<Q", SOL // 2), w(wallet), w(recipient), ro(SYSTEM_PROGRAM))])
    assert result.ok, result.logs
    assert chain.lamports(recipient) == SOL * 3 // 2
    assert chain.lamports(wallet) == 3 * SOL - SOL // 2

    # A non-signer that is not the wallet PDA cannot be signed for.
    stranger = chain.keypair()
    result = chain.send([ix("transfer_sol", struct.pack("<Q", 1), w(stranger.pubkey()), w(recipient), ro(SYSTEM_PROGRAM))])
    assert result.custom_error == runtime_error("WrongAddress")


def token_account(chain: Chain, key: Pubkey) -> tuple[Pubkey, Pubkey, int, int]:
    """(mint, owner, amount, state) of a classic-layout token account."""
    account = chain.account(key)
    assert account is not None
    data = bytes(account.data)
    return Pubkey(data[0:32]), Pubkey(data[32:64]), struct.unpack_from("<Q", data, 64)[0], data[108]


@pytest.mark.parametrize("token_program", [TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID], ids=["token", "token-2022"])
def test_vault_initialize_mint_and_transfer_signed_by_a_pda(chain: Chain, token_program: Pubkey) -> None:
    payer, mint, user = chain.keypair(), Keypair(), Keypair().pubkey()
    rent = chain.svm.minimum_balance_for_rent_exemption(MINT_LEN)
    created = chain.send([
        create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=mint.pubkey(), lamports=rent, space=MINT_LEN, owner=token_program)),
        initialize_mint(InitializeMintParams(decimals=DECIMALS, program_id=token_program, mint=mint.pubkey(), mint_authority=AUTHORITY)),
        create_associated_token_account(payer.pubkey(), user, mint.pubkey(), token_program),
    ], [mint], payer=payer)
    assert created.ok, created.logs
    user_ata = get_associated_token_address(user, mint.pubkey(), token_program)
    vault = pda(b"vault", bytes(mint.pubkey()))

    result = chain.send([ix("init_vault", b"", w(payer.pubkey(), True), w(vault), ro(mint.pubkey()), ro(AUTHORITY),
                            ro(SYSTEM_PROGRAM), ro(token_program))], payer=payer)
    assert result.ok, result.logs
    account = chain.account(vault)
    assert account is not None and account.owner == token_program and len(account.data) == TOKEN_ACCOUNT_LEN
    assert token_account(chain, vault) == (mint.pubkey(), AUTHORITY, 0, 1)  # state 1: initialized

    result = chain.send([ix("mint_to", struct.pack("<Q", 1_000_000), w(mint.pubkey()), w(vault), ro(AUTHORITY), ro(token_program))])
    assert result.ok, result.logs
    assert "Program log: Instruction: MintTo" in result.logs
    assert token_account(chain, vault)[2] == 1_000_000

    def vault_transfer(amount: int, decimals: int | None) -> TxResult:
        option = b"\x00" if decimals is None else bytes([1, decimals])
        return chain.send([ix("vault_transfer", struct.pack("<Q", amount) + option, w(vault), ro(mint.pubkey()), w(user_ata),
                              ro(AUTHORITY), ro(token_program))])

    result = vault_transfer(250_000, None)
    assert result.ok, result.logs
    assert struct.unpack("<Q", result.return_data) == (750_000,)  # the vault as the caller sees it after the CPI
    result = vault_transfer(100_000, DECIMALS)
    assert result.ok, result.logs
    assert "Program log: Instruction: TransferChecked" in result.logs
    assert struct.unpack("<Q", result.return_data) == (650_000,)
    assert token_account(chain, vault)[2] == 650_000
    assert token_account(chain, user_ata)[1:3] == (user, 350_000)

    # The token program's own refusals surface as the transaction's error.
    assert vault_transfer(1, DECIMALS + 3).custom_error == MINT_DECIMALS_MISMATCH
    assert vault_transfer(650_001, None).custom_error == INSUFFICIENT_FUNDS
    assert token_account(chain, vault)[2] == 650_000


def resize(chain: Chain, payer: Keypair, account: Pubkey, *lengths: int) -> TxResult:
    args = struct.pack(f"<I{len(lengths)}I", len(lengths), *lengths)
    return chain.send([ix("resize", args, w(payer.pubkey(), True), w(account), ro(SYSTEM_PROGRAM))], payer=payer)


def test_resize_grows_and_shrinks_within_the_realloc_limit(chain: Chain) -> None:
    payer = chain.keypair()
    state = pda(b"state", bytes(payer.pubkey()))
    assert create_state(chain, payer, 100).ok
    account = chain.account(state)
    assert account is not None
    chain.svm.set_account(state, Account(account.lamports, b"\xab" * 100, PROGRAM_ID, False, 0))
    rent = chain.svm.minimum_balance_for_rent_exemption

    # Shrink then regrow in one instruction: the regrown bytes must read as zero, not as the
    # stale bytes still in the input buffer. The surplus rent is refunded to the payer.
    before = chain.lamports(payer.pubkey())
    result = resize(chain, payer, state, 8, 64)
    assert result.ok, result.logs
    account = chain.account(state)
    assert account is not None
    assert bytes(account.data) == b"\xab" * 8 + bytes(56)
    assert account.lamports == rent(64)
    assert chain.lamports(payer.pubkey()) - before == rent(100) - rent(64) - FEE

    # Growth up to +10 KiB over the length at the start of the instruction, paid by CPI.
    before = chain.lamports(payer.pubkey())
    top = 64 + MAX_PERMITTED_DATA_INCREASE
    result = resize(chain, payer, state, top)
    assert result.ok, result.logs
    account = chain.account(state)
    assert account is not None
    assert (len(account.data), account.lamports) == (top, rent(top))
    assert before - chain.lamports(payer.pubkey()) == rent(top) - rent(64) + FEE

    # One byte more is refused, also when reached in steps, and nothing changes.
    assert resize(chain, payer, state, top + MAX_PERMITTED_DATA_INCREASE + 1).custom_error == runtime_error("ReallocTooLarge")
    assert resize(chain, payer, state, top + 4096, top + MAX_PERMITTED_DATA_INCREASE + 1).custom_error == runtime_error("ReallocTooLarge")
    account = chain.account(state)
    assert account is not None and len(account.data) == top


def test_resize_refuses_the_same_account_twice(chain: Chain) -> None:
    payer = chain.keypair()
    result = resize(chain, payer, payer.pubkey(), 8)
    assert result.custom_error == runtime_error("DuplicateAccount")


def test_emit_clock_logs_an_event_and_returns_data(chain: Chain) -> None:
    chain.svm.set_clock(Clock(slot=4242, epoch_start_timestamp=1_700_000_000, epoch=9, leader_schedule_epoch=10,
                              unix_timestamp=1_700_001_234))
    result = chain.send([ix("emit_clock", struct.pack("<Q", 77))])
    assert result.ok, result.logs
    assert result.events() == [discriminator("event", "ClockRead") + struct.pack("<QQq", 77, 4242, 1_700_001_234)]
    assert result.return_data == struct.pack("<QqQ", 4242, 1_700_001_234, 9)


def test_close_empties_zeroes_and_disowns_the_account(chain: Chain) -> None:
    payer, destination = chain.keypair(), chain.keypair()
    state = pda(b"state", bytes(payer.pubkey()))
    assert create_state(chain, payer, 40).ok
    account = chain.account(state)
    assert account is not None
    chain.svm.set_account(state, Account(account.lamports, b"\x5a" * 40, PROGRAM_ID, False, 0))
    held = account.lamports

    # Closing into itself is refused by AccountInfo::close.
    assert chain.send([ix("close", b"", w(state), w(state))]).custom_error == runtime_error("DuplicateAccount")

    # Within the closing transaction the account is visibly dead: no lamports, no data, owned by
    # the System program, so a later instruction cannot use it as ours.
    before = chain.lamports(destination.pubkey())
    result = chain.send([ix("close", b"", w(state), w(destination.pubkey())), ix("inspect", b"", ro(state))])
    assert result.ok, result.logs
    assert result.return_data == bytes(SYSTEM_PROGRAM) + struct.pack("<QQ", 0, 0)
    assert chain.lamports(destination.pubkey()) - before == held
    assert chain.lamports(state) == 0

    # Revival in the same transaction fails: after close it is no longer our account.
    assert create_state(chain, payer, 40).ok
    revived = chain.send([ix("close", b"", w(state), w(destination.pubkey())),
                          ix("resize", struct.pack("<II", 1, 8), w(payer.pubkey(), True), w(state), ro(SYSTEM_PROGRAM))], payer=payer)
    assert revived.custom_error == runtime_error("WrongOwner")
    account = chain.account(state)
    assert account is not None and account.owner == PROGRAM_ID


def test_verify_pda_recreates_the_address_from_a_stored_bump(chain: Chain) -> None:
    owner = Keypair().pubkey()
    seeds = [b"state", bytes(owner)]
    state, bump = Pubkey.find_program_address(seeds, PROGRAM_ID)
    check = lambda address, b: chain.send([ix("verify_pda", bytes([b]), ro(owner), ro(address))])  # noqa: E731
    stored = check(state, bump)
    assert stored.ok, stored.logs
    assert check(state, (bump - 1) % 256).custom_error == runtime_error("WrongAddress")
    assert check(Keypair().pubkey(), bump).custom_error == runtime_error("WrongAddress")
    # One create_program_address instead of a bump search: cheaper than check_canonical.
    search = chain.send([ix("create_state", struct.pack("<Q", 8), w(chain.payer.pubkey(), True), w(pda(b"state", bytes(chain.payer.pubkey()))), ro(SYSTEM_PROGRAM))])
    assert search.ok and stored.cu < 2_000 < search.cu
