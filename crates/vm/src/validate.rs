//! Upload validation with `wasmparser`: what the chain checks before it
//! stores code (and the VM again before it compiles it).
//!
//! Refused, each with its own error: oversized code, malformed wasm or
//! features outside the deterministic set, imports other than the `umbra`
//! host functions with their exact signatures, missing or mistyped exports
//! (`memory`, `deploy`, `call`), any floating-point type or instruction, a
//! start function, more than one memory or a memory that may grow past the
//! limit, oversized tables.

use alloc::{format, string::String, string::ToString, vec::Vec};

use wasmparser::{
    CompositeInnerType, ExternalKind, FuncType, MemoryType, Operator, Parser, Payload, TypeRef, ValType, Validator,
    WasmFeatures,
};

use crate::{abi, limits, Error};

/// What a validated module declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeInfo {
    /// Imported host functions, in order.
    pub imports: Vec<String>,
    /// Initial memory pages.
    pub initial_pages: u64,
}

/// The wasm features the VM accepts: the deterministic MVP plus
/// sign-extension, mutable globals, bulk memory, multi-value and the
/// reference-types encoding Rust emits for `call_indirect`; no
/// threads, SIMD, floats-relaxed semantics, memory64, GC or exceptions.
pub fn features() -> WasmFeatures {
    WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::FLOATS
        | WasmFeatures::REFERENCE_TYPES
}

fn is_float(t: &ValType) -> bool {
    matches!(t, ValType::F32 | ValType::F64)
}

fn func_has_float(f: &FuncType) -> bool {
    f.params().iter().chain(f.results()).any(is_float)
}

fn check_memory(m: &MemoryType) -> Result<u64, Error> {
    if m.memory64 || m.shared {
        return Err(Error::InvalidMemory("64-bit or shared memory".into()));
    }
    if m.initial > limits::MAX_MEMORY_PAGES {
        return Err(Error::InvalidMemory(format!("initial {} pages, at most {}", m.initial, limits::MAX_MEMORY_PAGES)));
    }
    if m.maximum.is_some_and(|max| max > limits::MAX_MEMORY_PAGES) {
        return Err(Error::InvalidMemory(format!("maximum above {} pages", limits::MAX_MEMORY_PAGES)));
    }
    Ok(m.initial)
}

/// Name of the custom section holding a contract's ABI JSON.
pub const ABI_SECTION: &str = "umbra-abi";

/// The contents of the first custom section named `name` (for example
/// [`ABI_SECTION`]), if the module parses that far.
pub fn custom_section<'a>(code: &'a [u8], name: &str) -> Option<&'a [u8]> {
    for payload in Parser::new(0).parse_all(code) {
        if let Ok(Payload::CustomSection(reader)) = payload {
            if reader.name() == name {
                return Some(reader.data());
            }
        } else if payload.is_err() {
            return None;
        }
    }
    None
}

