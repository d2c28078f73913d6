//! Declarations written once: each macro turns one declaration into the Rust the program runs and
//! (on the host) the IDL JSON clients read, so the two cannot drift.
//!
//! - [`errors!`]: an error enum: codes, names, messages, the conversion into `ProgramError`, the
//!   name lookup the entrypoint logs on failure, the IDL `errors`.
//! - [`layout!`] / [`account!`]: a zero-copy `#[repr(C)]` layout with compile-time size and
//!   no-implicit-padding assertions; `account!` adds the Anchor discriminator.
//! - [`borsh!`]: an argument or event field struct with borsh decoding and encoding.
//! - [`borsh_enum!`]: a borsh enum of struct variants (decoding and its IDL enum type).
//! - [`events!`]: Anchor events: struct, discriminator, encoder, `emit`.
//! - [`accounts!`]: an instruction's account list: names, signer and writable flags, distinct
//!   writable accounts, checked in `parse`.
//! - [`instructions!`]: a program's instructions: discriminators, argument decoding, the IDL.
//! - [`program!`]: the entrypoint, the error names it logs, and the program's whole IDL.
//!
//! Field and argument types are single tokens (`u64`, `Pubkey`, `[u8; 16]`, `Order`) or one
//! generic (`Option<i64>`, `BoundedVec<Pubkey, 8>`): `Pubkey` is written by name, so the IDL
//! tells a key (`publicKey`) from a 32-byte array.

