//! `#[contract]`: turns a module with a `#[storage]` struct and an `impl`
//! of `#[constructor]`, `#[command]` and `#[query]` methods into a
//! contract.
//!
//! Generated:
//! * `Storage::storage()`: the struct with each field (a `Value` or `Map`
//!   cell) keyed by its name;
//! * `deploy()`: decodes the constructor's arguments (a SCALE tuple) from
//!   the input, runs it;
//! * `call()`: decodes `Call { selector, args }`, runs the method whose
//!   selector (first four bytes of BLAKE2-256 of its name) matches with
//!   its SCALE-decoded arguments, and returns its SCALE-encoded result; a
//!   method returning `Result<T, E>` reverts with `E` on `Err`;
//! * `ABI`: a JSON description for clients: methods (kinds, selectors,
//!   argument and return types), every enum and struct defined in the
//!   module (`types`: variants with their SCALE indices and fields, struct
//!   fields) so results, revert errors and events decode by name, and the
//!   `#[event]` enum (`event`) whose values `env::emit` sends;
//! * on wasm32, the `deploy` and `call` exports.

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{parse_macro_input, FnArg, ImplItem, Item, ItemMod, Pat, ReturnType, Type};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Constructor,
    Command,
    Query,
}

fn kind_of(attrs: &[syn::Attribute]) -> Option<Kind> {
    attrs.iter().find_map(|a| {
        let p = a.path();
        if p.is_ident("constructor") {
            Some(Kind::Constructor)
        } else if p.is_ident("command") {
            Some(Kind::Command)
        } else if p.is_ident("query") {
            Some(Kind::Query)
        } else {
            None
        }
    })
}

fn strip(attrs: &mut Vec<syn::Attribute>) {
    attrs.retain(|a| !["constructor", "command", "query", "storage", "event"].iter().any(|n| a.path().is_ident(n)));
}

/// `{"name":…,"type":…}` of each field (tuple fields are named by position).
fn fields_json(fields: &syn::Fields) -> String {
    let each: Vec<String> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let name = f.ident.as_ref().map_or_else(|| i.to_string(), |n| n.to_string());
            format!("{{\"name\":\"{name}\",\"type\":\"{}\"}}", type_string(&f.ty))
        })
        .collect();
    format!("[{}]", each.join(","))
}

/// A variant's SCALE index: `#[codec(index = N)]`, else its explicit
/// discriminant, else the one after the previous variant's (as
/// parity-scale-codec numbers them).
fn variant_index(variant: &syn::Variant, next: u64) -> syn::Result<u64> {
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident("codec")) {
        let mut index = None;
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("index") {
                let lit: syn::LitInt = meta.value()?.parse()?;
                index = Some(lit.base10_parse::<u64>()?);
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        })?;
        if let Some(index) = index {
            return Ok(index);
        }
    }
    if let Some((_, syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(lit), .. }))) = &variant.discriminant {
        return lit.base10_parse::<u64>();
    }
    Ok(next)
}

/// The ABI description of a type defined in the contract module:
/// `{"kind":"enum","variants":[{"name","index","fields"}]}` or
/// `{"kind":"struct","fields":[…]}`, for clients to decode results,
/// errors and events by name.
fn type_json(item: &Item) -> syn::Result<Option<(String, String)>> {
    match item {
        Item::Enum(e) => {
            let mut next = 0u64;
            let mut variants = Vec::new();
            for v in &e.variants {
                let index = variant_index(v, next)?;
                if index > 255 {
                    return Err(syn::Error::new(v.ident.span(), "a variant index must fit one byte"));
                }
                next = index + 1;
                variants.push(format!(
                    "{{\"name\":\"{}\",\"index\":{index},\"fields\":{}}}",
                    v.ident,
                    fields_json(&v.fields)
                ));
            }
            Ok(Some((e.ident.to_string(), format!("{{\"kind\":\"enum\",\"variants\":[{}]}}", variants.join(",")))))
        }
        Item::Struct(st) => {
            Ok(Some((st.ident.to_string(), format!("{{\"kind\":\"struct\",\"fields\":{}}}", fields_json(&st.fields)))))
        }
        _ => Ok(None),
    }
}

fn is_result(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Result"))
}

