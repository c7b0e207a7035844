//! Justification verification for 4, 100 and 1,000 authorities (every
//! voter signs; signatures are batch-verified).

#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use parity_scale_codec::Encode;
use umbra_light_client::{testing, testing::Voters, verify_justification};

fn justification(c: &mut Criterion) {
    let mut group = c.benchmark_group("justification_verify");
    group.sample_size(20);
    for n in [4usize, 100, 1000] {
        let voters = Voters::new(n, 7, 3);
        let set = voters.set();
        let header = testing::header(&testing::genesis(), 1);
        let j = voters.justify_with(&header, 9, 3, n);
        let _ = j.encode();
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| verify_justification(&j, header.hash(), 1, &set).map_err(|e| e.to_string()))
        });
    }
    group.finish();
}

criterion_group!(benches, justification);
criterion_main!(benches);
