//! `umbra key …`: generate, inspect, sign, verify. Output follows `subkey`.

use std::io::Read;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use umbra_crypto::{
    ss58,
    suri::{self, SecretUri},
    Pair, Scheme,
};
use zeroize::Zeroizing;

use crate::CliError;

/// Largest message `sign`/`verify` read from stdin.
const MAX_MESSAGE_LEN: u64 = 16 << 20;

#[derive(Subcommand)]
pub(crate) enum KeyCommand {
    /// Generate a new random secret phrase and print its keys.
    Generate(GenerateArgs),
    /// Print the keys and addresses of a secret URI, an SS58 address or a public key.
    Inspect(InspectArgs),
    /// Sign a message (from --message, or stdin) with a secret URI.
    Sign(SignArgs),
    /// Verify a signature against a public key, an SS58 address or a secret URI.
    Verify(VerifyArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemeArg {
    Sr25519,
    Ed25519,
}

impl From<SchemeArg> for Scheme {
    fn from(s: SchemeArg) -> Self {
        match s {
            SchemeArg::Sr25519 => Scheme::Sr25519,
            SchemeArg::Ed25519 => Scheme::Ed25519,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputType {
    Text,
    Json,
}

#[derive(Args)]
struct KeyOpts {
    /// Signature scheme.
    #[arg(long, value_enum, default_value = "sr25519")]
    scheme: SchemeArg,
    /// SS58 network: a prefix number (0..16383) or polkadot, kusama, phala, substrate.
    #[arg(long, short = 'n', default_value = "42", value_parser = parse_network)]
    network: u16,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    output_type: OutputType,
}

#[derive(Args)]
pub(crate) struct GenerateArgs {
    #[command(flatten)]
    opts: KeyOpts,
    /// Number of words of the phrase.
    #[arg(long, short = 'w', default_value = "12", value_parser = parse_words)]
    words: usize,
}

#[derive(Args)]
pub(crate) struct InspectArgs {
    #[command(flatten)]
    opts: KeyOpts,
    /// Secret URI (phrase, 0x seed, //hard, /soft, ///password), SS58 address, or
    /// (with --public) a 0x public key. `-` reads it from stdin, keeping it out of
    /// the process list.
    uri: String,
    /// Treat the input as a public key (0x-hex or SS58), not a secret.
    #[arg(long)]
    public: bool,
    /// Password for the secret phrase (overrides `///password`).
    #[arg(long)]
    password: Option<String>,
}

#[derive(Args)]
pub(crate) struct SignArgs {
    /// Signature scheme.
    #[arg(long, value_enum, default_value = "sr25519")]
    scheme: SchemeArg,
    /// Secret URI of the signer; `-` reads it from the first line of stdin.
    #[arg(long)]
    suri: String,
    /// The message; read from stdin when absent.
    #[arg(long)]
    message: Option<String>,
    /// The message is hex (with or without 0x).
    #[arg(long)]
    hex: bool,
    /// Password for the secret phrase (overrides `///password`).
    #[arg(long)]
    password: Option<String>,
}

#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// Signature scheme.
    #[arg(long, value_enum, default_value = "sr25519")]
    scheme: SchemeArg,
    /// The 64-byte signature, hex (with or without 0x).
    signature: String,
    /// The signer: 0x public key, SS58 address, or a secret URI.
    uri: String,
    /// The message; read from stdin when absent.
    #[arg(long)]
    message: Option<String>,
    /// The message is hex (with or without 0x).
    #[arg(long)]
    hex: bool,
}

fn parse_network(s: &str) -> Result<u16, String> {
    let prefix = match s {
        "polkadot" => 0,
        "kusama" => 2,
        "phala" => 30,
        "substrate" | "umbra" => 42,
        n => n
            .parse::<u16>()
            .map_err(|_| format!("unknown network `{n}` (a number or polkadot, kusama, phala, substrate)"))?,
    };
    if !ss58::is_valid_prefix(prefix) {
        return Err(format!("network prefix {prefix} is reserved or above 16383"));
    }
    Ok(prefix)
}

fn parse_words(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n @ (12 | 15 | 18 | 21 | 24)) => Ok(n),
        _ => Err("a phrase has 12, 15, 18, 21 or 24 words".into()),
    }
}

pub(crate) fn run(cmd: KeyCommand) -> Result<String, CliError> {
    match cmd {
        KeyCommand::Generate(args) => generate(args),
        KeyCommand::Inspect(args) => inspect(args),
        KeyCommand::Sign(args) => sign(args),
        KeyCommand::Verify(args) => verify(args),
    }
}

/// Reads a secret argument; `-` means the first line of stdin.
pub(crate) fn secret_arg(arg: &str) -> Result<Zeroizing<String>, CliError> {
    if arg != "-" {
        return Ok(Zeroizing::new(arg.to_owned()));
    }
    let mut line = Zeroizing::new(String::new());
    std::io::BufRead::read_line(&mut std::io::stdin().lock().take(suri::MAX_SURI_LEN as u64 + 2), &mut line)
        .map_err(|e| CliError::new(format!("cannot read stdin: {e}")))?;
    Ok(Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned()))
}

fn message_arg(message: Option<&str>, is_hex: bool) -> Result<Vec<u8>, CliError> {
    let raw = match message {
        Some(m) => m.as_bytes().to_vec(),
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(MAX_MESSAGE_LEN + 1)
                .read_to_end(&mut buf)
                .map_err(|e| CliError::new(format!("cannot read stdin: {e}")))?;
            if buf.len() as u64 > MAX_MESSAGE_LEN {
                return Err(CliError::new(format!("message on stdin exceeds {MAX_MESSAGE_LEN} bytes")));
            }
            buf
        }
    };
    if !is_hex {
        return Ok(raw);
    }
    let text = std::str::from_utf8(&raw).map_err(|_| CliError::new("--hex message is not text"))?.trim();
    hex::decode(text.trim_start_matches("0x")).map_err(|_| CliError::new("--hex message is not valid hex"))
}

