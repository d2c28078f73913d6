"""The Bank in-process: slots, blockhash window, admission, history, fees, owner index."""
from __future__ import annotations

import pytest
from quantdesk.clients.token import (
    MINT_LEN,
    associated_address,
    create_associated_account,
    create_mint,
    mint_to_instruction,
)
from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.compute_budget import set_compute_unit_price
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import AssignParams, TransferParams, assign, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_status import TransactionErrorFieldless, TransactionErrorInstructionError

from quantdesk.localnet.bank import (
    ALT_PROGRAM_ID,
    MAX_PROCESSING_AGE,
    Bank,
    SanitizeError,
    TransactionRejected,
    message_fee,
)
from quantdesk.localnet.codec import SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID
from quantdesk.world import SOL, memo_ix, signed, transfer_checked_ix, transfer_tx


@pytest.fixture
def bank() -> Bank:
    return Bank(start_unix_timestamp=1_700_000_000)


def funded(bank: Bank, lamports: int = 10 * SOL) -> Keypair:
    kp = Keypair()
    bank.airdrop(kp.pubkey(), lamports)
    return kp


def test_slots_advance_clock_sysvar_and_blockhash(bank: Bank) -> None:
    first = bank.latest_blockhash
    info = bank.advance_slot()
    assert (info.slot, info.parent, bank.block_height) == (1, 0, 1)
    assert bank.latest_blockhash != first
    clock = bank.svm.get_clock()
    assert clock.slot == 1
    assert clock.unix_timestamp == 1_700_000_000  # 400 ms later: same whole second
    bank.warp_to_slot(101)
    clock = bank.svm.get_clock()
    assert (clock.slot, bank.block_height, bank.parent_slot) == (101, 2, 1)
    assert clock.unix_timestamp == 1_700_000_000 + 101 * 400 // 1000
    bank.set_unix_timestamp(1_800_000_000)
    assert bank.svm.get_clock().unix_timestamp == 1_800_000_000
    with pytest.raises(ValueError):
        bank.warp_to_slot(101)


def test_blockhash_valid_for_150_blocks(bank: Bank) -> None:
    payer = funded(bank)
    old = bank.latest_blockhash
    assert bank.last_valid_block_height(old) == bank.block_height + MAX_PROCESSING_AGE
    for _ in range(MAX_PROCESSING_AGE):
        bank.advance_slot()
    assert bank.is_blockhash_valid(old)
    record = bank.process(bank.resolve(transfer_tx(payer, Keypair().pubkey(), SOL, old)))
    assert record.err is None
    bank.advance_slot()
    assert not bank.is_blockhash_valid(old)
    with pytest.raises(TransactionRejected) as info:
        bank.process(bank.resolve(transfer_tx(payer, Keypair().pubkey(), 2 * SOL, old)))
    assert info.value.err == TransactionErrorFieldless.BlockhashNotFound


def test_duplicate_is_already_processed(bank: Bank) -> None:
    payer = funded(bank)
    tx = transfer_tx(payer, Keypair().pubkey(), SOL, bank.latest_blockhash)
    bank.process(bank.resolve(tx))
    with pytest.raises(TransactionRejected) as info:
        bank.process(bank.resolve(tx))
    assert info.value.err == TransactionErrorFieldless.AlreadyProcessed


def test_success_record_has_fee_and_balances(bank: Bank) -> None:
    payer, to = funded(bank), Keypair().pubkey()
    tx = transfer_tx(payer, to, SOL, bank.latest_blockhash, cu_price=1_000_000, cu_limit=10_000)
    record = bank.process(bank.resolve(tx))
    # 5000 per signature + 10_000 CU at 1 lamport per CU
    assert record.fee == message_fee(tx.message) == 5_000 + 10_000
    assert record.pre_balances[:2] == [10 * SOL, 0]
    assert record.post_balances[:2] == [10 * SOL - SOL - record.fee, SOL]
    assert record.slot == bank.slot and record.block_time == bank.unix_timestamp
    assert bank.record(record.signature) is record
    assert bank.get_account(to).lamports == SOL
    assert bank.prioritization_fees([to])[-1] == (bank.slot, 1_000_000)
    assert bank.prioritization_fees([Keypair().pubkey()])[-1] == (bank.slot, 0)


