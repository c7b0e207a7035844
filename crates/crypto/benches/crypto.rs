//! Criterion benchmarks of the crypto hot paths (issue targets in comments).
#![allow(missing_docs, clippy::unwrap_used)] // criterion_group! generates undocumented functions; benches may panic
//!
//! Run: `cargo bench -p umbra-crypto --bench crypto`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use umbra_crypto::{
    aead, ed25519,
    envelope::{self, Purpose, Recipient},
    labels::{Domain, Label},
    sr25519, x25519,
};

fn envelope_benches(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let label = Label::Envelope.in_domain(Domain::Production);
    let context = envelope::context(&[7u8; 32], Purpose::Command, b"contract");
    let bob = Recipient::new(x25519::Secret::random(&mut rng));
    let payload = [0xabu8; 256];
    let sealed = envelope::seal(&mut rng, bob.public(), label, &context, &payload).unwrap();
    let env = sealed.envelope;

    let mut g = c.benchmark_group("envelope");
    g.throughput(Throughput::Elements(1));
    // Target: >= 12,000/s on one core, within 1.2x of bare X25519 + AES-GCM.
    g.bench_function("open_256B_fresh_ephemeral", |b| b.iter(|| bob.open(&env, label, &context).unwrap()));
    // The floor the target is relative to: one X25519, one AES key schedule,
    // one AES-GCM open, nothing else.
    let bare_secret = x25519::Secret::random(&mut rng);
    let bare_peer = x25519::Secret::random(&mut rng).public();
    let bare_key = aead::Key::new(&[1u8; 32]);
    let bare_ct = bare_key.seal(&[0u8; 12], b"", &payload).unwrap();
    g.bench_function("baseline_x25519_plus_aes_gcm_open_256B", |b| {
        b.iter(|| {
            let shared = bare_secret.agree(&bare_peer).unwrap();
            let key = aead::Key::new(shared.as_bytes());
            key.open(&[0u8; 12], b"", &bare_ct).unwrap_or_default()
        })
    });
    // Target: >= 500,000/s.
    let session = bob.session(&env, label).unwrap();
    g.bench_function("open_256B_cached_session", |b| b.iter(|| session.open(&env, &context).unwrap()));
    g.bench_function("seal_256B_fresh_ephemeral", |b| {
        b.iter(|| envelope::seal(&mut rng, bob.public(), label, &context, &payload).unwrap())
    });
    let mut sealing = envelope::SealingSession::new(&mut rng, bob.public(), label).unwrap();
    g.bench_function("seal_256B_session", |b| b.iter(|| sealing.seal(&context, &payload).unwrap()));
    g.finish();
}

fn signature_benches(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    const N: usize = 64;
    let sr: Vec<sr25519::Pair> = (0..N).map(|i| sr25519::Pair::from_seed(&[i as u8; 32])).collect();
    let ed: Vec<ed25519::Pair> = (0..N).map(|i| ed25519::Pair::from_seed(&[i as u8; 32])).collect();
    let msgs: Vec<Vec<u8>> = (0..N).map(|i| vec![i as u8; 128]).collect();
    let sr_sigs: Vec<sr25519::Signature> = sr.iter().zip(&msgs).map(|(p, m)| p.sign_with_rng(m, &mut rng)).collect();
    let sr_pubs: Vec<sr25519::Public> = sr.iter().map(sr25519::Pair::public).collect();
    let ed_sigs: Vec<ed25519::Signature> = ed.iter().zip(&msgs).map(|(p, m)| p.sign(m)).collect();
    let ed_pubs: Vec<ed25519::Public> = ed.iter().map(ed25519::Pair::public).collect();

    let mut g = c.benchmark_group("sr25519");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sign", |b| b.iter(|| sr[0].sign_with_rng(&msgs[0], &mut rng)));
    g.bench_function("verify", |b| b.iter(|| assert!(sr25519::verify(&sr_sigs[0], &msgs[0], &sr_pubs[0]))));
    g.throughput(Throughput::Elements(N as u64));
    let items: Vec<sr25519::BatchItem<'_>> =
        msgs.iter().zip(&sr_sigs).zip(&sr_pubs).map(|((m, s), p)| (m.as_slice(), s, p)).collect();
    g.bench_function("batch_verify_64", |b| b.iter(|| assert!(sr25519::batch_verify(&items))));
    g.finish();

    let mut g = c.benchmark_group("ed25519");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sign", |b| b.iter(|| ed[0].sign(&msgs[0])));
    g.bench_function("verify", |b| b.iter(|| assert!(ed25519::verify(&ed_sigs[0], &msgs[0], &ed_pubs[0]))));
    g.throughput(Throughput::Elements(N as u64));
    let items: Vec<ed25519::BatchItem<'_>> =
        msgs.iter().zip(&ed_sigs).zip(&ed_pubs).map(|((m, s), p)| (m.as_slice(), s, p)).collect();
    g.bench_function("batch_verify_64", |b| {
        b.iter_batched(|| items.clone(), |items| assert!(ed25519::batch_verify(&items)), BatchSize::SmallInput)
    });
    g.finish();
}

criterion_group!(benches, envelope_benches, signature_benches);
criterion_main!(benches);
