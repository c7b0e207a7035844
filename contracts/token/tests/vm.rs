//! The token compiled to wasm32 (release) runs in the real VM: deploy,
//! transfer, private balance queries, reverts, and its code passes upload
//! validation (no floating point, ABI v1 imports only).
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::path::PathBuf;

use umbra_contract_sdk::{selector, Call, Encode};
use umbra_vm::{CallContext, Entry, MemoryHost, Status, Vm};

/// Builds this crate for wasm32 into its own target directory (a nested
/// cargo cannot share the outer build's lock).
fn wasm() -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read(umbra_toolchain::build_workspace_contract(&root, "umbra-example-token").unwrap()).unwrap()
}

const ALICE: [u8; 32] = [1; 32];
const BOB: [u8; 32] = [2; 32];

#[test]
fn token_runs_in_the_vm() {
    let code = wasm();
    umbra_vm::validate::validate(&code).expect("the compiled contract passes upload validation");
    let vm = Vm::new().unwrap();
    let hash = vm.prepare(&code).unwrap();
    let mut storage = MemoryHost::new([0; 32]);
    let run = |storage: &mut MemoryHost, entry, caller: Option<[u8; 32]>, input: Vec<u8>, writable| {
        let mut host = MemoryHost::new([0; 32]);
        host.storage = storage.storage.clone();
        let context = CallContext {
            caller,
            contract_id: [9; 32],
            block_number: 1,
            block_timestamp: 0,
            debug: false,
            writable,
            deadline_ticks: None,
        };
        let (out, _) = vm.execute(&hash, entry, &input, 50_000_000, context, Box::new(host)).unwrap();
        if out.status == Status::Success {
            storage.apply(&out.effects);
        }
        out
    };
    let call = |method: &str, args: Vec<u8>| Call { selector: selector(method), args }.encode();
    assert_eq!(run(&mut storage, Entry::Deploy, Some(ALICE), 1_000u128.encode(), true).status, Status::Success);
    let transfer = run(&mut storage, Entry::Call, Some(ALICE), call("transfer", (BOB, 250u128).encode()), true);
    assert_eq!(transfer.status, Status::Success, "{transfer:?}");
    assert_eq!(transfer.effects.events.len(), 1);
    let bob = run(&mut storage, Entry::Call, Some(BOB), call("balance_of", BOB.encode()), false);
    assert_eq!((bob.status, bob.output), (Status::Success, 250u128.encode()));
    let snoop = run(&mut storage, Entry::Call, Some(BOB), call("balance_of", ALICE.encode()), false);
    assert_eq!(snoop.status, Status::Reverted);
    let over = run(&mut storage, Entry::Call, Some(BOB), call("transfer", (ALICE, 251u128).encode()), true);
    assert_eq!(over.status, Status::Reverted);
    let alice = run(&mut storage, Entry::Call, Some(ALICE), call("balance_of", ALICE.encode()), false);
    assert_eq!(alice.output, 750u128.encode());
}