/// Validates contract code.
pub fn validate(code: &[u8]) -> Result<CodeInfo, Error> {
    if code.len() > limits::MAX_CODE_SIZE {
        return Err(Error::CodeTooLarge { len: code.len(), max: limits::MAX_CODE_SIZE });
    }
    let mut validator = Validator::new_with_features(features());
    validator.validate_all(code).map_err(|e| Error::InvalidWasm(e.to_string()))?;

    let mut types: Vec<FuncType> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut imports = Vec::new();
    let mut exports: Vec<(String, ExternalKind, u32)> = Vec::new();
    let mut memories = 0u32;
    let mut initial_pages = 0u64;
    for payload in Parser::new(0).parse_all(code) {
        match payload.map_err(|e| Error::InvalidWasm(e.to_string()))? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.map_err(|e| Error::InvalidWasm(e.to_string()))?.into_types() {
                        match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => {
                                if func_has_float(f) {
                                    return Err(Error::FloatingPoint("a function type".into()));
                                }
                                types.push(f.clone());
                            }
                            _ => return Err(Error::InvalidWasm("non-function types".into())),
                        }
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| Error::InvalidWasm(e.to_string()))?;
                    let TypeRef::Func(index) = import.ty else {
                        return Err(Error::InvalidImport(format!(
                            "{}.{} is not a function",
                            import.module, import.name
                        )));
                    };
                    if import.module != abi::MODULE {
                        return Err(Error::InvalidImport(format!(
                            "module `{}` (only `{}`)",
                            import.module,
                            abi::MODULE
                        )));
                    }
                    let expected = abi::signature(import.name)
                        .ok_or_else(|| Error::InvalidImport(format!("unknown host function `{}`", import.name)))?;
                    let actual = types.get(index as usize).ok_or_else(|| Error::InvalidWasm("type index".into()))?;
                    if actual.params() != expected.0 || actual.results() != expected.1 {
                        return Err(Error::InvalidImport(format!("`{}` has the wrong signature", import.name)));
                    }
                    imports.push(import.name.to_string());
                    func_types.push(index);
                }
            }
            Payload::FunctionSection(reader) => {
                for f in reader {
                    func_types.push(f.map_err(|e| Error::InvalidWasm(e.to_string()))?);
                }
            }
            Payload::MemorySection(reader) => {
                for m in reader {
                    memories += 1;
                    initial_pages = check_memory(&m.map_err(|e| Error::InvalidWasm(e.to_string()))?)?;
                }
            }
            Payload::TableSection(reader) => {
                for t in reader {
                    let t = t.map_err(|e| Error::InvalidWasm(e.to_string()))?;
                    if t.ty.initial > limits::MAX_TABLE_ELEMENTS
                        || t.ty.maximum.is_some_and(|m| m > limits::MAX_TABLE_ELEMENTS)
                    {
                        return Err(Error::InvalidTable);
                    }
                }
            }
            Payload::GlobalSection(reader) => {
                for g in reader {
                    if is_float(&g.map_err(|e| Error::InvalidWasm(e.to_string()))?.ty.content_type) {
                        return Err(Error::FloatingPoint("a global".into()));
                    }
                }
            }
            Payload::StartSection { .. } => return Err(Error::StartFunction),
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e.map_err(|e| Error::InvalidWasm(e.to_string()))?;
                    exports.push((e.name.to_string(), e.kind, e.index));
                }
            }
            Payload::CodeSectionEntry(body) => {
                let locals = body.get_locals_reader().map_err(|e| Error::InvalidWasm(e.to_string()))?;
                for local in locals {
                    let (_, ty) = local.map_err(|e| Error::InvalidWasm(e.to_string()))?;
                    if is_float(&ty) {
                        return Err(Error::FloatingPoint("a local".into()));
                    }
                }
                let mut ops = body.get_operators_reader().map_err(|e| Error::InvalidWasm(e.to_string()))?;
                while !ops.eof() {
                    let op = ops.read().map_err(|e| Error::InvalidWasm(e.to_string()))?;
                    if is_float_op(&op) {
                        return Err(Error::FloatingPoint(format!("instruction {op:?}")));
                    }
                }
            }
            _ => {}
        }
    }
    if memories > 1 {
        return Err(Error::InvalidMemory("more than one memory".into()));
    }
    let find = |name: &str| exports.iter().find(|(n, _, _)| n == name);
    match find(abi::EXPORT_MEMORY) {
        Some((_, ExternalKind::Memory, _)) => {}
        _ => return Err(Error::MissingExport(abi::EXPORT_MEMORY)),
    }
    for name in [abi::EXPORT_DEPLOY, abi::EXPORT_CALL] {
        let Some((_, ExternalKind::Func, index)) = find(name) else { return Err(Error::MissingExport(name)) };
        let ty = func_types.get(*index as usize).and_then(|t| types.get(*t as usize));
        if !ty.is_some_and(|t| t.params().is_empty() && t.results().is_empty()) {
            return Err(Error::MissingExport(name));
        }
    }
    Ok(CodeInfo { imports, initial_pages })
}

/// Whether an instruction touches floating point (its name mentions
/// `F32`/`F64`: constants, arithmetic, conversions, reinterpretations,
/// loads and stores).
fn is_float_op(op: &Operator<'_>) -> bool {
    let name = format!("{op:?}");
    let head = name.split(['{', ' ', '(']).next().unwrap_or_default();
    head.contains("F32") || head.contains("F64")
}
