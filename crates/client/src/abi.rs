//! A contract's ABI (the JSON `#[contract]` generates and carries in the
//! code's `umbra-abi` custom section): arguments encoded from JSON, and
//! results, revert errors and events decoded by name into [`Decoded`]
//! values that print as Rust would write them (`Transfer { to: 5FHne…,
//! amount: 250 }`, `Err(Forbidden)`) or serialize to JSON for scripts.

use std::fmt;

use parity_scale_codec::{Compact, Decode, Encode};
use serde_json::{json, Map, Value};

use crate::{Error, Result};

/// Nesting deeper than this is refused when decoding (a type may name
/// itself; input bounds the rest).
const MAX_DEPTH: usize = 32;

fn bad(what: impl Into<String>) -> Error {
    Error::Response(what.into())
}

/// A contract's ABI.
#[derive(Clone, Debug)]
pub struct Abi(pub Value);

/// A method of an ABI.
#[derive(Clone, Debug)]
pub struct AbiMethod {
    /// Its name.
    pub name: String,
    /// `command` or `query`.
    pub kind: String,
    /// Its selector.
    pub selector: [u8; 4],
    /// Argument (name, type).
    pub args: Vec<(String, String)>,
    /// Return type, if any.
    pub returns: Option<String>,
}

impl AbiMethod {
    /// What a successful call returns: `T` of a `Result<T, E>` (the SDK
    /// returns `T` and reverts with `E`), else the return type, else `()`.
    pub fn success_type(&self) -> &str {
        match self.returns.as_deref() {
            None => "()",
            Some(ty) => match inner(ty, "Result<").map(split_top) {
                Some(parts) if parts.len() == 2 => parts[0],
                _ => ty,
            },
        }
    }

    /// The error a revert carries: `E` of a `Result<T, E>`.
    pub fn error_type(&self) -> Option<&str> {
        let parts = split_top(inner(self.returns.as_deref()?, "Result<")?);
        (parts.len() == 2).then(|| parts[1])
    }
}

