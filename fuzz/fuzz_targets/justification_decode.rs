//! GRANDPA justifications, headers, blocks and consensus logs from the
//! network must decode or fail cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use umbra_primitives::{
    block::Block,
    decode_bounded,
    grandpa::{ConsensusLog, GrandpaJustification},
    header::Header,
};

fuzz_target!(|data: &[u8]| {
    let _ = decode_bounded::<GrandpaJustification>(data, 1 << 20);
    let _ = decode_bounded::<ConsensusLog>(data, 1 << 20);
    let _ = decode_bounded::<Block>(data, 1 << 20);
    if let Ok(header) = decode_bounded::<Header>(data, 1 << 20) {
        let _ = header.grandpa_logs().count();
        let _ = header.split_seal(b"aura");
    }
});
