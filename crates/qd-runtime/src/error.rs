//! Program errors. Every failure is a custom code (Anchor convention: from 6000) with a name and
//! message in each program's IDL. Codes are partitioned so shared crates never collide:
//!   6000..6050  runtime: account and instruction validation (this file)
//!   6050..6100  oracle reader (qd-oracle-reader)
//!   6100..6200  the program's own errors
//!   6200..6250  access checks (qd-access: pause, freeze, roles, sessions, rate limit)
//!   6250..6300  health engine (qd-health)
//!   6300..6350  health-account reads: collateral and perps (qd-collateral-state)
//!   6350..6400  margin-account reads (qd-core-state): one `NotOwner` for every program
//! A name has one code in every program; each enum is declared once with `errors!`.

/// A failed instruction: the custom error code returned to the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramError(pub u32);

pub type ProgramResult<T = ()> = Result<T, ProgramError>;

crate::errors! {
    /// Validation errors shared by every program.
    pub enum RuntimeError {
        /// Unknown instruction discriminator
        InvalidInstruction = 6000,
        /// Instruction arguments are malformed
        InvalidInstructionData = 6001,
        /// Not enough accounts for this instruction
        NotEnoughAccounts = 6002,
        /// A required signature is missing
        MissingSigner = 6003,
        /// An account that must be writable is read-only
        NotWritable = 6004,
        /// Account is owned by the wrong program
        WrongOwner = 6005,
        /// Account is not of the expected type or is not initialized
        WrongDiscriminator = 6006,
        /// Account data has the wrong size for its type
        WrongAccountSize = 6007,
        /// Account address does not match the expected address or PDA
        WrongAddress = 6008,
        /// The same account was passed twice where distinct accounts are required
        DuplicateAccount = 6009,
        /// Account is already initialized
        AlreadyInitialized = 6010,
        /// Arithmetic overflow
        ArithmeticOverflow = 6011,
        /// Program account is not the expected program
        WrongProgram = 6012,
        /// Account data is misaligned for its type
        Misaligned = 6013,
        /// Sysvar could not be read
        InvalidSysvar = 6014,
        /// Too many accounts for this instruction
        TooManyAccounts = 6015,
        /// Account growth exceeds the per-instruction realloc limit
        ReallocTooLarge = 6016,
        /// Not enough lamports
        InsufficientLamports = 6017,
        /// Cross-program invocation failed
        CpiFailed = 6018,
        /// Too many PDA seeds
        TooManySeeds = 6019,
        /// Signer is not the program's upgrade authority
        NotUpgradeAuthority = 6020,
        /// Privileged instructions refuse transactions that advance a durable nonce
        DurableNonce = 6021,
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