def test_prioritization_fees_are_the_block_minimum_raised_by_the_accounts_minimums(bank: Bank) -> None:
    # agave's prioritization fee cache: per slot max(lowest price landed, max over the asked
    # accounts of the lowest price among the slot's transactions writing each).
    payer, a, b = funded(bank), Keypair().pubkey(), Keypair().pubkey()
    bank.advance_slot()
    for to, price in ((a, 300), (a, 700), (b, 100), (b, 900)):
        bank.process(bank.resolve(transfer_tx(payer, to, SOL // 100, bank.latest_blockhash, cu_price=price, cu_limit=1_000)))
    slot = bank.slot
    bank.advance_slot()
    fees = dict(bank.prioritization_fees([a, b]))
    assert fees[slot] == 300  # a's minimum 300 > b's 100 (the block's minimum)
    assert dict(bank.prioritization_fees([b]))[slot] == 100
    assert dict(bank.prioritization_fees([]))[slot] == 100  # no accounts: the block's minimum
    assert dict(bank.prioritization_fees([Keypair().pubkey()]))[slot] == 100  # an account no transaction wrote
    assert fees[bank.slot] == 0  # an empty slot


def test_default_compute_limit_fee_matches_runtime(bank: Bank) -> None:
    payer = funded(bank)
    # No explicit limit: memo (not a builtin) 200k CU + compute budget (builtin) 3k CU.
    tx = signed(payer, [set_compute_unit_price(1_000_000), memo_ix("hi", payer.pubkey())],
                bank.latest_blockhash)
    record = bank.process(bank.resolve(tx))
    assert record.fee == message_fee(tx.message) == 5_000 + 203_000
    assert record.post_balances[0] == record.pre_balances[0] - record.fee
    assert bank.get_account(payer.pubkey()).lamports == record.post_balances[0]


def test_payer_must_cover_priority_fee(bank: Bank) -> None:
    payer = funded(bank, 100_000)
    tx = transfer_tx(payer, Keypair().pubkey(), 1, bank.latest_blockhash,
                     cu_price=10_000_000, cu_limit=100_000)
    with pytest.raises(TransactionRejected) as info:
        bank.process(bank.resolve(tx))
    assert info.value.err == TransactionErrorFieldless.InsufficientFundsForFee


def test_failed_instruction_is_committed_with_fee(bank: Bank) -> None:
    payer = funded(bank, SOL)
    record = bank.process(bank.resolve(transfer_tx(payer, Keypair().pubkey(), 5 * SOL,
                                                   bank.latest_blockhash)))
    assert isinstance(record.err, TransactionErrorInstructionError)
    assert record.fee == 5_000
    assert record.post_balances[0] == SOL - 5_000
    assert [key for key, _ in record.written] == [payer.pubkey()]
    assert any("insufficient lamports" in line for line in record.logs)


def test_unfunded_payer_is_rejected_not_recorded(bank: Bank) -> None:
    payer = Keypair()
    tx = transfer_tx(payer, Keypair().pubkey(), 1, bank.latest_blockhash)
    with pytest.raises(TransactionRejected):
        bank.process(bank.resolve(tx))
    assert bank.record(tx.signatures[0]) is None


def test_signature_check(bank: Bank) -> None:
    payer = funded(bank)
    tx = transfer_tx(payer, Keypair().pubkey(), 1, bank.latest_blockhash)
    assert bank.signatures_valid(tx)
    forged = VersionedTransaction.populate(tx.message, [Keypair().sign_message(b"x")])
    assert not bank.signatures_valid(forged)


def test_owner_index_follows_assign_and_close(bank: Bank) -> None:
    owner = Pubkey.new_unique()
    payer, acct = funded(bank), funded(bank, SOL)
    bank.process(bank.resolve(signed(
        acct, [assign(AssignParams(pubkey=acct.pubkey(), owner=owner))],
        bank.latest_blockhash)))
    assert [k for k, _ in bank.program_accounts(owner)] == [acct.pubkey()]
    assert acct.pubkey() not in [k for k, _ in bank.program_accounts(SYSTEM_PROGRAM_ID)]
    bank.set_account(acct.pubkey(), Account(0, b"", owner))  # deleted
    assert bank.program_accounts(owner) == []
    bank.set_account(acct.pubkey(), Account(5, b"\x01\x02", owner))
    assert bank.program_accounts(owner)[0][1].data == b"\x01\x02"
    assert payer.pubkey() in [k for k, _ in bank.program_accounts(SYSTEM_PROGRAM_ID)]


def test_token_balances_recorded(bank: Bank) -> None:
    payer, mint, bob = funded(bank), Keypair(), Keypair().pubkey()
    rent = bank.svm.minimum_balance_for_rent_exemption(MINT_LEN)
    bank.process(bank.resolve(signed(
        payer, create_mint(payer.pubkey(), mint.pubkey(), payer.pubkey(), 6, rent),
        bank.latest_blockhash, (mint,))))
    src, dst = associated_address(payer.pubkey(), mint.pubkey()), associated_address(bob, mint.pubkey())
    bank.process(bank.resolve(signed(payer, [
        create_associated_account(payer.pubkey(), payer.pubkey(), mint.pubkey()),
        create_associated_account(payer.pubkey(), bob, mint.pubkey()),
        mint_to_instruction(mint.pubkey(), src, payer.pubkey(), 5_000_000),
    ], bank.latest_blockhash)))
    record = bank.process(bank.resolve(signed(payer, [
        transfer_checked_ix(src, mint.pubkey(), dst, payer.pubkey(), 1_500_000, 6),
    ], bank.latest_blockhash)))
    post = {b["owner"]: b["uiTokenAmount"]["uiAmountString"] for b in record.post_token_balances}
    pre = {b["owner"]: b["uiTokenAmount"]["amount"] for b in record.pre_token_balances}
    assert post == {str(payer.pubkey()): "3.5", str(bob): "1.5"}
    assert pre == {str(payer.pubkey()): "5000000", str(bob): "0"}
    assert {k for k, _ in bank.program_accounts(TOKEN_PROGRAM_ID)} >= {src, dst, mint.pubkey()}


def test_v0_lookup_table_resolution(bank: Bank) -> None:
    payer = funded(bank)
    table_key, target = Pubkey.new_unique(), Keypair().pubkey()
    bank.set_account(table_key, Account(SOL, _alt_data([target]), ALT_PROGRAM_ID))
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=target, lamports=SOL))
    message = MessageV0.try_compile(payer.pubkey(), [ix],
                                    [AddressLookupTableAccount(table_key, [target])],
                                    bank.latest_blockhash)
    tx = VersionedTransaction(message, [payer])
    with pytest.raises(SanitizeError, match="lookup uses an invalid index"):
        bank.resolve(tx)  # the table was "extended" in slot 0: usable from slot 1 on
    bank.advance_slot()
    resolved = bank.resolve(tx)
    assert resolved.loaded_writable == [target] and resolved.writable[-1]
    record = bank.process(resolved)
    assert record.err is None and bank.get_account(target).lamports == SOL
    bank.set_account(table_key, Account(0, b"", ALT_PROGRAM_ID))
    with pytest.raises(SanitizeError, match="address table account that doesn't exist"):
        bank.resolve(tx)


def _alt_data(addresses: list[Pubkey]) -> bytes:
    # ProgramState::LookupTable (u32 = 1), deactivation_slot = u64::MAX, last_extended_slot = 0,
    # last_extended_slot_start_index = 0, authority: None, padding, then the addresses.
    header = (1).to_bytes(4, "little") + (2**64 - 1).to_bytes(8, "little") + bytes(8) + bytes(1)
    header += bytes(1) + bytes(2)
    header = header.ljust(56, b"\0")
    return header + b"".join(bytes(a) for a in addresses)


def test_reset_returns_to_genesis(bank: Bank) -> None:
    payer = funded(bank)
    bank.advance_slot()
    bank.reset()
    assert (bank.slot, bank.block_height) == (0, 0)
    assert bank.get_account(payer.pubkey()) is None