fn args_of(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| (x["name"].as_str().unwrap_or("").to_string(), x["type"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

impl Abi {
    /// The ABI inside `code`.
    pub fn from_code(code: &[u8]) -> Result<Self> {
        let section = umbra_vm::validate::custom_section(code, umbra_vm::validate::ABI_SECTION)
            .ok_or_else(|| bad("the code carries no umbra-abi section (not built with #[contract])"))?;
        let value: Value = serde_json::from_slice(section).map_err(|e| bad(format!("ABI is not JSON: {e}")))?;
        if value["abi_version"] != json!(1) {
            return Err(bad(format!("unsupported ABI version {}", value["abi_version"])));
        }
        Ok(Self(value))
    }

    /// The constructor's arguments.
    pub fn constructor_args(&self) -> Vec<(String, String)> {
        args_of(&self.0["constructor"]["args"])
    }

    /// A method by name.
    pub fn method(&self, name: &str) -> Result<AbiMethod> {
        let methods = self.0["methods"].as_array().cloned().unwrap_or_default();
        let m = methods.iter().find(|m| m["name"] == json!(name)).ok_or_else(|| {
            let names: Vec<&str> = methods.iter().filter_map(|m| m["name"].as_str()).collect();
            bad(format!("no method `{name}` (methods: {})", names.join(", ")))
        })?;
        let sel = m["selector"].as_str().unwrap_or_default().trim_start_matches("0x");
        let sel = hex::decode(sel).ok().and_then(|b| <[u8; 4]>::try_from(b).ok()).ok_or_else(|| bad("bad selector"))?;
        Ok(AbiMethod {
            name: name.to_string(),
            kind: m["kind"].as_str().unwrap_or_default().to_string(),
            selector: sel,
            args: args_of(&m["args"]),
            returns: m["returns"].as_str().map(str::to_string),
        })
    }

    /// The contract's `#[event]` type, if it declares one.
    pub fn event_type(&self) -> Option<&str> {
        self.0["event"].as_str()
    }

    /// Decodes `bytes` as `ty`, all of them: trailing bytes are an error.
    pub fn decode_all(&self, ty: &str, bytes: &[u8]) -> std::result::Result<Decoded, String> {
        let mut input = bytes;
        let value = self.decode(ty, &mut input, 0)?;
        if !input.is_empty() {
            return Err(format!("{} bytes left after {ty}", input.len()));
        }
        Ok(value)
    }

    /// A contract event: through the `#[event]` type when it decodes
    /// exactly, else its bytes.
    pub fn event(&self, bytes: &[u8]) -> Decoded {
        self.event_type()
            .and_then(|ty| self.decode_all(ty, bytes).ok())
            .unwrap_or_else(|| Decoded::Bytes(bytes.to_vec()))
    }

    /// A revert's payload: `E` of the method's `Result<T, E>` when it
    /// decodes exactly, else the text the SDK reverts with (`bad
    /// arguments`, `unknown method`), else its bytes.
    pub fn revert(&self, method: Option<&AbiMethod>, bytes: &[u8]) -> Decoded {
        if let Some(value) = method.and_then(AbiMethod::error_type).and_then(|ty| self.decode_all(ty, bytes).ok()) {
            return Decoded::Err(Box::new(value));
        }
        match std::str::from_utf8(bytes) {
            Ok(text) if !text.is_empty() && text.chars().all(|c| !c.is_control()) => Decoded::Text(text.to_string()),
            _ => Decoded::Bytes(bytes.to_vec()),
        }
    }

    fn decode(&self, ty: &str, input: &mut &[u8], depth: usize) -> std::result::Result<Decoded, String> {
        if depth > MAX_DEPTH {
            return Err(format!("`{ty}` nests deeper than {MAX_DEPTH}"));
        }
        let e = |x: parity_scale_codec::Error| format!("{ty}: {x}");
        Ok(match ty {
            "()" => Decoded::Unit,
            "bool" => Decoded::Bool(bool::decode(input).map_err(e)?),
            "u8" => Decoded::Uint(u8::decode(input).map_err(e)?.into()),
            "u16" => Decoded::Uint(u16::decode(input).map_err(e)?.into()),
            "u32" => Decoded::Uint(u32::decode(input).map_err(e)?.into()),
            "u64" => Decoded::Uint(u64::decode(input).map_err(e)?.into()),
            "u128" => Decoded::Uint(u128::decode(input).map_err(e)?),
            "i8" => Decoded::Int(i8::decode(input).map_err(e)?.into()),
            "i16" => Decoded::Int(i16::decode(input).map_err(e)?.into()),
            "i32" => Decoded::Int(i32::decode(input).map_err(e)?.into()),
            "i64" => Decoded::Int(i64::decode(input).map_err(e)?.into()),
            "i128" => Decoded::Int(i128::decode(input).map_err(e)?),
            "String" => Decoded::Text(String::decode(input).map_err(e)?),
            "AccountId" => Decoded::Account(<[u8; 32]>::decode(input).map_err(e)?),
            "Vec<u8>" => Decoded::Bytes(Vec::<u8>::decode(input).map_err(e)?),
            _ => {
                if let Some(t) = inner(ty, "Option<") {
                    match u8::decode(input).map_err(e)? {
                        0 => Decoded::Option(None),
                        1 => Decoded::Option(Some(Box::new(self.decode(t, input, depth + 1)?))),
                        b => return Err(format!("{ty}: bad option byte {b}")),
                    }
                } else if let Some(t) = inner(ty, "Vec<") {
                    let n = Compact::<u32>::decode(input).map_err(e)?.0 as usize;
                    // Every element takes a byte at least: a length beyond
                    // the input is a lie, not an allocation.
                    if n > input.len() && !matches!(t, "()") {
                        return Err(format!("{ty}: {n} elements in {} bytes", input.len()));
                    }
                    Decoded::Seq(
                        (0..n).map(|_| self.decode(t, input, depth + 1)).collect::<std::result::Result<_, _>>()?,
                    )
                } else if let Some(parts) = inner(ty, "Result<").map(split_top).filter(|p| p.len() == 2) {
                    match u8::decode(input).map_err(e)? {
                        0 => Decoded::Ok(Box::new(self.decode(parts[0], input, depth + 1)?)),
                        1 => Decoded::Err(Box::new(self.decode(parts[1], input, depth + 1)?)),
                        b => return Err(format!("{ty}: bad result byte {b}")),
                    }
                } else if let Some(body) = ty.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
                    let parts = split_top(body);
                    Decoded::Tuple(
                        parts
                            .iter()
                            .filter(|p| !p.is_empty())
                            .map(|p| self.decode(p, input, depth + 1))
                            .collect::<std::result::Result<_, _>>()?,
                    )
                } else if let Some((elem, len)) = array(ty) {
                    if elem == "u8" {
                        if input.len() < len {
                            return Err(format!("{ty}: {} bytes left", input.len()));
                        }
                        let (bytes, rest) = input.split_at(len);
                        *input = rest;
                        Decoded::Bytes(bytes.to_vec())
                    } else {
                        Decoded::Seq(
                            (0..len)
                                .map(|_| self.decode(elem, input, depth + 1))
                                .collect::<std::result::Result<_, _>>()?,
                        )
                    }
                } else if let Some(def) = self.0["types"].get(ty) {
                    self.decode_named(ty, def, input, depth)?
                } else {
                    return Err(format!("type `{ty}` is not described by the ABI"));
                }
            }
        })
    }

    fn decode_named(
        &self,
        ty: &str,
        def: &Value,
        input: &mut &[u8],
        depth: usize,
    ) -> std::result::Result<Decoded, String> {
        let fields = |list: &Value, input: &mut &[u8]| -> std::result::Result<Fields, String> {
            let list = list.as_array().cloned().unwrap_or_default();
            let named = list.first().is_some_and(|f| f["name"].as_str().is_some_and(|n| n.parse::<usize>().is_err()));
            let values = list
                .iter()
                .map(|f| {
                    let name = f["name"].as_str().unwrap_or_default().to_string();
                    Ok((name, self.decode(f["type"].as_str().unwrap_or_default(), input, depth + 1)?))
                })
                .collect::<std::result::Result<Vec<_>, String>>()?;
            Ok(Fields { named, values })
        };
        match def["kind"].as_str() {
            Some("struct") => Ok(Decoded::Struct { name: ty.to_string(), fields: fields(&def["fields"], input)? }),
            Some("enum") => {
                let index = u8::decode(input).map_err(|x| format!("{ty}: {x}"))?;
                let variants = def["variants"].as_array().cloned().unwrap_or_default();
                let variant = variants
                    .iter()
                    .find(|v| v["index"].as_u64() == Some(u64::from(index)))
                    .ok_or_else(|| format!("{ty}: no variant {index}"))?;
                Ok(Decoded::Variant {
                    name: variant["name"].as_str().unwrap_or_default().to_string(),
                    fields: fields(&variant["fields"], input)?,
                })
            }
            _ => Err(format!("type `{ty}`: unknown kind")),
        }
    }
}

/// `ty`'s inside of `prefix…>`.
fn inner<'a>(ty: &'a str, prefix: &str) -> Option<&'a str> {
    ty.strip_prefix(prefix).and_then(|r| r.strip_suffix('>'))
}

