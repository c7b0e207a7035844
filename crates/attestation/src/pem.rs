//! A strict reader of PEM certificate chains as Intel produces them.
//!
//! Accepted form: one or more blocks
//! `-----BEGIN CERTIFICATE-----\n` (base64 lines of 64 characters, the last
//! one 1–64, each ending in `\n`) `-----END CERTIFICATE-----\n`
//! (the final `\n` may be missing), optionally followed by NUL padding (DCAP
//! quotes pad their certification data). Base64 must be canonical. Anything
//! else is refused, so two different byte strings never denote the same
//! chain: a flipped byte anywhere is a different, rejected input.

use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----\n";
const END: &[u8] = b"-----END CERTIFICATE-----";
const LINE: usize = 64;
/// More certificates than this in one chain is refused.
pub(crate) const MAX_CERTS: usize = 8;

/// Parses a chain into DER certificates, leaf first as written.
pub(crate) fn parse_chain(text: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut rest = text;
    let mut certs = Vec::new();
    loop {
        rest = rest.strip_prefix(BEGIN).ok_or("expected -----BEGIN CERTIFICATE-----")?;
        let mut base64_text = Vec::new();
        loop {
            if let Some(after) = rest.strip_prefix(END) {
                rest = after;
                break;
            }
            let newline = rest.iter().position(|&b| b == b'\n').ok_or("unterminated PEM line")?;
            let (line, after) = rest.split_at(newline);
            if line.is_empty() || line.len() > LINE {
                return Err("PEM line length is not 1..=64".into());
            }
            if base64_text.len() % LINE != 0 {
                return Err("short PEM line before the last one".into());
            }
            base64_text.extend_from_slice(line);
            rest = &after[1..];
        }
        if base64_text.is_empty() {
            return Err("empty PEM block".into());
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(&base64_text)
            .map_err(|_| String::from("non-canonical base64 in PEM block"))?;
        certs.push(der);
        if certs.len() > MAX_CERTS {
            return Err("too many certificates".into());
        }
        match rest.split_first() {
            None => return Ok(certs),
            Some((b'\n', after)) => {
                rest = after;
                if rest.is_empty() || rest.iter().all(|&b| b == 0) {
                    return Ok(certs);
                }
            }
            Some((0, _)) if rest.iter().all(|&b| b == 0) => return Ok(certs),
            Some(_) => return Err("unexpected bytes after -----END CERTIFICATE-----".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use alloc::vec;

    fn block(der: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(core::str::from_utf8(chunk).unwrap());
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
        out
    }

    #[test]
    fn canonical_chains_parse() {
        let a = vec![1u8; 100];
        let b = vec![2u8; 48];
        let text = block(&a) + &block(&b);
        assert_eq!(parse_chain(text.as_bytes()).unwrap(), vec![a.clone(), b.clone()]);
        let padded = [text.as_bytes(), &[0u8; 7]].concat();
        assert_eq!(parse_chain(&padded).unwrap().len(), 2);
        let unterminated = text.trim_end_matches('\n');
        assert_eq!(parse_chain(unterminated.as_bytes()).unwrap().len(), 2);
    }

    #[test]
    fn every_flip_is_refused() {
        let text = block(&[7u8; 100]) + &block(&[9u8; 80]);
        let original = parse_chain(text.as_bytes()).unwrap();
        let mut bytes = text.into_bytes();
        for i in 0..bytes.len() {
            for bit in [0x01u8, 0x20, 0x80] {
                bytes[i] ^= bit;
                if let Ok(parsed) = parse_chain(&bytes) {
                    assert_ne!(parsed, original, "flip of byte {i} by {bit:#x} accepted unchanged");
                }
                bytes[i] ^= bit;
            }
        }
    }

    #[test]
    fn rejects_sloppy_forms() {
        let good = block(&[7u8; 100]);
        for bad in [
            good.replace('\n', "\r\n"),
            good.replace("-----\n", "-----\n\n"),
            String::from("junk") + &good,
            good.clone() + "junk",
            good.clone() + "\n\n",
            String::from("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"),
            String::new(),
        ] {
            assert!(parse_chain(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
