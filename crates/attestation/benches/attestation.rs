//! Criterion benchmarks of evidence verification. DCAP verification runs
//! inside block execution (`Registry::register_worker`), so its time sets
//! the call's weight: see docs/BENCHMARKS.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::disallowed_methods)] // criterion macros; benches may panic
//!
//! Run: `cargo bench -p umbra-attestation --bench attestation`

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use umbra_attestation::{
    sim::{SimEvidence, SimQuote},
    time::parse_rfc3339,
    verify, DcapCollateral, Evidence, IasReport, PlatformKind, Policy, TcbStatus,
};
use umbra_crypto::ed25519;

fn testdata(rel: &str) -> Vec<u8> {
    let root = std::env::var_os("UMBRA_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    std::fs::read(root.join(rel)).unwrap()
}

fn verification(c: &mut Criterion) {
    let sim_pair = ed25519::Pair::from_seed(&[9u8; 32]);
    let sim_keys = [sim_pair.public().0];
    let policy = Policy::new(&PlatformKind::ALL, &sim_keys, 3_600);
    let mut g = c.benchmark_group("attestation_verify");
    g.throughput(Throughput::Elements(1));

    let july_2025 = parse_rfc3339("2025-07-01T00:00:00Z").unwrap();
    for (name, quote, collateral) in [
        ("dcap_sgx_quote_v3", "sgx/dcap-qvl/sgx_quote", "sgx/dcap-qvl/sgx_quote_collateral.json"),
        ("dcap_tdx_quote_v4", "sgx/dcap-qvl/tdx_quote", "sgx/dcap-qvl/tdx_quote_collateral.json"),
    ] {
        let evidence = Evidence::Dcap(testdata(quote));
        let collateral = DcapCollateral::from_json(&testdata(collateral)).unwrap();
        verify(&evidence, Some(&collateral), july_2025, &policy).unwrap();
        g.bench_function(name, |b| b.iter(|| verify(&evidence, Some(&collateral), july_2025, &policy).unwrap()));
    }

    let ias = Evidence::Ias(IasReport::from_json(&testdata("sgx/phala/ias_attestation_2021.json")).unwrap());
    let ias_now = parse_rfc3339("2021-09-12T18:07:00Z").unwrap();
    verify(&ias, None, ias_now, &policy).unwrap();
    g.bench_function("ias_report", |b| b.iter(|| verify(&ias, None, ias_now, &policy).unwrap()));

    let quote = SimQuote {
        measurement: [1u8; 32],
        report_data: [2u8; 64],
        issued_at_ms: july_2025 * 1000,
        tcb_status: TcbStatus::UpToDate,
        advisories: Vec::new(),
    };
    let sim = Evidence::Sim(SimEvidence::sign(quote, &sim_pair));
    g.bench_function("sim", |b| b.iter(|| verify(&sim, None, july_2025, &policy).unwrap()));
    g.finish();
}

criterion_group!(benches, verification);
criterion_main!(benches);
