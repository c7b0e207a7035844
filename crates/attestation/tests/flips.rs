//! Every byte of real Intel evidence matters: flipping any single byte of a
//! quote, of any collateral field or of an IAS report, signature or
//! certificate makes verification fail.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::path::PathBuf;

use umbra_attestation::{time::parse_rfc3339, verify, DcapCollateral, Evidence, IasReport, PlatformKind, Policy};

fn testdata(rel: &str) -> Vec<u8> {
    let root = std::env::var_os("UMBRA_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    let path = root.join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const ALL: &[PlatformKind] = &PlatformKind::ALL;

fn dcap_flips(quote_file: &str, collateral_file: &str) {
    let now = parse_rfc3339("2025-07-01T00:00:00Z").unwrap();
    let policy = Policy::new(ALL, &[], 3_600);
    let quote = testdata(quote_file);
    let collateral = DcapCollateral::from_json(&testdata(collateral_file)).unwrap();
    verify(&Evidence::Dcap(quote.clone()), Some(&collateral), now, &policy).unwrap();

    let mut flipped = quote.clone();
    for i in 0..flipped.len() {
        flipped[i] ^= 0x01;
        let result = verify(&Evidence::Dcap(flipped.clone()), Some(&collateral), now, &policy);
        assert!(result.is_err(), "{quote_file}: flipping byte {i} was accepted");
        flipped[i] ^= 0x01;
    }
    let evidence = Evidence::Dcap(quote);
    let fields: [fn(&mut DcapCollateral) -> &mut Vec<u8>; 9] = [
        |c| &mut c.pck_crl_issuer_chain,
        |c| &mut c.root_ca_crl,
        |c| &mut c.pck_crl,
        |c| &mut c.tcb_info_issuer_chain,
        |c| &mut c.tcb_info,
        |c| &mut c.tcb_info_signature,
        |c| &mut c.qe_identity_issuer_chain,
        |c| &mut c.qe_identity,
        |c| &mut c.qe_identity_signature,
    ];
    for (index, field) in fields.iter().enumerate() {
        let mut modified = collateral.clone();
        for i in 0..field(&mut modified).len() {
            field(&mut modified)[i] ^= 0x01;
            let result = verify(&evidence, Some(&modified), now, &policy);
            assert!(result.is_err(), "{collateral_file}: flipping byte {i} of field {index} was accepted");
            field(&mut modified)[i] ^= 0x01;
        }
    }
}

#[test]
fn every_byte_of_the_sgx_quote_and_collateral_matters() {
    dcap_flips("sgx/dcap-qvl/sgx_quote", "sgx/dcap-qvl/sgx_quote_collateral.json");
}

#[test]
fn every_byte_of_the_tdx_quote_and_collateral_matters() {
    dcap_flips("sgx/dcap-qvl/tdx_quote", "sgx/dcap-qvl/tdx_quote_collateral.json");
}

#[test]
fn every_byte_of_an_ias_report_matters() {
    let now = parse_rfc3339("2021-09-12T18:07:00Z").unwrap();
    let policy = Policy::new(ALL, &[], 3_600);
    let report = IasReport::from_json(&testdata("sgx/phala/ias_attestation_2021.json")).unwrap();
    verify(&Evidence::Ias(report.clone()), None, now, &policy).unwrap();
    let parts: [fn(&mut IasReport) -> &mut Vec<u8>; 3] =
        [|r| &mut r.report, |r| &mut r.signature, |r| &mut r.signing_cert];
    for (index, part) in parts.iter().enumerate() {
        let mut modified = report.clone();
        for i in 0..part(&mut modified).len() {
            part(&mut modified)[i] ^= 0x01;
            let result = verify(&Evidence::Ias(modified.clone()), None, now, &policy);
            assert!(result.is_err(), "flipping byte {i} of part {index} was accepted");
            part(&mut modified)[i] ^= 0x01;
        }
    }
}