/// `[T;N]` as (T, N).
fn array(ty: &str) -> Option<(&str, usize)> {
    let body = ty.strip_prefix('[')?.strip_suffix(']')?;
    let parts = split_top_on(body, ';');
    match parts.as_slice() {
        [elem, len] => Some((elem, len.parse().ok()?)),
        _ => None,
    }
}

/// Splits at top-level commas (outside `<>`, `()` and `[]`).
fn split_top(s: &str) -> Vec<&str> {
    split_top_on(s, ',')
}

fn split_top_on(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// A struct's or variant's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fields {
    /// Named (`{ a: …, b: … }`) or positional (`(…, …)`).
    pub named: bool,
    /// (name, value) in order; positional ones are named `0`, `1`, …
    pub values: Vec<(String, Decoded)>,
}

/// A value decoded through an ABI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// `()`.
    Unit,
    /// A `bool`.
    Bool(bool),
    /// An unsigned integer.
    Uint(u128),
    /// A signed integer.
    Int(i128),
    /// A `String`, or a revert's text.
    Text(String),
    /// An account, shown as SS58 (prefix 42).
    Account([u8; 32]),
    /// Bytes (`Vec<u8>`, `[u8; N]`, or undecodable data), shown as 0x-hex.
    Bytes(Vec<u8>),
    /// An `Option`.
    Option(Option<Box<Decoded>>),
    /// `Ok` of a `Result`.
    Ok(Box<Decoded>),
    /// `Err` of a `Result`, or a revert's error.
    Err(Box<Decoded>),
    /// A `Vec<T>` or `[T; N]`.
    Seq(Vec<Decoded>),
    /// A tuple.
    Tuple(Vec<Decoded>),
    /// A struct of the contract.
    Struct {
        /// Its type name.
        name: String,
        /// Its fields.
        fields: Fields,
    },
    /// A variant of one of the contract's enums.
    Variant {
        /// The variant's name.
        name: String,
        /// Its fields.
        fields: Fields,
    },
}

