//! Envelope v1: public-key encryption to a TEE or a contract (`04-keys.md`).
//!
//! ```text
//! Envelope { version: u8 = 1, ephemeral_pubkey: [u8; 32], nonce: [u8; 12], ciphertext: Vec<u8> }
//! shared     = X25519(ephemeral_secret, recipient_pubkey)            (all-zero rejected)
//! key        = HKDF-SHA256(ikm = shared, salt = label,
//!                          info = ephemeral_pubkey ‖ recipient_pubkey)
//! ciphertext = AES-256-GCM(key, nonce, plaintext, aad = label ‖ context)
//! ```
//!
//! The wire form is the SCALE encoding of [`Envelope`] (the ciphertext,
//! which includes the 16-byte tag, carries a compact length prefix).
//!
//! * `label` is a [`DomainLabel`] from the label table; the `-insecure` twin
//!   of the simulated TEE gives unrelated keys.
//! * `context` binds the envelope to where it may be used (chain genesis hash,
//!   purpose, contract or cluster id; see [`context`]): an envelope opened
//!   under another context fails authentication.
//! * Sessions ([`SealingSession`], [`OpeningSession`]) reuse one ephemeral key
//!   and its derived AEAD key for many envelopes; the sender's nonce is then a
//!   96-bit big-endian counter that never repeats.
//! * Replies ([`ReplyKey`], [`ReplyOpener`]): the recipient answers with a key
//!   derived from the same shared secret under the response label, the
//!   request's nonce and a **binding** that names the call the reply answers
//!   ([`reply_binding`]: command and call id, or query, responder and
//!   salts). Only the requester can read the answer, an answer cannot be
//!   replayed as the answer to another request, and a request replayed (on
//!   chain as another call, or to a responder that adds a fresh salt) gets a
//!   reply under another key: no (key, nonce) pair is ever used for two
//!   different replies.
//!
//! ```text
//! reply base = HKDF-SHA256(ikm = shared, salt = response label,
//!                          info = ephemeral_pubkey ‖ recipient_pubkey ‖ request nonce)
//! reply key  = HKDF-SHA256(ikm = reply base, salt = response label, info = binding)
//! ```
//!
//! Opening fails with a precise [`Error`]: truncated or oversized buffers,
//! trailing bytes, an unknown version, a low-order ephemeral key, or an
//! authentication failure. The last one covers a wrong recipient key, label or
//! context and any altered byte: AEAD makes these indistinguishable on
//! purpose, so the opener learns nothing about which one it was.

use alloc::vec::Vec;

use parity_scale_codec::{Compact, Decode, Encode};
use scale_info::TypeInfo;
use zeroize::Zeroizing;

use crate::{
    aead::{self, NONCE_LEN, TAG_LEN},
    kdf,
    labels::{DomainLabel, Label},
    x25519::{self, SharedSecret},
    Error, Result,
};

/// The only envelope version this build seals and opens.
pub const VERSION_V1: u8 = 1;

/// Bytes before the ciphertext's length prefix: version, ephemeral key, nonce.
pub const HEADER_LEN: usize = 1 + 32 + NONCE_LEN;

/// Smallest possible encoded envelope: header, one-byte length, empty
/// plaintext's tag.
pub const MIN_ENCODED_LEN: usize = HEADER_LEN + 1 + TAG_LEN;

/// Default upper bound on an encoded envelope accepted from outside (1 MiB).
pub const DEFAULT_MAX_ENCODED_LEN: usize = 1 << 20;

/// What an envelope is for; part of its [`context`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode, TypeInfo)]
#[repr(u8)]
pub enum Purpose {
    /// A contract command (submitted through the chain).
    #[codec(index = 0)]
    Command = 0,
    /// A query sent straight to a worker.
    #[codec(index = 1)]
    Query = 1,
    /// The answer to a query.
    #[codec(index = 2)]
    QueryResponse = 2,
    /// Key material sent between TEEs.
    #[codec(index = 3)]
    KeyTransport = 3,
    /// Output of a command, encrypted to the caller.
    #[codec(index = 4)]
    CommandOutput = 4,
}

/// The canonical context bytes: `SCALE((genesis_hash, purpose, subject))`,
/// where `subject` is the contract, cluster or worker id it is meant for.
pub fn context(genesis_hash: &[u8; 32], purpose: Purpose, subject: &[u8]) -> Vec<u8> {
    (genesis_hash, purpose, subject).encode()
}

