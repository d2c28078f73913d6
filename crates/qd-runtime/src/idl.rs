//! Host-only: the Anchor (legacy) IDL generated from the programs' declarations (`declare`).
//!
//! Every declared type implements [`IdlType`]; the declaration macros turn each instruction,
//! account list, account layout, event and error into its IDL JSON, and [`Program`] assembles
//! one program's file (`tools/idlgen` writes them to idl/). Layouts need no check against the
//! IDL: both come from one declaration, whose size and padding are asserted at compile time.

/// Minimal JSON, written only: enough for IDL files (no escapes beyond \" and \\, numbers as i64). Objects
/// keep their keys in order, so generated files read in Anchor's order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(i64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn str(s: &str) -> Json {
        Json::Str(s.to_string())
    }
    /// An object from `(key, value)` pairs, in order.
    pub fn obj<const N: usize>(pairs: [(&str, Json); N]) -> Json {
        Json::Obj(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
    /// Adds `key` to an object (`self` must be one).
    pub fn with(mut self, key: &str, value: Json) -> Json {
        if let Json::Obj(m) = &mut self {
            m.push((key.to_string(), value));
        }
        self
    }
    /// Adds `"docs"` to an object unless `docs` is empty.
    pub fn with_docs(self, docs: &[&str]) -> Json {
        match doc_text(docs) {
            Some(text) => self.with("docs", Json::Arr(vec![Json::Str(text)])),
            None => self,
        }
    }
    /// The JSON text, indented by two spaces, arrays of scalars on one line, with a final newline.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }
    fn write(&self, out: &mut String, depth: usize) {
        let pad = |out: &mut String, d: usize| out.extend(std::iter::repeat_n("  ", d));
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => out.push_str(&n.to_string()),
            Json::Str(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            Json::Arr(a) if a.is_empty() => out.push_str("[]"),
            Json::Arr(a) if a.iter().all(|v| !matches!(v, Json::Arr(_) | Json::Obj(_))) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write(out, depth);
                }
                out.push(']');
            }
            Json::Arr(a) => {
                out.push_str("[\n");
                for (i, v) in a.iter().enumerate() {
                    pad(out, depth + 1);
                    v.write(out, depth + 1);
                    out.push_str(if i + 1 < a.len() { ",\n" } else { "\n" });
                }
                pad(out, depth);
                out.push(']');
            }
            Json::Obj(m) if m.is_empty() => out.push_str("{}"),
            Json::Obj(m) => {
                out.push_str("{\n");
                for (i, (k, v)) in m.iter().enumerate() {
                    pad(out, depth + 1);
                    Json::Str(k.clone()).write(out, depth + 1);
                    out.push_str(": ");
                    v.write(out, depth + 1);
                    out.push_str(if i + 1 < m.len() { ",\n" } else { "\n" });
                }
                pad(out, depth);
                out.push('}');
            }
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// IDL (Anchor legacy) field name for a Rust field: lowerCamelCase, leading underscores dropped.
pub fn camel(name: &str) -> String {
    let mut out = String::new();
    for (i, part) in name.split('_').filter(|p| !p.is_empty()).enumerate() {
        if i == 0 {
            out.push_str(part);
        } else {
            let mut c = part.chars();
            out.extend(c.next().map(|f| f.to_ascii_uppercase()));
            out.push_str(c.as_str());
        }
    }
    out
}

/// Doc comment lines (as `#[doc]` gives them: one leading space each) as one IDL docs string.
pub fn doc_text(docs: &[&str]) -> Option<String> {
    let text = docs.iter().map(|d| d.trim()).filter(|d| !d.is_empty()).collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

/// `{"array": [elem, n]}`.
pub fn array(elem: Json, n: usize) -> Json {
    Json::obj([("array", Json::Arr(vec![elem, Json::Num(n as i64)]))])
}

/// Named type definitions (`accounts` and `types` of an IDL), each once, in discovery order.
#[derive(Default)]
pub struct Defs(pub Vec<Json>);

impl Defs {
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|d| d.get("name").and_then(Json::as_str) == Some(name))
    }
}

/// A Rust type's IDL type, and the named definitions it needs.
pub trait IdlType {
    fn idl() -> Json;
    fn idl_defs(_defs: &mut Defs) {}
}

/// A generic wrapper's IDL type around its parameter's (`Option<T>`, `BoundedVec<T, N>`).
pub trait IdlWrap {
    fn wrap(inner: Json) -> Json;
}

macro_rules! idl_primitive {
    ($($t:ty => $name:literal),*) => {$(
        impl IdlType for $t {
            fn idl() -> Json {
                Json::str($name)
            }
        }
    )*};
}

idl_primitive!(u8 => "u8", u16 => "u16", u32 => "u32", u64 => "u64", u128 => "u128", i8 => "i8", i16 => "i16", i32 => "i32",
    i64 => "i64", i128 => "i128", bool => "bool");

/// Arrays: the element's definitions (the type itself is written by `idl_ty!`, which tells a
/// `Pubkey` from a byte array by name).
impl<T: IdlType, const M: usize> IdlType for [T; M] {
    fn idl() -> Json {
        array(T::idl(), M)
    }
    fn idl_defs(defs: &mut Defs) {
        T::idl_defs(defs)
    }
}

impl<T: IdlType> IdlType for Option<T> {
    fn idl() -> Json {
        Self::wrap(T::idl())
    }
    fn idl_defs(defs: &mut Defs) {
        T::idl_defs(defs)
    }
}

impl<T> IdlWrap for Option<T> {
    fn wrap(inner: Json) -> Json {
        Json::obj([("option", inner)])
    }
}

impl<T: IdlType, const M: usize> IdlType for crate::borsh::BoundedVec<T, M> {
    fn idl() -> Json {
        Self::wrap(T::idl())
    }
    fn idl_defs(defs: &mut Defs) {
        T::idl_defs(defs)
    }
}

/// A vector of bytes is Anchor's `bytes`.
impl<T, const M: usize> IdlWrap for crate::borsh::BoundedVec<T, M> {
    fn wrap(inner: Json) -> Json {
        if inner == Json::str("u8") {
            Json::str("bytes")
        } else {
            Json::obj([("vec", inner)])
        }
    }
}

/// A struct definition `{"name", "type": {"kind": "struct", "fields"}}` (fields: name, type, docs).
pub fn struct_def(name: &str, fields: Vec<Json>) -> Json {
    Json::obj([("name", Json::str(name)), ("type", Json::obj([("kind", Json::str("struct")), ("fields", Json::Arr(fields))]))])
}

/// One field or argument: `{"name": camelCase, "type", "docs"?}`.
pub fn field(name: &str, ty: Json, docs: &[&str]) -> Json {
    Json::obj([("name", Json::Str(camel(name))), ("type", ty)]).with_docs(docs)
}

/// One program's IDL, assembled from its declarations.
pub struct Program {
    pub name: &'static str,
    pub docs: &'static str,
    pub address: String,
    pub instructions: Vec<Json>,
    /// Names of the account types the program owns (their definitions go to `accounts`).
    pub accounts: Vec<&'static str>,
    pub events: Vec<Json>,
    pub errors: Vec<Json>,
    /// Every named definition reached from instructions, accounts and events.
    pub defs: Defs,
}

impl Program {
    pub fn to_json(&self) -> Json {
        let (accounts, types): (Vec<Json>, Vec<Json>) =
            self.defs.0.iter().cloned().partition(|d| d.get("name").and_then(Json::as_str).is_some_and(|n| self.accounts.contains(&n)));
        let mut ordered = Vec::new();
        for name in &self.accounts {
            ordered.extend(accounts.iter().find(|d| d.get("name").and_then(Json::as_str) == Some(name)).cloned());
        }
        Json::obj([
            ("version", Json::str("0.1.0")),
            ("name", Json::str(self.name)),
            ("docs", Json::Arr(vec![Json::str(self.docs)])),
            ("instructions", Json::Arr(self.instructions.clone())),
            ("accounts", Json::Arr(ordered)),
            ("types", Json::Arr(types)),
            ("events", Json::Arr(self.events.clone())),
            ("errors", Json::Arr(self.errors.clone())),
            ("metadata", Json::obj([("address", Json::Str(self.address.clone()))])),
        ])
    }
}

/// Base58 of a public key (the IDL's metadata address).
pub fn base58(key: &[u8; 32]) -> String {
    const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut digits: Vec<u8> = Vec::new();
    for &byte in key {
        let mut carry = byte as u32;
        for d in digits.iter_mut() {
            carry += (*d as u32) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = key.iter().take_while(|b| **b == 0).count();
    std::iter::repeat_n('1', zeros).chain(digits.iter().rev().map(|d| ALPHABET[*d as usize] as char)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_json_in_key_order_escaped_with_scalar_arrays_inline() {
        let doc = Json::obj([("name", Json::str("a\"b\\")), ("n", Json::Num(-3)), ("xs", Json::Arr(vec![Json::Num(1), Json::Bool(true)]))])
            .with("o", Json::obj([("k", Json::Null)]))
            .with_docs(&[" first", "", " second "]);
        let expected = "{\n  \"name\": \"a\\\"b\\\\\",\n  \"n\": -3,\n  \"xs\": [1, true],\n  \"o\": {\n    \"k\": null\n  },\n  \"docs\": [\"first second\"]\n}\n";
        assert_eq!(doc.pretty(), expected);
        assert_eq!(Json::obj([]).with_docs(&["", " "]), Json::obj([]));
    }

    #[test]
    fn camel_cases_field_names_and_encodes_keys_in_base58() {
        assert_eq!(camel("ema_window_secs"), "emaWindowSecs");
        assert_eq!(camel("_pad0"), "pad0");
        assert_eq!(base58(&[0; 32]), "11111111111111111111111111111111");
        assert_eq!(
            base58(&crate::pubkey::pubkey("GXzv4utLYVXrjbpR7wQLybiuQC7a1WtBDPQ2wWf3vvrz")),
            "GXzv4utLYVXrjbpR7wQLybiuQC7a1WtBDPQ2wWf3vvrz"
        );
    }

    #[test]
    fn a_program_lists_its_accounts_apart_from_other_types() {
        let mut defs = Defs::default();
        defs.0.push(struct_def("Inner", vec![]));
        defs.0.push(struct_def("Owned", vec![field("a_b", Json::str("u8"), &[])]));
        let program = Program {
            name: "p",
            docs: "d",
            address: "x".into(),
            instructions: vec![],
            accounts: vec!["Owned"],
            events: vec![],
            errors: vec![],
            defs,
        };
        let json = program.to_json();
        let names = |key: &str| match json.get(key) {
            Some(Json::Arr(a)) => a.iter().map(|d| d.get("name").and_then(Json::as_str).unwrap().to_string()).collect::<Vec<_>>(),
            _ => panic!("no {key}"),
        };
        assert_eq!((names("accounts"), names("types")), (vec!["Owned".to_string()], vec!["Inner".to_string()]));
    }
}
