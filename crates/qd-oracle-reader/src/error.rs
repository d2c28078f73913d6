//! Oracle reader errors: codes 6050..6100 (the range qd-runtime reserves for this crate).
//!
//! Each variant's doc comment is its IDL message; `errors.json` next to Cargo.toml lists the same
//! (code, name, msg) triples for the IDL writer, and a test holds the two equal.

use qd_runtime::error::ProgramError;

/// Why an oracle account could not be read or its price was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum OracleError {
    /// Oracle account is not owned by the QuantDesk oracle, the Pyth oracle or the Pyth receiver
    WrongOracleOwner = 6050,
    /// Oracle account data does not start with the magic number or discriminator of its owner's price account
    UnknownOracleFormat = 6051,
    /// Oracle account data is too short for its format
    OracleAccountTooShort = 6052,
    /// Oracle account has an unsupported layout version
    BadOracleVersion = 6053,
    /// Pyth account is not a price account
    WrongOracleAccountType = 6054,
    /// Oracle account holds a value outside its field's domain
    MalformedOracleData = 6055,
    /// Oracle price exponent is outside -18..=6
    ExponentOutOfRange = 6056,
    /// Oracle price does not fit in 6 decimals
    PriceOverflow = 6057,
    /// Oracle price is older than the allowed number of slots
    StaleOracleSlots = 6058,
    /// Oracle price is older than the allowed number of seconds
    StaleOracleTime = 6059,
    /// Oracle publish time or slot is ahead of the cluster clock
    OracleFromFuture = 6060,
    /// Oracle confidence interval is wider than allowed
    ConfidenceTooWide = 6061,
    /// Oracle price deviates from its EMA by more than allowed
    EmaDeviation = 6062,
    /// Oracle price is not in trading status
    OracleNotTrading = 6063,
    /// Oracle price is zero or negative
    NonPositivePrice = 6064,
    /// Oracle guard configuration is invalid (zero staleness or confidence limit, or out of range)
    InvalidGuardConfig = 6065,
}

impl From<OracleError> for ProgramError {
    fn from(e: OracleError) -> Self {
        ProgramError(e as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant, spelled out so adding one without extending this list fails `name`'s
    /// exhaustive match below.
    const ALL: [OracleError; 16] = [
        OracleError::WrongOracleOwner,
        OracleError::UnknownOracleFormat,
        OracleError::OracleAccountTooShort,
        OracleError::BadOracleVersion,
        OracleError::WrongOracleAccountType,
        OracleError::MalformedOracleData,
        OracleError::ExponentOutOfRange,
        OracleError::PriceOverflow,
        OracleError::StaleOracleSlots,
        OracleError::StaleOracleTime,
        OracleError::OracleFromFuture,
        OracleError::ConfidenceTooWide,
        OracleError::EmaDeviation,
        OracleError::OracleNotTrading,
        OracleError::NonPositivePrice,
        OracleError::InvalidGuardConfig,
    ];

    fn name(e: OracleError) -> &'static str {
        use OracleError::*;
        match e {
            WrongOracleOwner => "WrongOracleOwner",
            UnknownOracleFormat => "UnknownOracleFormat",
            OracleAccountTooShort => "OracleAccountTooShort",
            BadOracleVersion => "BadOracleVersion",
            WrongOracleAccountType => "WrongOracleAccountType",
            MalformedOracleData => "MalformedOracleData",
            ExponentOutOfRange => "ExponentOutOfRange",
            PriceOverflow => "PriceOverflow",
            StaleOracleSlots => "StaleOracleSlots",
            StaleOracleTime => "StaleOracleTime",
            OracleFromFuture => "OracleFromFuture",
            ConfidenceTooWide => "ConfidenceTooWide",
            EmaDeviation => "EmaDeviation",
            OracleNotTrading => "OracleNotTrading",
            NonPositivePrice => "NonPositivePrice",
            InvalidGuardConfig => "InvalidGuardConfig",
        }
    }

    /// (code, name, msg) from this file's enum: each `/// msg` line followed by `Name = code,`.
    fn from_source() -> Vec<(u32, String, String)> {
        let src = include_str!("error.rs");
        let body = src.split("pub enum OracleError {").nth(1).unwrap().split("\n}").next().unwrap();
        let lines: Vec<&str> = body.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        lines
            .chunks(2)
            .map(|pair| {
                let msg = pair[0].strip_prefix("/// ").unwrap();
                let (name, code) = pair[1].trim_end_matches(',').split_once(" = ").unwrap();
                (code.parse().unwrap(), name.to_string(), msg.to_string())
            })
            .collect()
    }

    /// (code, name, msg) from errors.json, one object per line:
    /// `{"code": 6050, "name": "X", "msg": "..."}`.
    fn from_json() -> Vec<(u32, String, String)> {
        let json = include_str!("../errors.json");
        json.lines()
            .map(str::trim)
            .filter(|l| l.starts_with('{'))
            .map(|l| {
                let field = |key: &str| {
                    let rest = l.split(&format!("\"{key}\": ")).nth(1).unwrap();
                    if let Some(s) = rest.strip_prefix('"') {
                        s.split('"').next().unwrap().to_string()
                    } else {
                        rest.split([',', '}']).next().unwrap().to_string()
                    }
                };
                (field("code").parse().unwrap(), field("name"), field("msg"))
            })
            .collect()
    }

    #[test]
    fn errors_json_matches_enum() {
        let src = from_source();
        assert_eq!(src.len(), ALL.len());
        assert_eq!(from_json(), src);
        for (e, (code, n, _)) in ALL.iter().zip(&src) {
            assert_eq!(*e as u32, *code);
            assert_eq!(name(*e), n);
        }
    }

    #[test]
    fn codes_stay_in_reserved_range_and_convert() {
        for e in ALL {
            let code = e as u32;
            assert!((6050..6100).contains(&code), "{code}");
            assert_eq!(ProgramError::from(e), ProgramError(code));
        }
    }
}