/// An encrypted message. Field order and types are the wire format.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct Envelope {
    /// Format version, [`VERSION_V1`].
    pub version: u8,
    /// The sender's ephemeral (or session) X25519 public key.
    pub ephemeral: x25519::Public,
    /// AEAD nonce.
    pub nonce: [u8; NONCE_LEN],
    /// AES-256-GCM ciphertext followed by its 16-byte tag.
    pub ciphertext: Vec<u8>,
}

impl Envelope {
    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode()
    }

    /// Parses the wire encoding, accepting at most `max_len` bytes and no
    /// trailing bytes. Never panics and never allocates more than the input.
    pub fn from_bytes(bytes: &[u8], max_len: usize) -> Result<Self> {
        let len = bytes.len();
        if len > max_len {
            return Err(Error::EnvelopeTooLarge { len, max: max_len });
        }
        let Some(&version) = bytes.first() else {
            return Err(Error::EnvelopeTruncated { len, min: MIN_ENCODED_LEN });
        };
        if version != VERSION_V1 {
            return Err(Error::EnvelopeUnknownVersion(version));
        }
        if len < MIN_ENCODED_LEN {
            return Err(Error::EnvelopeTruncated { len, min: MIN_ENCODED_LEN });
        }
        let mut ephemeral = [0u8; 32];
        ephemeral.copy_from_slice(&bytes[1..33]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[33..HEADER_LEN]);
        let mut rest = &bytes[HEADER_LEN..];
        let declared = Compact::<u32>::decode(&mut rest)
            .map_err(|_| Error::EnvelopeMalformed("bad ciphertext length prefix"))?
            .0 as usize;
        let prefix_len = len - HEADER_LEN - rest.len();
        if declared > rest.len() {
            let needed = HEADER_LEN.saturating_add(prefix_len).saturating_add(declared);
            return Err(Error::EnvelopeTruncated { len, min: needed });
        }
        if declared < rest.len() {
            return Err(Error::EnvelopeMalformed("trailing bytes after the ciphertext"));
        }
        if declared < TAG_LEN {
            return Err(Error::EnvelopeMalformed("ciphertext shorter than the authentication tag"));
        }
        Ok(Envelope { version, ephemeral: x25519::Public(ephemeral), nonce, ciphertext: rest.to_vec() })
    }
}

fn aad(label: DomainLabel, context: &[u8]) -> Vec<u8> {
    let label = label.bytes();
    let mut aad = Vec::with_capacity(label.len() + context.len());
    aad.extend_from_slice(label);
    aad.extend_from_slice(context);
    aad
}

/// Opens `envelope` with a key already derived for the session of `ephemeral`.
fn open_in_session(
    key: &aead::Key,
    label: DomainLabel,
    ephemeral: &x25519::Public,
    envelope: &Envelope,
    context: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    if envelope.version != VERSION_V1 {
        return Err(Error::EnvelopeUnknownVersion(envelope.version));
    }
    if envelope.ephemeral != *ephemeral {
        return Err(Error::EnvelopeSessionMismatch);
    }
    key.open(&envelope.nonce, &aad(label, context), &envelope.ciphertext)
}

fn message_key(
    shared: &SharedSecret,
    label: DomainLabel,
    ephemeral: &x25519::Public,
    recipient: &x25519::Public,
) -> aead::Key {
    let key = kdf::derive_with_infos(label, shared.as_bytes(), &[&ephemeral.0, &recipient.0]);
    aead::Key::new(&key)
}

/// The response label in the same domain as `label`.
fn response_label(label: DomainLabel) -> DomainLabel {
    Label::EnvelopeResponse.in_domain(label.domain)
}

/// What a reply answers, in a reply key's derivation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub enum ReplyKind {
    /// The output of a command executed on chain order.
    #[codec(index = 0)]
    Command = 0,
    /// The answer to a query.
    #[codec(index = 1)]
    Query = 1,
}

/// The binding of a reply key: `SCALE((kind, responder, call))`. For a
/// command, `responder` is the cluster and `call` its call id; for a query,
/// the worker's identity and the client's nonce with the responder's salt.
pub fn reply_binding(kind: ReplyKind, responder: &[u8], call: &[u8]) -> Vec<u8> {
    (kind, responder, call).encode()
}

fn reply_base(
    shared: &SharedSecret,
    label: DomainLabel,
    ephemeral: &x25519::Public,
    recipient: &x25519::Public,
    request_nonce: &[u8; NONCE_LEN],
) -> Zeroizing<[u8; 32]> {
    kdf::derive_with_infos(response_label(label), shared.as_bytes(), &[&ephemeral.0, &recipient.0, request_nonce])
}

