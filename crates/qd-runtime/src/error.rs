//! Program errors. Every failure is a custom code (Anchor convention: from 6000) with a name and
//! message in each program's IDL. Codes are partitioned so shared crates never collide:
//!   6000..6050  runtime: account and instruction validation (this file)
//!   6050..6100  oracle reader (qd-oracle-reader)
//!   6100..      the program's own errors

/// A failed instruction: the custom error code returned to the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramError(pub u32);

pub type ProgramResult<T = ()> = Result<T, ProgramError>;

/// Validation errors shared by every program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum RuntimeError {
    InvalidInstruction = 6000,
    InvalidInstructionData = 6001,
    NotEnoughAccounts = 6002,
    MissingSigner = 6003,
    NotWritable = 6004,
    WrongOwner = 6005,
    WrongDiscriminator = 6006,
    WrongAccountSize = 6007,
    WrongAddress = 6008,
    NonCanonicalBump = 6009,
    DuplicateAccount = 6010,
    AlreadyInitialized = 6011,
    ArithmeticOverflow = 6012,
    WrongProgram = 6013,
    Misaligned = 6014,
    InvalidSysvar = 6015,
    NotRentExempt = 6016,
    TooManyAccounts = 6017,
    ReallocTooLarge = 6018,
    InsufficientLamports = 6019,
    CpiFailed = 6020,
    TooManySeeds = 6021,
    AccountNotEmpty = 6022,
}

impl From<RuntimeError> for ProgramError {
    fn from(e: RuntimeError) -> Self {
        ProgramError(e as u32)
    }
}

impl From<crate::account::ViewError> for ProgramError {
    fn from(e: crate::account::ViewError) -> Self {
        use crate::account::ViewError;
        match e {
            ViewError::WrongSize => RuntimeError::WrongAccountSize,
            ViewError::WrongDiscriminator => RuntimeError::WrongDiscriminator,
            ViewError::Misaligned => RuntimeError::Misaligned,
        }
        .into()
    }
}
