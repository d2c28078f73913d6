//! Balance-entry bookkeeping of a CollateralBalances account: pure, host-tested.

use crate::error::CollateralError as E;
use qd_collateral_state::{BalanceEntry, CollateralBalances, MAX_BALANCES};
use qd_runtime::error::ProgramError;
use qd_runtime::pubkey::Pubkey;

/// `mint`'s entry, appended (balance 0) when the account holds none yet.
pub fn entry_or_new<'a>(b: &'a mut CollateralBalances, mint: &Pubkey) -> Result<&'a mut BalanceEntry, ProgramError> {
    let count = b.active().len();
    let index = match b.entries[..count].iter().position(|e| &e.mint == mint) {
        Some(i) => i,
        None if count < MAX_BALANCES => {
            b.entries[count] = BalanceEntry { mint: *mint, balance: 0 };
            b.count = count as u8 + 1;
            count
        }
        None => return Err(E::TooManyCollaterals.into()),
    };
    Ok(&mut b.entries[index])
}

/// Takes `amount` from `mint`'s entry; never below zero.
pub fn debit(b: &mut CollateralBalances, mint: &Pubkey, amount: u64) -> Result<i64, ProgramError> {
    let count = b.active().len();
    let entry = b.entries[..count].iter_mut().find(|e| &e.mint == mint).ok_or(E::InsufficientBalance)?;
    // amount <= i64::MAX (checked while decoding).
    if entry.balance < amount as i64 {
        return Err(E::InsufficientBalance.into());
    }
    entry.balance -= amount as i64;
    Ok(entry.balance)
}

/// Drops zero balances, keeping the order of the rest. Runs after the health check, whose
/// accounts follow the entries as they were when the client read them.
pub fn compact(b: &mut CollateralBalances) {
    let count = b.active().len();
    let mut kept = 0;
    for i in 0..count {
        if b.entries[i].balance != 0 {
            b.entries[kept] = b.entries[i];
            kept += 1;
        }
    }
    for e in &mut b.entries[kept..count] {
        *e = BalanceEntry { mint: [0; 32], balance: 0 };
    }
    b.count = kept as u8;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn balances(entries: &[(u8, i64)]) -> CollateralBalances {
        let mut b: CollateralBalances = unsafe { core::mem::zeroed() };
        for (i, (mint, balance)) in entries.iter().enumerate() {
            b.entries[i] = BalanceEntry { mint: [*mint; 32], balance: *balance };
        }
        b.count = entries.len() as u8;
        b
    }

    fn held(b: &CollateralBalances) -> Vec<(u8, i64)> {
        b.active().iter().map(|e| (e.mint[0], e.balance)).collect()
    }

    #[test]
    fn entries_are_added_in_order_up_to_the_limit() {
        let mut b = balances(&[]);
        for m in 1..=MAX_BALANCES as u8 {
            entry_or_new(&mut b, &[m; 32]).unwrap().balance = m as i64;
        }
        assert_eq!(b.count as usize, MAX_BALANCES);
        entry_or_new(&mut b, &[3; 32]).unwrap().balance += 10;
        assert_eq!(b.entries[2].balance, 13);
        assert_eq!(entry_or_new(&mut b, &[99; 32]).unwrap_err(), E::TooManyCollaterals.into());
    }

    #[test]
    fn debit_never_goes_below_zero() {
        let mut b = balances(&[(1, 10), (2, -5)]);
        assert_eq!(debit(&mut b, &[1; 32], 4).unwrap(), 6);
        assert_eq!(debit(&mut b, &[1; 32], 7).unwrap_err(), E::InsufficientBalance.into());
        assert_eq!(debit(&mut b, &[2; 32], 1).unwrap_err(), E::InsufficientBalance.into());
        assert_eq!(debit(&mut b, &[9; 32], 1).unwrap_err(), E::InsufficientBalance.into());
        assert_eq!(held(&b), vec![(1, 6), (2, -5)]);
    }

    #[test]
    fn compact_drops_zeros_and_keeps_order() {
        let mut b = balances(&[(1, 0), (2, 5), (3, 0), (4, -2), (5, 0)]);
        compact(&mut b);
        assert_eq!(held(&b), vec![(2, 5), (4, -2)]);
        assert!(b.entries[2..].iter().all(|e| e.mint == [0; 32] && e.balance == 0));
    }
}