fn bound_key(base: &[u8; 32], label: DomainLabel, binding: &[u8]) -> aead::Key {
    aead::Key::new(&kdf::derive_with_infos(label, base, &[binding]))
}

/// An envelope just sealed, with what the sender needs to read the reply.
pub struct Sealed {
    /// The envelope to send.
    pub envelope: Envelope,
    /// Opens the recipient's reply to this envelope.
    pub reply: ReplyOpener,
}

/// Seals `plaintext` to `recipient` with a fresh ephemeral key from `rng`.
pub fn seal<R: rand_core::RngCore + rand_core::CryptoRng>(
    rng: &mut R,
    recipient: &x25519::Public,
    label: DomainLabel,
    context: &[u8],
    plaintext: &[u8],
) -> Result<Sealed> {
    let ephemeral_secret = x25519::Secret::random(rng);
    let ephemeral = ephemeral_secret.public();
    let shared = ephemeral_secret.agree(recipient)?;
    let key = message_key(&shared, label, &ephemeral, recipient);
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let ciphertext = key.seal(&nonce, &aad(label, context), plaintext)?;
    let reply = ReplyOpener {
        base: reply_base(&shared, label, &ephemeral, recipient, &nonce),
        label: response_label(label),
        ephemeral,
    };
    Ok(Sealed { envelope: Envelope { version: VERSION_V1, ephemeral, nonce, ciphertext }, reply })
}

/// A sender's session: one ephemeral key and AEAD key for many envelopes to
/// one recipient, with a counter nonce. No `Debug`; secrets zeroized on drop.
pub struct SealingSession {
    shared: SharedSecret,
    key: aead::Key,
    label: DomainLabel,
    ephemeral: x25519::Public,
    recipient: x25519::Public,
    counter: u64,
}

impl SealingSession {
    /// Starts a session to `recipient` (one X25519 and one HKDF).
    pub fn new<R: rand_core::RngCore + rand_core::CryptoRng>(
        rng: &mut R,
        recipient: &x25519::Public,
        label: DomainLabel,
    ) -> Result<Self> {
        let ephemeral_secret = x25519::Secret::random(rng);
        let ephemeral = ephemeral_secret.public();
        let shared = ephemeral_secret.agree(recipient)?;
        let key = message_key(&shared, label, &ephemeral, recipient);
        Ok(SealingSession { shared, key, label, ephemeral, recipient: *recipient, counter: 0 })
    }

    /// The session's ephemeral public key.
    pub fn ephemeral(&self) -> &x25519::Public {
        &self.ephemeral
    }

    /// Seals the next message; its nonce is the session counter (big-endian
    /// in the last 8 bytes), so no nonce repeats within the session.
    pub fn seal(&mut self, context: &[u8], plaintext: &[u8]) -> Result<Sealed> {
        let counter = self.counter;
        self.counter = counter.checked_add(1).ok_or(Error::NonceExhausted)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce[4..].copy_from_slice(&counter.to_be_bytes());
        let ciphertext = self.key.seal(&nonce, &aad(self.label, context), plaintext)?;
        let reply = ReplyOpener {
            base: reply_base(&self.shared, self.label, &self.ephemeral, &self.recipient, &nonce),
            label: response_label(self.label),
            ephemeral: self.ephemeral,
        };
        Ok(Sealed { envelope: Envelope { version: VERSION_V1, ephemeral: self.ephemeral, nonce, ciphertext }, reply })
    }
}

/// The holder of an X25519 secret that envelopes are sealed to.
pub struct Recipient {
    secret: x25519::Secret,
    public: x25519::Public,
}

/// A successfully opened envelope.
pub struct Opened {
    /// The plaintext (zeroized on drop).
    pub plaintext: Zeroizing<Vec<u8>>,
    /// Seals replies to this envelope (see [`ReplyBase::key`]).
    pub reply: ReplyBase,
}

impl Recipient {
    /// Wraps a secret.
    pub fn new(secret: x25519::Secret) -> Self {
        let public = secret.public();
        Recipient { secret, public }
    }

    /// The public key senders seal to.
    pub fn public(&self) -> &x25519::Public {
        &self.public
    }