/// Whether `flags` (an `accounts!` entry's flag names) holds `flag`.
#[doc(hidden)]
pub const fn has_flag(flags: &[&str], flag: &str) -> bool {
    let mut i = 0;
    while i < flags.len() {
        let (a, b) = (flags[i].as_bytes(), flag.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// The IDL type of a declared field type (see the module docs for the accepted forms).
#[doc(hidden)]
#[macro_export]
macro_rules! idl_ty {
    (Pubkey) => {
        $crate::idl::Json::str("publicKey")
    };
    ([$e:tt; $n:expr]) => {
        $crate::idl::array($crate::idl_ty!($e), $n)
    };
    ($t:tt < $g:tt $(, $n:tt)? >) => {
        <$t<$g $(, $n)?> as $crate::idl::IdlWrap>::wrap($crate::idl_ty!($g))
    };
    ($t:ty) => {
        <$t as $crate::idl::IdlType>::idl()
    };
}

/// Declares an error enum once: `/// message` then `Name = code` per variant.
#[macro_export]
macro_rules! errors {
    ($(#[$m:meta])* $v:vis enum $name:ident { $($(#[doc = $msg:literal])+ $variant:ident = $code:literal,)+ }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u32)]
        $v enum $name {
            $($(#[doc = $msg])+ $variant = $code,)+
        }

        impl $name {
            pub const fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($variant),)+
                }
            }
            pub const fn message(self) -> &'static str {
                match self {
                    $(Self::$variant => concat!($($msg),+).trim_ascii(),)+
                }
            }
            /// Name and message of `code`, if it is one of these errors.
            pub const fn describe(code: u32) -> Option<(&'static str, &'static str)> {
                match code {
                    $($code => Some((Self::$variant.name(), Self::$variant.message())),)+
                    _ => None,
                }
            }
            #[cfg(not(target_arch = "bpf"))]
            pub fn idl() -> Vec<$crate::idl::Json> {
                use $crate::idl::Json;
                vec![$(Json::obj([("code", Json::Num($code)), ("name", Json::str(stringify!($variant))), ("msg", Json::str(Self::$variant.message()))]),)+]
            }
        }

        impl From<$name> for $crate::error::ProgramError {
            #[inline(always)]
            fn from(e: $name) -> Self {
                $crate::error::ProgramError(e as u32)
            }
        }
    };
}

/// The trait impls shared by `layout!`, `account!` and `borsh!` structs: borsh decoding (with
/// the optional check) and encoding, and the IDL type.
#[doc(hidden)]
#[macro_export]
macro_rules! __struct_impls {
    ($name:ident { $($(#[doc = $fd:literal])* $f:ident : $t:tt $(<$($g:tt),+>)?),* } $(validate = $check:path)?) => {
        impl $crate::borsh::BorshRead for $name {
            fn read(r: &mut $crate::borsh::Reader) -> Result<Self, $crate::error::ProgramError> {
                let value = $crate::__read_fields!($name, r { $($f: $t $(<$($g),+>)?),* });
                $($check(&value)?;)?
                Ok(value)
            }
        }

        impl $crate::borsh::BorshWrite for $name {
            const MAX_SIZE: usize = 0 $(+ <$t $(<$($g),+>)? as $crate::borsh::BorshWrite>::MAX_SIZE)*;
            #[inline(always)]
            fn write<const N: usize>(&self, w: &mut $crate::borsh::Writer<N>) {
                $($crate::borsh::BorshWrite::write(&self.$f, w);)*
            }
        }

        #[cfg(not(target_arch = "bpf"))]
        impl $crate::idl::IdlType for $name {
            fn idl() -> $crate::idl::Json {
                $crate::idl::Json::obj([("defined", $crate::idl::Json::str(stringify!($name)))])
            }
            fn idl_defs(defs: &mut $crate::idl::Defs) {
                if defs.has(stringify!($name)) {
                    return;
                }
                let fields = vec![$($crate::idl::field(stringify!($f), $crate::idl_ty!($t $(<$($g),+>)?), &[$($fd),*])),*];
                defs.0.push($crate::idl::struct_def(stringify!($name), fields));
                $(<$t $(<$($g),+>)? as $crate::idl::IdlType>::idl_defs(defs);)*
            }
        }
    };
}

/// Reads a declared struct's fields in order.
#[doc(hidden)]
#[macro_export]
macro_rules! __read_fields {
    ($name:ident, $r:ident { $($f:ident : $t:tt $(<$($g:tt),+>)?),* }) => {
        $name { $($f: <$t $(<$($g),+>)? as $crate::borsh::BorshRead>::read($r)?),* }
    };
}

/// A zero-copy `#[repr(C)]` layout of `size` bytes: `pub struct Name[size] { fields }`. Asserts
/// at compile time that the fields are contiguous (no implicit padding, explicit `_pad` fields)
/// and fill exactly `size` bytes. With `validate = path`, decoding it as an argument also runs
/// `path(&value)`.
#[macro_export]
macro_rules! layout {
    ($(#[$m:meta])* $v:vis struct $name:ident[$size:expr] { $($(#[doc = $fd:literal])* $fv:vis $f:ident : $t:tt $(<$($g:tt),+>)?),* $(,)? } $(validate = $check:path)?) => {
        $(#[$m])*
        #[repr(C)]
        $v struct $name {
            $($(#[doc = $fd])* $fv $f: $t $(<$($g),+>)?),*
        }

        // SAFETY: repr(C), fields of integers and byte arrays, padding explicit (asserted below).
        unsafe impl $crate::account::Pod for $name {}

        const _: () = {
            let mut at = 0usize;
            $(
                assert!(core::mem::offset_of!($name, $f) == at, concat!(stringify!($name), ".", stringify!($f), ": implicit padding before this field"));
                at += core::mem::size_of::<$t $(<$($g),+>)?>();
            )*
            assert!(at == core::mem::size_of::<$name>(), concat!(stringify!($name), ": implicit padding at the end"));
            assert!(core::mem::size_of::<$name>() == $size, concat!(stringify!($name), ": size differs from its declaration"));
        };

        $crate::__struct_impls!($name { $($(#[doc = $fd])* $f: $t $(<$($g),+>)?),* } $(validate = $check)?);
    };
}

/// An Anchor account: a [`layout!`] whose data starts with sha256("account:<Name>")[..8].
#[macro_export]
macro_rules! account {
    ($(#[$m:meta])* $v:vis struct $name:ident[$size:expr] { $($body:tt)* }) => {
        $crate::layout! { $(#[$m])* $v struct $name[$size] { $($body)* } }

        impl $crate::account::AccountType for $name {
            const DISCRIMINATOR: [u8; 8] = $crate::hash::discriminator("account", stringify!($name));
        }
    };
}

/// A borsh struct (instruction arguments, their parts, event fields). With `validate = path`,
/// decoding also runs `path(&value)`, so an argument is checked where it is read.
#[macro_export]
macro_rules! borsh {
    ($(#[$m:meta])* $v:vis struct $name:ident { $($(#[doc = $fd:literal])* $fv:vis $f:ident : $t:tt $(<$($g:tt),+>)?),* $(,)? } $(validate = $check:path)?) => {
        $(#[$m])*
        $v struct $name {
            $($(#[doc = $fd])* $fv $f: $t $(<$($g),+>)?),*
        }

        $crate::__struct_impls!($name { $($(#[doc = $fd])* $f: $t $(<$($g),+>)?),* } $(validate = $check)?);
    };
}

/// A borsh enum: a u8 variant index, then the variant's fields (`Variant { field: type, .. }`,
/// fields as in [`borsh!`]). An index past the last variant is `unknown`; with `validate = path`,
/// decoding also runs `path(&value)`. Its IDL type is `{"kind": "enum"}`; a program whose
/// instructions carry it inside bytes lists it in [`program!`]'s `types`.
#[macro_export]
macro_rules! borsh_enum {
    ($(#[$m:meta])* $v:vis enum $name:ident {
        $($(#[doc = $vd:literal])* $variant:ident { $($f:ident : $t:tt $(<$($g:tt),+>)?),* $(,)? }),+ $(,)?
    } unknown = $unknown:expr $(, validate = $check:path)?) => {
        $(#[$m])*
        $v enum $name {
            $($(#[doc = $vd])* $variant { $($f: $t $(<$($g),+>)?),* },)+
        }

        impl $crate::borsh::BorshRead for $name {
            fn read(r: &mut $crate::borsh::Reader) -> Result<Self, $crate::error::ProgramError> {
                // The variant indexes, in declaration order.
                #[repr(u8)]
                enum Index {
                    $($variant),+
                }
                let index = r.u8()?;
                let value = $(if index == Index::$variant as u8 {
                    Self::$variant { $($f: <$t $(<$($g),+>)? as $crate::borsh::BorshRead>::read(r)?),* }
                } else)+ {
                    return Err($unknown.into());
                };
                $($check(&value)?;)?
                Ok(value)
            }
        }

        #[cfg(not(target_arch = "bpf"))]
        impl $crate::idl::IdlType for $name {
            fn idl() -> $crate::idl::Json {
                $crate::idl::Json::obj([("defined", $crate::idl::Json::str(stringify!($name)))])
            }
            fn idl_defs(defs: &mut $crate::idl::Defs) {
                use $crate::idl::Json;
                if defs.has(stringify!($name)) {
                    return;
                }
                let variants = vec![$(Json::obj([
                    ("name", Json::str(stringify!($variant))),
                    ("fields", Json::Arr(vec![$($crate::idl::field(stringify!($f), $crate::idl_ty!($t $(<$($g),+>)?), &[])),*])),
                ])),+];
                let ty = Json::obj([("kind", Json::str("enum")), ("variants", Json::Arr(variants))]);
                defs.0.push(Json::obj([("name", Json::str(stringify!($name))), ("type", ty)]));
                $($(<$t $(<$($g),+>)? as $crate::idl::IdlType>::idl_defs(defs);)*)+
            }
        }
    };
}

/// Anchor events: per struct, `DISCRIMINATOR` (sha256("event:<Name>")[..8]) and `emit()` (one
/// `Program data:` log of discriminator + borsh fields); `idl()` lists them all.
#[macro_export]
macro_rules! events {
    ($($(#[$m:meta])* $v:vis struct $name:ident { $($(#[doc = $fd:literal])* $fv:vis $f:ident : $t:tt $(<$($g:tt),+>)?),* $(,)? })+) => {
        $(
            $(#[$m])*
            $v struct $name {
                $($(#[doc = $fd])* $fv $f: $t $(<$($g),+>)?),*
            }

            impl $name {
                pub const DISCRIMINATOR: [u8; 8] = $crate::hash::discriminator("event", stringify!($name));

                /// Logs the event.
                pub fn emit(&self) {
                    const SIZE: usize = 8 $(+ <$t $(<$($g),+>)? as $crate::borsh::BorshWrite>::MAX_SIZE)*;
                    let mut w = $crate::borsh::Writer::<SIZE>::new();
                    w.bytes(&Self::DISCRIMINATOR);
                    $($crate::borsh::BorshWrite::write(&self.$f, &mut w);)*
                    $crate::log::emit(w.written());
                }
            }
        )+

        /// The IDL `events` of this module, and the definitions their fields need.
        #[cfg(not(target_arch = "bpf"))]
        pub fn idl(defs: &mut $crate::idl::Defs) -> Vec<$crate::idl::Json> {
            use $crate::idl::Json;
            let mut events = Vec::new();
            $(
                $(<$t $(<$($g),+>)? as $crate::idl::IdlType>::idl_defs(defs);)*
                let fields = vec![$($crate::idl::field(stringify!($f), $crate::idl_ty!($t $(<$($g),+>)?), &[]).with("index", Json::Bool(false))),*];
                events.push(Json::obj([("name", Json::str(stringify!($name))), ("fields", Json::Arr(fields))]));
            )+
            events
        }
    };
}

/// An instruction's accounts, in order: `name` or `name(mut)`, `name(signer)`, `name(mut, signer)`,
/// each with its `///` docs. `parse` takes them from the instruction's account list
/// (`NotEnoughAccounts`), checks each signer (`MissingSigner`) and writable flag (`NotWritable`) and
/// that no writable account is passed twice (`DuplicateAccount`); the rest are `remaining`.
/// `name(mut, optional)`: an account a client may leave out by passing the program's id (Anchor's
/// convention), which the runtime keeps read-only; passed read-only it is neither checked writable
/// nor counted among the writable accounts (the IDL still says `isMut`).
#[macro_export]
macro_rules! accounts {
    ($(#[$m:meta])* $v:vis struct $name:ident { $($(#[doc = $d:literal])* $a:ident $(($($flag:ident),+))?),+ $(,)? }) => {
        $(#[$m])*
        $v struct $name<'a> {
            $($(#[doc = $d])* pub $a: &'a $crate::account_info::AccountInfo,)+
            /// The accounts after the declared ones.
            pub remaining: &'a [$crate::account_info::AccountInfo],
        }

        impl<'a> $name<'a> {
            /// The declared accounts' count.
            pub const LEN: usize = [$(stringify!($a)),+].len();

            #[inline(always)]
            pub fn parse(accounts: &'a [$crate::account_info::AccountInfo]) -> Result<Self, $crate::error::ProgramError> {
                const N: usize = [$(stringify!($a)),+].len();
                let Some((fixed, remaining)) = accounts.split_first_chunk::<N>() else {
                    return Err($crate::error::RuntimeError::NotEnoughAccounts.into());
                };
                let [$($a),+] = fixed;
                $(
                    if $crate::declare::has_flag(&[$($(stringify!($flag)),+)?], "signer") {
                        $crate::validate::signer($a)?;
                    }
                )+
                let parsed = $name { $($a,)+ remaining };
                let writable = parsed.writable();
                for (i, a) in writable.iter().enumerate() {
                    let Some(a) = a else { continue };
                    $crate::validate::writable(a)?;
                    $crate::validate::not_among(a, &writable[i + 1..])?;
                }
                Ok(parsed)
            }

            /// The declared writable accounts, in order; None for a read-only one and for an
            /// optional one passed read-only (absent).
            #[inline(always)]
            pub fn writable(&self) -> [Option<&'a $crate::account_info::AccountInfo>; [$(stringify!($a)),+].len()] {
                [$(if $crate::declare::has_flag(&[$($(stringify!($flag)),+)?], "mut")
                    && (self.$a.is_writable() || !$crate::declare::has_flag(&[$($(stringify!($flag)),+)?], "optional"))
                {
                    Some(self.$a)
                } else {
                    None
                }),+]
            }

            /// The IDL `accounts` of the instruction.
            #[cfg(not(target_arch = "bpf"))]
            pub fn idl() -> Vec<$crate::idl::Json> {
                use $crate::idl::Json;
                vec![$(
                    Json::obj([
                        ("name", Json::Str($crate::idl::camel(stringify!($a)))),
                        ("isMut", Json::Bool($crate::declare::has_flag(&[$($(stringify!($flag)),+)?], "mut"))),
                        ("isSigner", Json::Bool($crate::declare::has_flag(&[$($(stringify!($flag)),+)?], "signer"))),
                    ]).with_docs(&[$($d),*])
                ),+]
            }
        }
    };
}

/// A program's instructions: `/// docs`, then `snake_name => Variant { arg: type, .. } -> returns
/// accounts AccountsStruct`. `unpack` matches sha256("global:<snake_name>")[..8], decodes the
/// borsh arguments (each type's own checks run as it is read), refuses trailing bytes, then runs
/// the enum's `check` (checks across arguments), if one is named.
#[macro_export]
macro_rules! instructions {
    ($(#[$m:meta])* $v:vis enum $name:ident $(check $check:path)? {
        $($(#[doc = $d:literal])* $snake:ident => $variant:ident { $($arg:ident : $t:tt $(<$($g:tt),+>)?),* $(,)? } $(-> $ret:tt)? accounts $accounts:path,)+
    }) => {
        $(#[$m])*
        $v enum $name {
            $($(#[doc = $d])* $variant { $($arg: $t $(<$($g),+>)?),* },)+
        }

        // SBF builds compile no IDL, the only reader of the accounts declarations named here:
        // referencing them keeps the program's imports of them used on every target.
        const _: () = { $(let _ = <$accounts>::LEN;)+ };

        impl $name {
            // Every variant decodes into one result slot: on SBF a slot per variant's arguments
            // would add up in the caller's 4 KiB frame.
            pub fn unpack(data: &[u8]) -> Result<Self, $crate::error::ProgramError> {
                let (tag, mut r) = $crate::borsh::instruction(data)?;
                let tag = u64::from_le_bytes(tag);
                let ix = 'found: {
                    $(
                        if tag == const { u64::from_le_bytes($crate::hash::discriminator("global", stringify!($snake))) } {
                            break 'found Self::$variant { $($arg: <$t $(<$($g),+>)? as $crate::borsh::BorshRead>::read(&mut r)?),* };
                        }
                    )+
                    return Err($crate::error::RuntimeError::InvalidInstruction.into());
                };
                r.finish()?;
                ix.check_decoded()?;
                Ok(ix)
            }

            #[inline(always)]
            fn check_decoded(&self) -> Result<(), $crate::error::ProgramError> {
                $($check(self)?;)?
                let _ = self;
                Ok(())
            }

            /// The IDL `instructions`, and the definitions their arguments need.
            #[cfg(not(target_arch = "bpf"))]
            pub fn idl(defs: &mut $crate::idl::Defs) -> Vec<$crate::idl::Json> {
                use $crate::idl::Json;
                let mut out = Vec::new();
                $(
                    $(<$t $(<$($g),+>)? as $crate::idl::IdlType>::idl_defs(defs);)*
                    $(<$ret as $crate::idl::IdlType>::idl_defs(defs);)?
                    let ix = Json::obj([("name", Json::Str($crate::idl::camel(stringify!($snake))))])
                        .with_docs(&[$($d),*])
                        .with("accounts", Json::Arr(<$accounts>::idl()))
                        .with("args", Json::Arr(vec![$($crate::idl::field(stringify!($arg), $crate::idl_ty!($t $(<$($g),+>)?), &[])),*]));
                    $(let ix = ix.with("returns", $crate::idl_ty!($ret));)?
                    out.push(ix);
                )+
                out
            }
        }
    };
}

/// The program: its entrypoint (SBF symbol `entrypoint`; on the host a function of that name for
/// host tests), the error names logged on failure, and (host) its IDL. `types` (optional): IDL
/// types no instruction, account or event names, e.g. a [`borsh_enum!`] carried inside `bytes`.
#[macro_export]
macro_rules! program {
    (
        name: $pname:literal,
        docs: $docs:literal,
        id: $id:path,
        process: $process:path,
        instructions: $ix:path,
        accounts: [$($acc:ty),* $(,)?],
        $(types: [$($ty:ty),* $(,)?],)?
        events: $events:path,
        errors: [$($err:path),+ $(,)?] $(,)?
    ) => {

        // As in `instructions!`: SBF builds compile no IDL, the only reader of this list.
        const _: () = { $(let _ = <$acc as $crate::account::AccountType>::LEN;)* };

        /// Name and message of an error code of this program.
        pub fn describe_error(code: u32) -> Option<(&'static str, &'static str)> {
            $(if let Some(d) = <$err>::describe(code) {
                return Some(d);
            })+
            None
        }

        $crate::entrypoint!($process, describe_error);

        /// This program's IDL, generated from its declarations.
        #[cfg(not(target_arch = "bpf"))]
        pub fn idl() -> $crate::idl::Json {
            let mut defs = $crate::idl::Defs::default();
            let instructions = <$ix>::idl(&mut defs);
            $(<$acc as $crate::idl::IdlType>::idl_defs(&mut defs);)*
            $($(<$ty as $crate::idl::IdlType>::idl_defs(&mut defs);)*)?
            let events = $events(&mut defs);
            let mut errors = Vec::new();
            $(errors.extend(<$err>::idl());)+
            $crate::idl::Program {
                name: $pname,
                docs: $docs,
                address: $crate::idl::base58(&$id),
                instructions,
                accounts: vec![$(stringify!($acc)),*],
                events,
                errors,
                defs,
            }
            .to_json()
        }
    };
}
