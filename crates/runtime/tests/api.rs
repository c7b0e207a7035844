//! Runtime APIs through `api::call`, and the metadata they serve.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use frame_metadata::{RuntimeMetadata, RuntimeMetadataPrefixed, META_RESERVED};
use parity_scale_codec::{Decode, Encode};
use umbra_primitives::{extrinsic::Era, AccountId32};
use umbra_runtime::{
    api::{self, ApiError, At},
    modules::balances::UMB,
    testing::{dev_account, TestChain},
    validation::{TransactionSource, ValidTransaction},
    weights::RuntimeDispatchInfo,
    RuntimeVersion, TransactionValidityError,
};

fn at(chain: &TestChain) -> At {
    At { hash: chain.head_hash(), number: chain.head.number }
}

#[test]
fn version_and_metadata() {
    let chain = TestChain::dev(2000);
    let v =
        RuntimeVersion::decode(&mut &api::call(&chain.state, at(&chain), "Core_version", &[]).unwrap()[..]).unwrap();
    assert_eq!(v.spec_name, "umbra");
    assert_eq!(v.system_version, 2);
    // "Core" API id is BLAKE2b-64("Core"), the id Substrate tools look for.
    assert!(v.apis.iter().any(|(id, ver)| hex::encode(id) == "df6acb689907609b" && *ver == 5));

    let opaque: Vec<u8> =
        Decode::decode(&mut &api::call(&chain.state, at(&chain), "Metadata_metadata", &[]).unwrap()[..]).unwrap();
    let meta = RuntimeMetadataPrefixed::decode(&mut &opaque[..]).unwrap();
    assert_eq!(meta.0, META_RESERVED);
    let RuntimeMetadata::V14(v14) = meta.1 else { panic!("not V14") };
    let names: Vec<(String, u8)> = v14.pallets.iter().map(|p| (p.name.clone(), p.index)).collect();
    assert_eq!(
        names,
        [
            ("System", 0),
            ("Timestamp", 1),
            ("Balances", 2),
            ("TransactionPayment", 3),
            ("Sudo", 4),
            ("Aura", 5),
            ("Grandpa", 6),
            ("Offences", 7),
            ("Registry", 11),
            ("MessageQueue", 12),
            ("Gatekeeper", 14),
            ("Contracts", 15),
            ("Randomness", 16)
        ]
        .map(|(n, i)| (n.to_string(), i))
    );
    let ids: Vec<&str> = v14.extrinsic.signed_extensions.iter().map(|e| e.identifier.as_str()).collect();
    assert_eq!(
        ids,
        [
            "CheckNonZeroSender",
            "CheckSpecVersion",
            "CheckTxVersion",
            "CheckGenesis",
            "CheckMortality",
            "CheckNonce",
            "CheckWeight",
            "ChargeTransactionPayment"
        ]
    );
    // The extrinsic type carries Substrate's path, so clients find Address/Signature.
    let ty = v14.types.resolve(v14.extrinsic.ty.id).unwrap();
    assert_eq!(ty.path.segments.join("::"), "sp_runtime::generic::unchecked_extrinsic::UncheckedExtrinsic");
    // The slot-duration constant comes from the chain's state.
    let aura = v14.pallets.iter().find(|p| p.name == "Aura").unwrap();
    assert_eq!(u64::decode(&mut &aura.constants[0].value[..]).unwrap(), 2000);
    let versions: Vec<u32> =
        Decode::decode(&mut &api::call(&chain.state, at(&chain), "Metadata_metadata_versions", &[]).unwrap()[..])
            .unwrap();
    assert_eq!(versions, vec![14, 15, 16]);
    let at_version = |v: u32| -> Option<Vec<u8>> {
        Decode::decode(
            &mut &api::call(&chain.state, at(&chain), "Metadata_metadata_at_version", &v.encode()).unwrap()[..],
        )
        .unwrap()
    };
    let v15 = RuntimeMetadataPrefixed::decode(&mut &at_version(15).unwrap()[..]).unwrap();
    let RuntimeMetadata::V15(v15) = v15.1 else { panic!("V15") };
    assert_eq!(v15.pallets.len(), v14.pallets.len());
    assert!(v15.apis.iter().any(|a| a.name == "TransactionPaymentApi"));
    let v16 = RuntimeMetadataPrefixed::decode(&mut &at_version(16).unwrap()[..]).unwrap();
    let RuntimeMetadata::V16(v16) = v16.1 else { panic!("V16") };
    assert_eq!(v16.pallets.len(), v14.pallets.len());
    assert_eq!(v16.extrinsic.versions, vec![4]);
    assert_eq!(v16.extrinsic.transaction_extensions.len(), v14.extrinsic.signed_extensions.len());
    let core = v16.apis.iter().find(|a| a.name == "Core").unwrap();
    assert_eq!(core.version.0, 5, "the version Core_version reports");
    assert_eq!(at_version(17), None);
    assert_eq!(at_version(13), None);
}