    /// Derives the session for `envelope`'s ephemeral key (one X25519 and one
    /// HKDF); reuse it to open further envelopes of the same session cheaply.
    pub fn session(&self, envelope: &Envelope, label: DomainLabel) -> Result<OpeningSession> {
        if envelope.version != VERSION_V1 {
            return Err(Error::EnvelopeUnknownVersion(envelope.version));
        }
        let shared = self.secret.agree(&envelope.ephemeral).map_err(|_| Error::EnvelopeLowOrderKey)?;
        let key = message_key(&shared, label, &envelope.ephemeral, &self.public);
        Ok(OpeningSession { shared, key, label, ephemeral: envelope.ephemeral, recipient: self.public })
    }

    /// Opens one envelope under `label` and `context`.
    pub fn open(&self, envelope: &Envelope, label: DomainLabel, context: &[u8]) -> Result<Opened> {
        let session = self.session(envelope, label)?;
        let plaintext = session.open(envelope, context)?;
        Ok(Opened { plaintext, reply: session.reply_base(envelope) })
    }

    /// Parses and opens wire bytes (at most `max_len`).
    pub fn open_bytes(&self, bytes: &[u8], max_len: usize, label: DomainLabel, context: &[u8]) -> Result<Opened> {
        self.open(&Envelope::from_bytes(bytes, max_len)?, label, context)
    }
}

/// A recipient's cached session for one ephemeral key. No `Debug`; zeroized
/// on drop.
pub struct OpeningSession {
    shared: SharedSecret,
    key: aead::Key,
    label: DomainLabel,
    ephemeral: x25519::Public,
    recipient: x25519::Public,
}

impl OpeningSession {
    /// The ephemeral key this session belongs to.
    pub fn ephemeral(&self) -> &x25519::Public {
        &self.ephemeral
    }

    /// Opens an envelope of this session (AES-GCM only, no X25519).
    pub fn open(&self, envelope: &Envelope, context: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        open_in_session(&self.key, self.label, &self.ephemeral, envelope, context)
    }

    /// What reply keys to `envelope` derive from (one HKDF).
    pub fn reply_base(&self, envelope: &Envelope) -> ReplyBase {
        ReplyBase {
            base: reply_base(&self.shared, self.label, &self.ephemeral, &self.recipient, &envelope.nonce),
            label: response_label(self.label),
            ephemeral: self.ephemeral,
        }
    }

    /// The key to seal the reply to `envelope` that answers the call
    /// `binding` names ([`reply_binding`]); two HKDFs.
    pub fn reply_key(&self, envelope: &Envelope, binding: &[u8]) -> ReplyKey {
        self.reply_base(envelope).key(binding)
    }
}

/// The recipient's base for reply keys to one envelope. No `Debug`;
/// zeroized on drop.
pub struct ReplyBase {
    base: Zeroizing<[u8; 32]>,
    label: DomainLabel,
    ephemeral: x25519::Public,
}

impl ReplyBase {
    /// The key for the reply answering the call `binding` names.
    pub fn key(&self, binding: &[u8]) -> ReplyKey {
        ReplyKey {
            key: bound_key(&self.base, self.label, binding),
            label: self.label,
            ephemeral: self.ephemeral,
            counter: 0,
        }
    }
}

/// The recipient's key for replying to one envelope about one call. Replies
/// carry the request's ephemeral key and a counter nonce.
pub struct ReplyKey {
    key: aead::Key,
    label: DomainLabel,
    ephemeral: x25519::Public,
    counter: u64,
}

impl ReplyKey {
    /// Seals a reply under `context` (use [`Purpose::QueryResponse`] or
    /// [`Purpose::CommandOutput`]).
    pub fn seal(&mut self, context: &[u8], plaintext: &[u8]) -> Result<Envelope> {
        let counter = self.counter;
        self.counter = counter.checked_add(1).ok_or(Error::NonceExhausted)?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce[4..].copy_from_slice(&counter.to_be_bytes());
        let ciphertext = self.key.seal(&nonce, &aad(self.label, context), plaintext)?;
        Ok(Envelope { version: VERSION_V1, ephemeral: self.ephemeral, nonce, ciphertext })
    }
}

/// The sender's key material for reading replies to one envelope it
/// sealed. No `Debug`; zeroized on drop.
pub struct ReplyOpener {
    base: Zeroizing<[u8; 32]>,
    label: DomainLabel,
    ephemeral: x25519::Public,
}

impl ReplyOpener {
    /// Opens a reply under `context` that answers the call `binding` names
    /// (a reply bound to another call fails authentication).
    pub fn open(&self, binding: &[u8], reply: &Envelope, context: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        open_in_session(&bound_key(&self.base, self.label, binding), self.label, &self.ephemeral, reply, context)
    }
}
