//! The ballot (written with `#[contract]`) compiled to wasm32 runs in the
//! real VM: votes, the one-vote rule, a private read-back, the tally after
//! closing.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::path::PathBuf;

use umbra_contract_sdk::{selector, Call, Encode};
use umbra_vm::{CallContext, Entry, MemoryHost, Outcome, Status, Vm};

fn wasm() -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read(umbra_toolchain::build_workspace_contract(&root, "umbra-example-ballot").unwrap()).unwrap()
}

#[test]
fn ballot_runs_in_the_vm() {
    let code = wasm();
    umbra_vm::validate::validate(&code).expect("passes upload validation");
    let vm = Vm::new().unwrap();
    let hash = vm.prepare(&code).unwrap();
    let mut storage = MemoryHost::new([0; 32]);
    let mut run = |entry, caller: [u8; 32], input: Vec<u8>| -> Outcome {
        let mut host = MemoryHost::new([0; 32]);
        host.storage = storage.storage.clone();
        let context = CallContext {
            caller: Some(caller),
            contract_id: [9; 32],
            block_number: 1,
            block_timestamp: 0,
            debug: false,
            writable: true,
            deadline_ticks: None,
        };
        let (out, _) = vm.execute(&hash, entry, &input, 50_000_000, context, Box::new(host)).unwrap();
        if out.status == Status::Success {
            storage.apply(&out.effects);
        }
        out
    };
    let call = |method: &str, args: Vec<u8>| Call { selector: selector(method), args }.encode();
    assert_eq!(run(Entry::Deploy, [1; 32], (2u8,).encode()).status, Status::Success);
    assert_eq!(run(Entry::Call, [1; 32], call("vote", (1u8,).encode())).status, Status::Success);
    assert_eq!(run(Entry::Call, [2; 32], call("vote", (1u8,).encode())).status, Status::Success);
    assert_eq!(run(Entry::Call, [2; 32], call("vote", (0u8,).encode())).status, Status::Reverted);
    assert_eq!(run(Entry::Call, [2; 32], call("my_vote", vec![])).output, Some(1u8).encode());
    assert_eq!(run(Entry::Call, [1; 32], call("results", vec![])).status, Status::Reverted);
    assert_eq!(run(Entry::Call, [1; 32], call("close", vec![])).status, Status::Success);
    assert_eq!(run(Entry::Call, [3; 32], call("results", vec![])).output, vec![0u32, 2].encode());
}
