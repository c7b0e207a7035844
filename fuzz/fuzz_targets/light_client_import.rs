//! Header batches and justifications from a relayer: never a panic, and a
//! client that refuses them is unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use umbra_light_client::{testing, testing::Voters, LightClient};
use umbra_primitives::{decode_bounded, header::Header};

fuzz_target!(|data: &[u8]| {
    let voters = Voters::new(4, 1, 0);
    let mut client = LightClient::new(testing::genesis(), voters.set()).expect("valid set");
    let before = client.clone();
    if let Ok((headers, justification)) = decode_bounded::<(Vec<Header>, Vec<u8>)>(data, 1 << 20) {
        if client.import(&headers, &justification).is_err() {
            assert_eq!(client, before);
        }
    }
    let _ = client.import(&[testing::header(&testing::genesis(), 1)], data);
});