fn ss58(account: &[u8; 32]) -> String {
    umbra_crypto::ss58::encode_account(umbra_crypto::ss58::SUBSTRATE_PREFIX, account)
        .unwrap_or_else(|_| format!("0x{}", hex::encode(account)))
}

impl Decoded {
    /// As JSON: integers as numbers up to 2⁵³ and as strings beyond,
    /// accounts as SS58, bytes as 0x-hex, `Ok`/`Err` and enum variants as
    /// `{"Name": fields}` (unit variants as `"Name"`), structs as objects.
    pub fn to_json(&self) -> Value {
        const SAFE: u128 = 1 << 53;
        let fields_json = |f: &Fields| -> Value {
            if f.named {
                Value::Object(f.values.iter().map(|(n, v)| (n.clone(), v.to_json())).collect::<Map<_, _>>())
            } else if f.values.len() == 1 {
                f.values[0].1.to_json()
            } else {
                Value::Array(f.values.iter().map(|(_, v)| v.to_json()).collect())
            }
        };
        match self {
            Decoded::Unit => Value::Null,
            Decoded::Bool(b) => json!(b),
            Decoded::Uint(n) if *n < SAFE => json!(*n as u64),
            Decoded::Uint(n) => json!(n.to_string()),
            Decoded::Int(n) if n.unsigned_abs() < SAFE => json!(*n as i64),
            Decoded::Int(n) => json!(n.to_string()),
            Decoded::Text(t) => json!(t),
            Decoded::Account(a) => json!(ss58(a)),
            Decoded::Bytes(b) => json!(format!("0x{}", hex::encode(b))),
            Decoded::Option(None) => Value::Null,
            Decoded::Option(Some(v)) => v.to_json(),
            Decoded::Ok(v) => json!({ "Ok": v.to_json() }),
            Decoded::Err(v) => json!({ "Err": v.to_json() }),
            Decoded::Seq(items) | Decoded::Tuple(items) => Value::Array(items.iter().map(Decoded::to_json).collect()),
            Decoded::Struct { fields, .. } => fields_json(fields),
            Decoded::Variant { name, fields } if fields.values.is_empty() => json!(name),
            Decoded::Variant { name, fields } => json!({ name.clone(): fields_json(fields) }),
        }
    }
}

fn list(f: &mut fmt::Formatter<'_>, items: &[Decoded]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            write!(f, ", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl fmt::Display for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.values.is_empty() {
            return Ok(());
        }
        if self.named {
            write!(f, " {{ ")?;
            for (i, (name, value)) in self.values.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                write!(f, "{name}: {value}")?;
            }
            write!(f, " }}")
        } else {
            write!(f, "(")?;
            let values: Vec<Decoded> = self.values.iter().map(|(_, v)| v.clone()).collect();
            list(f, &values)?;
            write!(f, ")")
        }
    }
}

