//! Host-only check that a `#[repr(C)]` account struct matches its Anchor IDL definition byte for
//! byte, so the IDL clients decode with and the struct programs write cannot drift apart.
//!
//! Each program's test lists its struct's fields with `idl_fields!`; `check_layout` proves the
//! list is complete (contiguous from offset 0 up to `size_of`, so no implicit padding and no
//! omitted field) and that the IDL has the same fields, in order, with the same sizes (borsh
//! lays fields out back to back, so equal sizes mean equal offsets).

use std::collections::BTreeMap;

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

/// Minimal JSON: enough for IDL files (no escapes beyond \" and \\, numbers as i64).
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(i64),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
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
            Json::Obj(m) => m.get(key),
            _ => None,
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
                let mut m = BTreeMap::new();
                self.ws();
                if self.s[self.i] == b'}' {
                    self.i += 1;
                    return Json::Obj(m);
                }
                loop {
                    let k = self.string();
                    self.eat(b':');
                    m.insert(k, self.value());
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
        assert_eq!(f.offset, at, "{type_name}.{}: offset {} but the previous field ends at {at} (implicit padding or a field missing from the list)", f.name, f.offset);
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
