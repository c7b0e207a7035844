//! What a command prints: text for people, or with `--output json` one
//! JSON document for scripts (amounts in plancks as decimal strings,
//! hashes and ids as 0x-hex, accounts as SS58).

use serde_json::Value;

/// A command's result in both forms.
pub(crate) struct Report {
    /// For people.
    pub text: String,
    /// For scripts.
    pub json: Value,
}

impl Report {
    pub(crate) fn new(text: impl Into<String>, json: Value) -> Self {
        Report { text: text.into(), json }
    }
}

/// How results are printed (`--output`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Lines for people.
    Text,
    /// One JSON document on stdout; errors as `{"error": "…"}` too.
    Json,
}

/// `0x`-hex of `bytes`.
pub(crate) fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// The text form.
impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}