/// As Rust would write the value (`Transfer { to: 5FHne…, amount: 250 }`,
/// `Err(Forbidden)`, `Some(3)`, `[1, 2]`, `"text"`, `0x00ff`).
impl fmt::Display for Decoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decoded::Unit => write!(f, "()"),
            Decoded::Bool(b) => write!(f, "{b}"),
            Decoded::Uint(n) => write!(f, "{n}"),
            Decoded::Int(n) => write!(f, "{n}"),
            Decoded::Text(t) => write!(f, "{t:?}"),
            Decoded::Account(a) => write!(f, "{}", ss58(a)),
            Decoded::Bytes(b) => write!(f, "0x{}", hex::encode(b)),
            Decoded::Option(None) => write!(f, "None"),
            Decoded::Option(Some(v)) => write!(f, "Some({v})"),
            Decoded::Ok(v) => write!(f, "Ok({v})"),
            Decoded::Err(v) => write!(f, "Err({v})"),
            Decoded::Seq(items) => {
                write!(f, "[")?;
                list(f, items)?;
                write!(f, "]")
            }
            Decoded::Tuple(items) => {
                write!(f, "(")?;
                list(f, items)?;
                write!(f, ")")
            }
            Decoded::Struct { name, fields } => write!(f, "{name}{fields}"),
            Decoded::Variant { name, fields } => write!(f, "{name}{fields}"),
        }
    }
}

/// The input of a command or query: `SCALE((selector, args))`, the
/// `Call` the SDK dispatches on.
pub fn call_input(selector: [u8; 4], args: Vec<u8>) -> Vec<u8> {
    (selector, args).encode()
}

/// Encodes JSON `values` (an array, one per argument) as the SCALE tuple of
/// `types`.
pub fn encode_args(types: &[(String, String)], values: &Value) -> Result<Vec<u8>> {
    let empty = Vec::new();
    let values = if values.is_null() {
        &empty
    } else {
        values.as_array().ok_or_else(|| bad("arguments must be a JSON array"))?
    };
    if values.len() != types.len() {
        let names: Vec<String> = types.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        return Err(bad(format!("expected {} argument(s) ({}), got {}", types.len(), names.join(", "), values.len())));
    }
    let mut out = Vec::new();
    for ((name, ty), v) in types.iter().zip(values) {
        encode_value(ty, v, &mut out).map_err(|e| bad(format!("argument `{name}`: {e}")))?;
    }
    Ok(out)
}

fn int<T: TryFrom<u128> + Encode>(v: &Value, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    let n: u128 = match v {
        Value::Number(n) => n.as_u64().map(u128::from).ok_or("expected a non-negative integer")?,
        Value::String(s) => s.parse().map_err(|_| format!("`{s}` is not an integer"))?,
        _ => return Err("expected an integer".into()),
    };
    T::try_from(n).map_err(|_| format!("{n} out of range"))?.encode_to(out);
    Ok(())
}

