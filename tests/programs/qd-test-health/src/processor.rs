//! Decodes the portfolio, runs the engine, encodes the outputs (layout in the crate docs).

use qd_health::{CollateralInput, Health, HealthError, PerpInput, PerpMarketParams};
use qd_runtime::account_info::AccountInfo;
use qd_runtime::borsh::{self, Reader, Writer};
use qd_runtime::error::{ProgramError, ProgramResult, RuntimeError};
use qd_runtime::hash::discriminator;
use qd_runtime::log::set_return_data;
use qd_runtime::pubkey::Pubkey;

const EVALUATE: [u8; 8] = discriminator("global", "evaluate");
/// Entries of each kind an instruction may carry.
const MAX_ENTRIES: usize = 8;
/// Flag bit: compute the liquidation prices too.
const LIQUIDATION_PRICES: u8 = 1;

/// 1 + 3 x 16 + 2 x 17 + 7 x 16 + 1 + 8 x 9 bytes at most.
type Out = Writer<268>;

fn count(r: &mut Reader) -> Result<usize, ProgramError> {
    let n = r.u8()? as usize;
    if n > MAX_ENTRIES {
        return Err(RuntimeError::InvalidInstructionData.into());
    }
    Ok(n)
}

/// Little-endian fields of one fixed-size entry, read at constant offsets.
struct Fields<'a, const N: usize>(&'a [u8; N]);

impl<const N: usize> Fields<'_, N> {
    fn i64(&self, at: usize) -> i64 {
        i64::from_le_bytes(self.array(at))
    }

    fn u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.array(at))
    }

    fn u16(&self, at: usize) -> u16 {
        u16::from_le_bytes(self.array(at))
    }

    fn array<const M: usize>(&self, at: usize) -> [u8; M] {
        let mut out = [0; M];
        out.copy_from_slice(&self.0[at..at + M]);
        out
    }
}

fn entry<'a, const N: usize>(r: &mut Reader<'a>) -> Result<Fields<'a, N>, ProgramError> {
    let bytes: &[u8; N] = r.bytes(N)?.try_into().map_err(|_| RuntimeError::InvalidInstructionData)?;
    Ok(Fields(bytes))
}

fn collateral(r: &mut Reader) -> Result<CollateralInput, ProgramError> {
    let f = entry::<21>(r)?;
    Ok(CollateralInput { balance: f.i64(0), decimals: f.0[8], price: f.i64(9), init_weight_bps: f.u16(17), maint_weight_bps: f.u16(19) })
}

fn perp(r: &mut Reader) -> Result<PerpInput, ProgramError> {
    let f = entry::<88>(r)?;
    Ok(PerpInput {
        base: f.i64(0),
        quote: f.i64(8),
        funding_snapshot: f.i64(16),
        cumulative_funding: f.i64(24),
        bids_base: f.i64(32),
        bids_quote: f.i64(40),
        asks_base: f.i64(48),
        asks_quote: f.i64(56),
        price: f.i64(64),
        market: PerpMarketParams {
            init_margin_bps: f.u16(72),
            maint_margin_bps: f.u16(74),
            size_margin_factor: f.u64(76),
            upnl_init_weight_bps: f.u16(84),
            upnl_maint_weight_bps: f.u16(86),
        },
    })
}

fn i128(out: &mut Out, v: i128) {
    out.bytes(&v.to_le_bytes());
}

fn option_i128(out: &mut Out, v: Option<i128>) {
    out.bool(v.is_some());
    i128(out, v.unwrap_or(0));
}

fn evaluate(collateral: &[CollateralInput], perps: &[PerpInput], liquidation: bool, out: &mut Out) -> Result<(), HealthError> {
    let mut health = Health::new();
    for c in collateral {
        health.add_collateral(c)?;
    }
    for p in perps {
        health.add_perp(p)?;
    }
    out.u8(1);
    i128(out, health.init_health()?);
    i128(out, health.maint_health()?);
    i128(out, health.free_collateral()?);
    option_i128(out, health.health_factor_bps()?);
    option_i128(out, health.margin_ratio_bps()?);
    for sum in [
        health.assets_init(),
        health.liabilities_init(),
        health.assets_maint(),
        health.liabilities_maint(),
        health.equity(),
        health.notional(),
        health.worst_notional(),
    ] {
        i128(out, sum);
    }
    if liquidation {
        out.u8(perps.len() as u8);
        for p in perps {
            let price = health.liquidation_price(p)?;
            out.bool(price.is_some()).i64(price.unwrap_or(0));
        }
    } else {
        out.u8(0);
    }
    Ok(())
}

pub fn process(program_id: &Pubkey, _accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    if program_id != &crate::ID {
        return Err(RuntimeError::WrongProgram.into());
    }
    let (tag, mut r) = borsh::instruction(data)?;
    if tag != EVALUATE {
        return Err(RuntimeError::InvalidInstruction.into());
    }
    let mut collaterals = [CollateralInput::default(); MAX_ENTRIES];
    let n = count(&mut r)?;
    for c in &mut collaterals[..n] {
        *c = collateral(&mut r)?;
    }
    let mut perps = [PerpInput::default(); MAX_ENTRIES];
    let m = count(&mut r)?;
    for p in &mut perps[..m] {
        *p = perp(&mut r)?;
    }
    let flags = r.u8()?;
    r.finish()?;
    let mut out = Out::new();
    if let Err(e) = evaluate(&collaterals[..n], &perps[..m], flags & LIQUIDATION_PRICES != 0, &mut out) {
        out = Out::new();
        out.u8(0).u32(e as u32);
    }
    set_return_data(out.finish()?);
    Ok(())
}