fn parse_uri(uri: &str, password: Option<&str>) -> Result<SecretUri, CliError> {
    let mut parsed = SecretUri::parse(uri)?;
    if let Some(p) = password {
        parsed.password = Some(Zeroizing::new(p.to_owned()));
    }
    Ok(parsed)
}

/// Whether the input could only be meant as an address (one base-58 word).
fn looks_like_address(s: &str) -> bool {
    (40..=ss58::MAX_ADDRESS_LEN).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn network_label(prefix: u16) -> String {
    ss58::network_name(prefix).map(str::to_owned).unwrap_or_else(|| prefix.to_string())
}

fn generate(args: GenerateArgs) -> Result<String, CliError> {
    let phrase = suri::generate_phrase(args.words, &mut rand_core::OsRng)?;
    let uri = SecretUri::parse(&phrase)?;
    let pair = Pair::from_suri(args.opts.scheme.into(), &uri)?;
    Ok(render_secret(&args.opts, SecretLabel::Phrase(&phrase), &pair))
}

fn inspect(args: InspectArgs) -> Result<String, CliError> {
    let input = secret_arg(&args.uri)?;
    let scheme: Scheme = args.opts.scheme.into();
    if args.public {
        let (public, prefix) = parse_public(&input, scheme)?;
        return Ok(render_public(&args.opts, &input, &public, prefix));
    }
    let secret = parse_uri(&input, args.password.as_deref()).and_then(|uri| {
        let pair = Pair::from_suri(scheme, &uri)?;
        Ok((uri, pair))
    });
    match secret {
        Ok((uri, pair)) => {
            let bare_phrase =
                uri.junctions.is_empty() && uri.password.is_none() && !input.is_empty() && uri.phrase().is_some();
            let label = if bare_phrase { SecretLabel::Phrase(&input) } else { SecretLabel::Uri(&input) };
            Ok(render_secret(&args.opts, label, &pair))
        }
        Err(_) if looks_like_address(&input) => match ss58::decode_account(&input) {
            Ok((prefix, public)) => Ok(render_public(&args.opts, &input, &public, Some(prefix))),
            Err(e) => Err(CliError::new(format!("not a valid secret URI or SS58 address: {e}"))),
        },
        Err(secret_err) => Err(secret_err),
    }
}

/// A public key from `0x` hex or SS58 (with the address's network prefix).
fn parse_public(input: &str, scheme: Scheme) -> Result<([u8; 32], Option<u16>), CliError> {
    if let Some(h) = input.strip_prefix("0x") {
        let mut public = [0u8; 32];
        hex::decode_to_slice(h, &mut public)
            .map_err(|_| CliError::new("public key must be 0x followed by 64 hex digits"))?;
        if scheme == Scheme::Ed25519 {
            umbra_crypto::ed25519::public_from_bytes(&public)?;
        }
        return Ok((public, None));
    }
    let (prefix, public) = ss58::decode_account(input)?;
    Ok((public, Some(prefix)))
}

enum SecretLabel<'a> {
    Phrase(&'a str),
    Uri(&'a str),
}

fn render_secret(opts: &KeyOpts, label: SecretLabel<'_>, pair: &Pair) -> String {
    let public = pair.public();
    let public_hex = format!("0x{}", hex::encode(public));
    let address = ss58::encode_account(opts.network, &public).unwrap_or_default();
    let seed = Zeroizing::new(pair.seed().map(|s| format!("0x{}", hex::encode(s))).unwrap_or_else(|| "n/a".into()));
    let network = network_label(opts.network);
    match (opts.output_type, label) {
        (OutputType::Json, label) => {
            let (key, value) = match label {
                SecretLabel::Phrase(p) => ("secretPhrase", p),
                SecretLabel::Uri(u) => ("secretKeyUri", u),
            };
            let mut map = serde_json::Map::new();
            map.insert(key.into(), json!(value));
            map.insert("networkId".into(), json!(network));
            map.insert("secretSeed".into(), json!(seed.as_str()));
            map.insert("publicKey".into(), json!(public_hex));
            map.insert("ss58PublicKey".into(), json!(address));
            map.insert("accountId".into(), json!(public_hex));
            map.insert("ss58Address".into(), json!(address));
            serde_json::to_string_pretty(&serde_json::Value::Object(map)).unwrap_or_default()
        }
        (OutputType::Text, label) => {
            let head = match label {
                SecretLabel::Phrase(p) => format!("Secret phrase:       {p}"),
                SecretLabel::Uri(u) => format!("Secret Key URI `{u}` is account:"),
            };
            format!(
                "{head}\n  Network ID:        {network}\n  Secret seed:       {}\n  Public key (hex):  {public_hex}\n  Account ID:        {public_hex}\n  Public key (SS58): {address}\n  SS58 Address:      {address}",
                seed.as_str()
            )
        }
    }
}

fn render_public(opts: &KeyOpts, input: &str, public: &[u8; 32], prefix: Option<u16>) -> String {
    // An address keeps its own network unless --network was changed.
    let network = match prefix {
        Some(p) if opts.network == ss58::SUBSTRATE_PREFIX => p,
        _ => opts.network,
    };
    let public_hex = format!("0x{}", hex::encode(public));
    let address = ss58::encode_account(network, public).unwrap_or_default();
    let label = network_label(network);
    match opts.output_type {
        OutputType::Json => serde_json::to_string_pretty(&json!({
            "publicKeyUri": input,
            "networkId": label,
            "publicKey": public_hex,
            "accountId": public_hex,
            "ss58PublicKey": address,
            "ss58Address": address,
        }))
        .unwrap_or_default(),
        OutputType::Text => format!(
            "Public Key URI `{input}` is account:\n  Network ID/Version: {label}\n  Public key (hex):   {public_hex}\n  Account ID:         {public_hex}\n  Public key (SS58):  {address}\n  SS58 Address:       {address}"
        ),
    }
}

fn sign(args: SignArgs) -> Result<String, CliError> {
    let input = secret_arg(&args.suri)?;
    let uri = parse_uri(&input, args.password.as_deref())?;
    let pair = Pair::from_suri(args.scheme.into(), &uri)?;
    let message = message_arg(args.message.as_deref(), args.hex)?;
    let signature = pair.sign(&message, &mut rand_core::OsRng);
    Ok(hex::encode(signature))
}

fn verify(args: VerifyArgs) -> Result<String, CliError> {
    let scheme: Scheme = args.scheme.into();
    let mut signature = [0u8; 64];
    hex::decode_to_slice(args.signature.trim_start_matches("0x"), &mut signature)
        .map_err(|_| CliError::new("signature must be 64 bytes of hex"))?;
    let public = match parse_public(&args.uri, scheme) {
        Ok((public, _)) => public,
        Err(public_err) => match parse_uri(&args.uri, None).and_then(|uri| Ok(Pair::from_suri(scheme, &uri)?)) {
            Ok(pair) => pair.public(),
            Err(_) => return Err(public_err),
        },
    };
    let message = message_arg(args.message.as_deref(), args.hex)?;
    if umbra_crypto::verify(scheme, &signature, &message, &public) {
        Ok("Signature verifies correctly.".into())
    } else {
        Err(CliError::new("Signature invalid."))
    }
}