/// Encodes one JSON value as SCALE `ty` (integers, bool, `[u8;32]` and
/// `AccountId` as 0x-hex or an SS58 address, `Vec<u8>` as 0x-hex,
/// `String`, `Option<T>`, `Vec<T>`).
pub fn encode_value(ty: &str, v: &Value, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    match ty {
        "u8" => int::<u8>(v, out),
        "u16" => int::<u16>(v, out),
        "u32" => int::<u32>(v, out),
        "u64" => int::<u64>(v, out),
        "u128" => int::<u128>(v, out),
        "bool" => {
            v.as_bool().ok_or("expected true or false")?.encode_to(out);
            Ok(())
        }
        "String" => {
            v.as_str().ok_or("expected a string")?.encode_to(out);
            Ok(())
        }
        "[u8;32]" | "AccountId" => {
            let s = v.as_str().ok_or("expected 0x-hex or an SS58 address")?;
            let bytes: [u8; 32] = if let Some(h) = s.strip_prefix("0x") {
                hex::decode(h).ok().and_then(|b| b.try_into().ok()).ok_or("expected 32 bytes of hex")?
            } else {
                umbra_crypto::ss58::decode_account(s).map_err(|e| format!("not an SS58 address: {e}"))?.1
            };
            out.extend_from_slice(&bytes);
            Ok(())
        }
        "Vec<u8>" => {
            let s = v.as_str().and_then(|s| s.strip_prefix("0x")).ok_or("expected 0x-hex")?;
            hex::decode(s).map_err(|e| e.to_string())?.encode_to(out);
            Ok(())
        }
        _ => {
            if let Some(t) = inner(ty, "Option<") {
                if v.is_null() {
                    out.push(0);
                    Ok(())
                } else {
                    out.push(1);
                    encode_value(t, v, out)
                }
            } else if let Some(t) = inner(ty, "Vec<") {
                let items = v.as_array().ok_or("expected an array")?;
                Compact(items.len() as u32).encode_to(out);
                items.iter().try_for_each(|i| encode_value(t, i, out))
            } else {
                Err(format!("type `{ty}` is not supported by the CLI encoder"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Abi {
        Abi(serde_json::from_str(
            r#"{"abi_version":1,"methods":[{"name":"transfer","kind":"command","selector":"0x00000000","args":[],
            "returns":"Result<(),Error>"}],"event":"Event","types":{
            "Error":{"kind":"enum","variants":[{"name":"BadInput","index":0,"fields":[]},
              {"name":"Forbidden","index":2,"fields":[]}]},
            "Event":{"kind":"enum","variants":[{"name":"Transfer","index":0,"fields":[
              {"name":"to","type":"AccountId"},{"name":"amount","type":"u128"}]},
              {"name":"Pair","index":1,"fields":[{"name":"0","type":"u8"},{"name":"1","type":"Option<u32>"}]}]},
            "Point":{"kind":"struct","fields":[{"name":"x","type":"i32"},{"name":"y","type":"[u8;2]"}]}}}"#,
        )
        .unwrap())
    }

    /// Bob's account (Substrate's //Bob).
    const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

    #[test]
    fn events_errors_and_structs_decode_by_name() {
        let abi = token();
        let bob = umbra_crypto::ss58::decode_account(BOB).unwrap().1;
        let event = abi.event(&(0u8, bob, 250u128).encode());
        assert_eq!(event.to_string(), format!("Transfer {{ to: {BOB}, amount: 250 }}"));
        assert_eq!(event.to_json(), json!({ "Transfer": { "to": BOB, "amount": 250 } }));
        let pair = abi.event(&(1u8, 7u8, Some(9u32)).encode());
        assert_eq!(pair.to_string(), "Pair(7, Some(9))");
        assert_eq!(pair.to_json(), json!({ "Pair": [7, 9] }));
        // Not the event type (trailing byte): shown as bytes.
        assert_eq!(abi.event(&[0u8; 50]).to_string(), format!("0x{}", "00".repeat(50)));

        let transfer = abi.method("transfer").unwrap();
        assert_eq!(transfer.success_type(), "()");
        assert_eq!(abi.revert(Some(&transfer), &[2]).to_string(), "Err(Forbidden)");
        assert_eq!(abi.revert(Some(&transfer), &[2]).to_json(), json!({ "Err": "Forbidden" }));
        assert_eq!(abi.revert(Some(&transfer), b"unknown method").to_string(), "\"unknown method\"");
        assert_eq!(abi.revert(Some(&transfer), &[9]).to_string(), "0x09");
        let point = abi.decode_all("Point", &(-3i32, [1u8, 2]).encode()).unwrap();
        assert_eq!(point.to_string(), "Point { x: -3, y: 0x0102 }");
    }

    #[test]
    fn lies_and_garbage_are_errors() {
        let abi = token();
        // A length prefix far beyond the input: refused before allocating.
        let mut input = &Compact(u32::MAX).encode()[..];
        assert!(abi.decode("Vec<u64>", &mut input, 0).is_err());
        assert!(abi.decode_all("Error", &[7]).is_err());
        assert!(abi.decode_all("Option<u8>", &[2, 0]).is_err());
        assert!(abi.decode_all("Mystery", &[0]).is_err());
        assert!(abi.decode_all("u32", &[1, 0, 0, 0, 0]).is_err(), "trailing bytes");
        assert_eq!(abi.decode_all("u128", &u128::MAX.encode()).unwrap().to_json(), json!(u128::MAX.to_string()));
        assert_eq!(abi.decode_all("(u8,bool)", &[5, 1]).unwrap().to_string(), "(5, true)");
        assert_eq!(abi.decode_all("Result<u8,Error>", &[0, 4]).unwrap().to_string(), "Ok(4)");
    }

    #[test]
    fn a_self_naming_type_stops_at_the_depth_bound() {
        let abi = Abi(json!({"types": {"Loop": {"kind": "struct", "fields": [{"name": "next", "type": "Loop"}]}}}));
        assert!(abi.decode_all("Loop", &[]).unwrap_err().contains("deeper"));
    }
}
