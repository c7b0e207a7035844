//! Exporting and importing blocks as a file.
//!
//! Format: a sequence of records `u32 LE length ‖ SCALE((header, body,
//! Option<justification>))`, oldest first, starting after genesis. Import
//! verifies every block exactly as a block from the network (seal, slot,
//! execution, state root); a block with a GRANDPA justification that
//! verifies against the current authority set is finalized.

use std::{
    io::{Read, Write},
    sync::Arc,
};

use parity_scale_codec::{Decode, Encode};
use umbra_consensus::{grandpa, Chain, Origin};
use umbra_primitives::{block::OpaqueExtrinsic, header::Header};

use crate::Error;

/// Largest record accepted on import.
pub const MAX_RECORD: u32 = 64 << 20;

/// Writes canonical blocks `from..=to` (default: best) to `out`; returns how many.
pub fn export(chain: &Chain, from: u32, to: Option<u32>, out: &mut dyn Write) -> Result<u32, Error> {
    let to = match to {
        Some(t) => t,
        None => chain.best()?.number,
    };
    let mut count = 0;
    for n in from.max(1)..=to {
        let Some(hash) = chain.db().hash_at(n)? else { break };
        let header = chain.expect_header(&hash)?;
        let body = chain.db().body(&hash)?.unwrap_or_default();
        let justification = chain.db().justification(&hash)?;
        let record = (header, body, justification).encode();
        out.write_all(&(record.len() as u32).to_le_bytes()).map_err(|e| Error::Io(e.to_string()))?;
        out.write_all(&record).map_err(|e| Error::Io(e.to_string()))?;
        count += 1;
    }
    Ok(count)
}

/// Imports blocks from `input`; returns (imported, already known).
pub fn import(chain: &Arc<Chain>, input: &mut dyn Read) -> Result<(u32, u32), Error> {
    let (mut imported, mut known) = (0, 0);
    loop {
        let mut len = [0u8; 4];
        match input.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(Error::Io(e.to_string())),
        }
        let len = u32::from_le_bytes(len);
        if len > MAX_RECORD {
            return Err(Error::Import(format!("record of {len} bytes exceeds {MAX_RECORD}")));
        }
        let mut record = vec![0u8; len as usize];
        input.read_exact(&mut record).map_err(|e| Error::Import(format!("truncated record: {e}")))?;
        let (header, body, justification): (Header, Vec<OpaqueExtrinsic>, Option<Vec<u8>>) =
            Decode::decode(&mut &record[..]).map_err(|_| Error::Import("undecodable record".into()))?;
        let hash = header.hash();
        let number = header.number;
        match chain.import(header, body, None, Origin::External { now_slot: u64::MAX - 2 }) {
            Ok(_) => imported += 1,
            Err(umbra_consensus::Error::AlreadyKnown(_)) => known += 1,
            Err(e) => return Err(Error::Import(format!("block #{number}: {e}"))),
        }
        if let Some(j) = justification {
            // Verified against the set in force, enacting set changes as
            // the voter would.
            grandpa::import_justification(chain, hash, &j)
                .map_err(|e| Error::Import(format!("justification of #{number}: {e}")))?;
        }
    }
    Ok((imported, known))
}
