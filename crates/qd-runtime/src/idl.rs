//! Host-only: the Anchor (legacy) IDL generated from the programs' declarations (`declare`),
//! and a byte-for-byte check of a `#[repr(C)]` struct against an IDL definition.
//!
//! Every declared type implements [`IdlType`]; the declaration macros turn each instruction,
//! account list, account layout, event and error into its IDL JSON, and [`Program`] assembles
//! one program's file (`tools/idlgen` writes them to idl/). `check_layout` proves a field list
//! is contiguous from offset 0 up to `size_of` and that the IDL has the same fields, in order,
//! with the same sizes (borsh lays fields out back to back, so equal sizes mean equal offsets).

/// One field of a Rust struct: name, offset and size.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub offset: usize,
    pub size: usize,
}

#[doc(hidden)]
pub fn field_size<T, F>(_: fn(&T) -> &F) -> usize {
    core::mem::size_of::<F>()
}

/// `idl_fields!(PriceFeed: version, status, ...)`: the listed fields' names, offsets and sizes.
#[macro_export]
macro_rules! idl_fields {
    ($t:ty: $($f:ident),* $(,)?) => {
        [$($crate::idl::Field {
            name: stringify!($f),
            offset: core::mem::offset_of!($t, $f),
            size: $crate::idl::field_size(|s: &$t| &s.$f),
        }),*]
    };
}

/// Minimal JSON: enough for IDL files (no escapes beyond \" and \\, numbers as i64). Objects
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
    pub fn parse(text: &str) -> Json {
        let mut p = Parser { s: text.as_bytes(), i: 0 };
        let v = p.value();
        p.ws();
        assert_eq!(p.i, p.s.len(), "trailing characters in JSON");
        v
    }
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
    pub fn as_arr(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => &[],
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(self.s.get(self.i), Some(&c), "expected '{}' at byte {}", c as char, self.i);
        self.i += 1;
    }
    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out = Vec::new();
        while self.s[self.i] != b'"' {
            if self.s[self.i] == b'\\' {
                self.i += 1;
            }
            out.push(self.s[self.i]);
            self.i += 1;
        }
        self.i += 1;
        String::from_utf8(out).expect("utf-8 string")
    }
    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.i] {
            b'{' => {
                self.i += 1;
                let mut m = Vec::new();
                self.ws();
                if self.s[self.i] == b'}' {
                    self.i += 1;
                    return Json::Obj(m);
                }
                loop {
                    let k = self.string();
                    self.eat(b':');
                    m.push((k, self.value()));
                    self.ws();
                    self.i += 1;
                    if self.s[self.i - 1] == b'}' {
                        return Json::Obj(m);
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.s[self.i] == b']' {
                    self.i += 1;
                    return Json::Arr(a);
                }
                loop {
                    a.push(self.value());
                    self.ws();
                    self.i += 1;
                    if self.s[self.i - 1] == b']' {
                        return Json::Arr(a);
                    }
                }
            }
            b'"' => Json::Str(self.string()),
            b't' => self.word("true", Json::Bool(true)),
            b'f' => self.word("false", Json::Bool(false)),
            b'n' => self.word("null", Json::Null),
            _ => {
                let start = self.i;
                while self.i < self.s.len() && (self.s[self.i] == b'-' || self.s[self.i].is_ascii_digit()) {
                    self.i += 1;
                }
                Json::Num(std::str::from_utf8(&self.s[start..self.i]).unwrap().parse().expect("integer"))
            }
        }
    }
    fn word(&mut self, w: &str, v: Json) -> Json {
        assert!(self.s[self.i..].starts_with(w.as_bytes()));
        self.i += w.len();
        v
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

fn find_type<'a>(idl: &'a Json, name: &str) -> &'a Json {
    for section in ["accounts", "types"] {
        for t in idl.get(section).map(Json::as_arr).unwrap_or(&[]) {
            if t.get("name").and_then(Json::as_str) == Some(name) {
                return t;
            }
        }
    }
    panic!("type {name} is not in the IDL");
}

