use crate::Throttle;
use qd_access::{authorize, load_config, Action, Request};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::borsh::{self, Writer};
use qd_runtime::error::{ProgramResult, RuntimeError};
use qd_runtime::hash::discriminator;
use qd_runtime::log::set_return_data;
use qd_runtime::pubkey::Pubkey;
use qd_runtime::sysvar::Clock;
use qd_runtime::validate;

const ORDER_ACTION: [u8; 8] = discriminator("global", "order_action");

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    if program_id != &crate::ID {
        return Err(RuntimeError::WrongProgram.into());
    }
    let (tag, mut r) = borsh::instruction(data)?;
    if tag != ORDER_ACTION {
        return Err(RuntimeError::InvalidInstruction.into());
    }
    let (action, market, notional) = (Action::from_u8(r.u8()?)?, r.u16()?, r.u64()?);
    r.finish()?;
    let [signer, config, margin_info, throttle_info] = validate::accounts::<4>(accounts)?;
    let clock = Clock::get()?;
    let config = load_config(config)?;
    let margin = qd_core_state::load_margin(margin_info)?;
    let throttle = throttle_info.load_mut::<Throttle>(&crate::ID)?;
    if &throttle.margin_account != margin_info.key() {
        return Err(RuntimeError::WrongAddress.into());
    }
    let actor = authorize(config, margin, signer, accounts.get(4), &Request::new(action, market, notional), clock.unix_timestamp)?;
    if action.session_scope().is_some() {
        throttle.bucket.consume(&config.rate_limit, clock.slot)?;
    }
    let mut out = Writer::<9>::new();
    out.u8(actor as u8).u64(throttle.bucket.tokens_milli);
    set_return_data(out.finish()?);
    Ok(())
}