#[test]
fn nonce_fee_and_validity() {
    let mut chain = TestChain::dev(1000);
    let alice = dev_account("Alice");
    let xt = chain.transfer("Alice", &dev_account("Bob"), UMB, 0);
    chain.produce(vec![xt]);
    let nonce = u32::decode(
        &mut &api::call(&chain.state, at(&chain), "AccountNonceApi_account_nonce", &alice.encode()).unwrap()[..],
    )
    .unwrap();
    assert_eq!(nonce, 1);

    let xt = chain.transfer("Alice", &dev_account("Bob"), UMB, 1);
    let len = xt.encode().len() as u32;
    let info =
        RuntimeDispatchInfo::decode(
            &mut &api::call(&chain.state, at(&chain), "TransactionPaymentApi_query_info", &(&xt, len).encode())
                .unwrap()[..],
        )
        .unwrap();
    assert!(info.partial_fee > 0);
    // The fee the API predicts is the fee the block charges.
    let before = chain.free(&dev_account("Bob"));
    let bob_xt = chain.transfer("Bob", &dev_account("Charlie"), UMB, 0);
    let bob_len = bob_xt.encode().len() as u32;
    let predicted = RuntimeDispatchInfo::decode(
        &mut &api::call(&chain.state, at(&chain), "TransactionPaymentApi_query_info", &(&bob_xt, bob_len).encode())
            .unwrap()[..],
    )
    .unwrap();
    chain.produce(vec![bob_xt]);
    assert_eq!(before - UMB - chain.free(&dev_account("Bob")), predicted.partial_fee);

    let args = (TransactionSource::External, &xt, chain.head_hash()).encode();
    let validity: Result<ValidTransaction, TransactionValidityError> = Decode::decode(
        &mut &api::call(&chain.state, at(&chain), "TaggedTransactionQueue_validate_transaction", &args).unwrap()[..],
    )
    .unwrap();
    assert!(validity.is_ok());
    let stale = chain.sign(
        "Alice",
        umbra_runtime::RuntimeCall::System(umbra_runtime::modules::system::Call::remark { remark: vec![] }),
        0,
        0,
        Era::Immortal,
    );
    let args = (TransactionSource::External, &stale, chain.head_hash()).encode();
    let validity: Result<ValidTransaction, TransactionValidityError> = Decode::decode(
        &mut &api::call(&chain.state, at(&chain), "TaggedTransactionQueue_validate_transaction", &args).unwrap()[..],
    )
    .unwrap();
    assert_eq!(validity, Err(umbra_runtime::InvalidTransaction::Stale.into()));
}

#[test]
fn bad_calls_are_precise_errors() {
    let chain = TestChain::dev(1000);
    assert_eq!(api::call(&chain.state, at(&chain), "Nope_nope", &[]), Err(ApiError::UnknownMethod("Nope_nope".into())));
    assert!(matches!(
        api::call(&chain.state, at(&chain), "AccountNonceApi_account_nonce", &[1, 2, 3]),
        Err(ApiError::BadInput { .. })
    ));
    assert!(matches!(api::call(&chain.state, at(&chain), "Core_version", &[0]), Err(ApiError::BadInput { .. })));
    let mut trailing = AccountId32([1; 32]).encode();
    trailing.push(0);
    assert!(matches!(
        api::call(&chain.state, at(&chain), "AccountNonceApi_account_nonce", &trailing),
        Err(ApiError::BadInput { .. })
    ));
}