/// Borsh size of a fixed-size IDL type.
pub fn idl_size(idl: &Json, ty: &Json) -> usize {
    match ty {
        Json::Str(s) => match s.as_str() {
            "u8" | "i8" | "bool" => 1,
            "u16" | "i16" => 2,
            "u32" | "i32" => 4,
            "u64" | "i64" => 8,
            "u128" | "i128" => 16,
            "publicKey" => 32,
            other => panic!("type {other} has no fixed size"),
        },
        Json::Obj(_) => {
            if let Some(arr) = ty.get("array") {
                let [elem, Json::Num(n)] = arr.as_arr() else { panic!("bad array type {arr:?}") };
                idl_size(idl, elem) * *n as usize
            } else if let Some(Json::Str(name)) = ty.get("defined") {
                let def = find_type(idl, name);
                let fields = def.get("type").and_then(|t| t.get("fields")).map(Json::as_arr).unwrap_or(&[]);
                assert_eq!(def.get("type").and_then(|t| t.get("kind")).and_then(Json::as_str), Some("struct"), "{name} must be a struct");
                fields.iter().map(|f| idl_size(idl, f.get("type").unwrap())).sum()
            } else {
                panic!("type {ty:?} has no fixed size")
            }
        }
        _ => panic!("bad IDL type {ty:?}"),
    }
}

/// Panics, naming the first difference, unless `fields` (of a struct of `size` bytes) match the
/// IDL account or type `type_name` in `idl_json`.
pub fn check_layout(idl_json: &str, type_name: &str, fields: &[Field], size: usize) {
    let mut at = 0;
    for f in fields {
        assert_eq!(
            f.offset, at,
            "{type_name}.{}: offset {} but the previous field ends at {at} (implicit padding or a field missing from the list)",
            f.name, f.offset
        );
        at += f.size;
    }
    assert_eq!(at, size, "{type_name}: listed fields cover {at} bytes of {size}");
    let idl = Json::parse(idl_json);
    let def = find_type(&idl, type_name);
    let idl_fields = def.get("type").and_then(|t| t.get("fields")).map(Json::as_arr).unwrap_or(&[]);
    assert_eq!(idl_fields.len(), fields.len(), "{type_name}: IDL has {} fields, Rust {}", idl_fields.len(), fields.len());
    let mut idl_at = 0;
    for (rust, idl_field) in fields.iter().zip(idl_fields) {
        let name = idl_field.get("name").and_then(Json::as_str).unwrap_or("?");
        assert_eq!(name, camel(rust.name), "{type_name}: field order differs at offset {idl_at}");
        let ty = idl_field.get("type").unwrap();
        let s = idl_size(&idl, ty);
        assert_eq!((idl_at, s), (rust.offset, rust.size), "{type_name}.{name}: IDL (offset, size) vs Rust");
        idl_at += s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C)]
    struct Sample {
        a: u8,
        _pad: [u8; 7],
        b: u64,
    }

    const IDL: &str = r#"{"accounts": [{"name": "Sample", "type": {"kind": "struct", "fields": [
        {"name": "a", "type": "u8"}, {"name": "pad", "type": {"array": ["u8", 7]}}, {"name": "b", "type": "u64"}]}}],
        "types": [], "flag": true, "none": null, "n": -3}"#;

    #[test]
    fn matching_layout_passes() {
        check_layout(IDL, "Sample", &idl_fields!(Sample: a, _pad, b), 16);
    }

    #[test]
    #[should_panic(expected = "implicit padding or a field missing")]
    fn omitted_field_is_caught() {
        check_layout(IDL, "Sample", &idl_fields!(Sample: a, b), 16);
    }

    #[test]
    #[should_panic(expected = "IDL (offset, size) vs Rust")]
    fn size_mismatch_is_caught() {
        let idl = IDL.replace(r#""type": "u64""#, r#""type": "u32""#);
        check_layout(&idl, "Sample", &idl_fields!(Sample: a, _pad, b), 16);
    }

    #[test]
    fn parses_json_and_camel_cases() {
        let j = Json::parse(r#"{"a": [1, -2, "x\"y"], "b": {}}"#);
        assert_eq!(j.get("a").unwrap().as_arr()[1], Json::Num(-2));
        assert_eq!(j.get("a").unwrap().as_arr()[2], Json::Str("x\"y".into()));
        assert_eq!(camel("ema_window_secs"), "emaWindowSecs");
        assert_eq!(camel("_pad0"), "pad0");
    }
}