fn type_string(ty: &Type) -> String {
    quote!(#ty).to_string().replace(' ', "")
}

/// See the crate documentation.
#[proc_macro_attribute]
pub fn contract(_attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut module = parse_macro_input!(item as ItemMod);
    match expand(&mut module) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(module: &mut ItemMod) -> syn::Result<proc_macro2::TokenStream> {
    let span = module.ident.span();
    let Some((_, items)) = module.content.as_mut() else {
        return Err(syn::Error::new(span, "#[contract] needs an inline module"));
    };
    let mut storage: Option<(syn::Ident, Vec<(syn::Ident, Type)>)> = None;
    let mut methods = Vec::new();
    let mut types = Vec::new();
    let mut event: Option<String> = None;
    for item in items.iter_mut() {
        if let Item::Enum(e) = &mut *item {
            if e.attrs.iter().any(|a| a.path().is_ident("event")) {
                if event.is_some() {
                    return Err(syn::Error::new(e.ident.span(), "at most one #[event] enum"));
                }
                event = Some(e.ident.to_string());
                strip(&mut e.attrs);
            }
        }
        let is_storage = matches!(&*item, Item::Struct(s) if s.attrs.iter().any(|a| a.path().is_ident("storage")));
        if !is_storage {
            if let Some(t) = type_json(item)? {
                types.push(t);
            }
        }
        match item {
            Item::Struct(s) if s.attrs.iter().any(|a| a.path().is_ident("storage")) => {
                strip(&mut s.attrs);
                let fields = s
                    .fields
                    .iter()
                    .map(|f| f.ident.clone().map(|i| (i, f.ty.clone())))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| syn::Error::new(s.ident.span(), "#[storage] needs named fields"))?;
                storage = Some((s.ident.clone(), fields));
            }
            Item::Impl(imp) => {
                for it in imp.items.iter_mut() {
                    if let ImplItem::Fn(f) = it {
                        if let Some(kind) = kind_of(&f.attrs) {
                            strip(&mut f.attrs);
                            methods.push((kind, f.sig.clone()));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let (name, fields) = storage.ok_or_else(|| syn::Error::new(span, "no #[storage] struct"))?;
    let constructors: Vec<_> = methods.iter().filter(|(k, _)| *k == Kind::Constructor).collect();
    if constructors.len() != 1 {
        return Err(syn::Error::new(span, "exactly one #[constructor] is needed"));
    }

    let field_inits = fields.iter().map(|(ident, ty)| {
        let key = format!("{ident}/");
        let key = syn::LitByteStr::new(key.as_bytes(), ident.span());
        quote!(#ident: <#ty>::new(#key))
    });

    let args_of = |sig: &syn::Signature| -> syn::Result<(Vec<syn::Ident>, Vec<Type>)> {
        let mut names = Vec::new();
        let mut types = Vec::new();
        for (i, input) in sig.inputs.iter().enumerate() {
            if let FnArg::Typed(pt) = input {
                let ident = match &*pt.pat {
                    Pat::Ident(p) => p.ident.clone(),
                    _ => format_ident!("arg{}", i),
                };
                names.push(ident);
                types.push((*pt.ty).clone());
            }
        }
        Ok((names, types))
    };

    // Constructor.
    let (_, ctor) = constructors[0];
    let ctor_name = &ctor.ident;
    let (ctor_args, ctor_types) = args_of(ctor)?;
    let deploy = quote! {
        pub fn deploy() {
            let input = ::umbra_contract_sdk::env::input();
            let (#(#ctor_args,)*): (#(#ctor_types,)*) =
                ::umbra_contract_sdk::Decode::decode(&mut &input[..])
                    .unwrap_or_else(|_| ::umbra_contract_sdk::env::revert(b"bad constructor input"));
            let _ = #name::#ctor_name(#(#ctor_args),*);
        }
    };

    // Dispatch.
    let mut arms = Vec::new();
    let mut abi_methods = Vec::new();
    for (kind, sig) in methods.iter().filter(|(k, _)| *k != Kind::Constructor) {
        let method = &sig.ident;
        let selector_bytes = sp_crypto_hashing::blake2_256(method.to_string().as_bytes());
        let sel = [selector_bytes[0], selector_bytes[1], selector_bytes[2], selector_bytes[3]];
        let (arg_names, arg_types) = args_of(sig)?;
        let mutable = matches!(sig.inputs.first(), Some(FnArg::Receiver(r)) if r.mutability.is_some());
        let receiver =
            if mutable { quote!(let mut this = #name::storage();) } else { quote!(let this = #name::storage();) };
        let returns = match &sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some((**ty).clone()),
        };
        let finish = match &returns {
            None => quote!(let () = result;),
            Some(ty) if is_result(ty) => quote! {
                match result {
                    Ok(value) => ::umbra_contract_sdk::env::return_value(&::umbra_contract_sdk::Encode::encode(&value)),
                    Err(error) => ::umbra_contract_sdk::env::revert(&::umbra_contract_sdk::Encode::encode(&error)),
                }
            },
            Some(_) => quote!(::umbra_contract_sdk::env::return_value(&::umbra_contract_sdk::Encode::encode(&result));),
        };
        arms.push(quote! {
            [#(#sel),*] => {
                let (#(#arg_names,)*): (#(#arg_types,)*) = call
                    .args()
                    .unwrap_or_else(|| ::umbra_contract_sdk::env::revert(b"bad arguments"));
                #receiver
                let result = this.#method(#(#arg_names),*);
                #finish
            }
        });
        let kind_name = if *kind == Kind::Command { "command" } else { "query" };
        let args_json: Vec<String> = arg_names
            .iter()
            .zip(&arg_types)
            .map(|(n, t)| format!("{{\"name\":\"{n}\",\"type\":\"{}\"}}", type_string(t)))
            .collect();
        abi_methods.push(format!(
            "{{\"name\":\"{method}\",\"kind\":\"{kind_name}\",\"selector\":\"0x{}\",\"args\":[{}],\"returns\":{}}}",
            sel.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            args_json.join(","),
            returns.as_ref().map_or("null".to_string(), |t| format!("\"{}\"", type_string(t)))
        ));
    }
    let ctor_json: Vec<String> = args_of(ctor)?
        .0
        .iter()
        .zip(&ctor_types)
        .map(|(n, t)| format!("{{\"name\":\"{n}\",\"type\":\"{}\"}}", type_string(t)))
        .collect();
    types.sort();
    let types_json: Vec<String> = types.iter().map(|(name, t)| format!("\"{name}\":{t}")).collect();
    let abi = format!(
        "{{\"abi_version\":1,\"contract\":\"{}\",\"constructor\":{{\"name\":\"{ctor_name}\",\"args\":[{}]}},\"methods\":[{}],\"types\":{{{}}},\"event\":{}}}",
        module.ident,
        ctor_json.join(","),
        abi_methods.join(","),
        types_json.join(","),
        event.map_or("null".to_string(), |e| format!("\"{e}\""))
    );

    let abi_len = abi.len();
    let abi_bytes = syn::LitByteStr::new(abi.as_bytes(), proc_macro2::Span::call_site());
    let generated: Vec<Item> = vec![
        syn::parse2(quote! {
            impl #name {
                /// The contract's storage: each field a cell keyed by its name.
                pub fn storage() -> Self {
                    #name { #(#field_inits),* }
                }
            }
        })?,
        syn::parse2(quote! {
            /// Runs the constructor with the input's arguments.
            #deploy
        })?,
        syn::parse2(quote! {
            /// Runs the command or query the input names.
            pub fn call() {
                let call = ::umbra_contract_sdk::Call::from_input()
                    .unwrap_or_else(|| ::umbra_contract_sdk::env::revert(b"bad input"));
                match call.selector {
                    #(#arms)*
                    _ => ::umbra_contract_sdk::env::revert(b"unknown method"),
                }
            }
        })?,
        syn::parse2(quote! {
            /// The contract's ABI (JSON).
            pub const ABI: &str = #abi;
        })?,
        syn::parse2(quote! {
            ::umbra_contract_sdk::entry!(deploy, call);
        })?,
        // The ABI travels with the code: a wasm custom section the CLI and
        // SDKs read from the uploaded code (the VM ignores it).
        syn::parse2(quote! {
            #[cfg(target_arch = "wasm32")]
            #[allow(unsafe_code)]
            #[link_section = "umbra-abi"]
            #[used]
            static UMBRA_ABI: [u8; #abi_len] = *#abi_bytes;
        })?,
    ];
    items.extend(generated);
    Ok(quote!(#module))
}
