//! A newcomer's first contract on a machine whose Rust lacks what umbra
//! needs. In a throwaway `RUSTUP_HOME`/`CARGO_HOME` with nothing
//! installed (and the outer toolchain off `PATH`): `scripts/ensure-toolchain`
//! installs rustup, the pinned toolchain and its wasm32 target, and puts
//! the target back when it is removed; `umbra contract new` in a directory
//! outside the checkout makes a project that `umbra contract build` builds
//! after adding the removed target itself; that contract, on a devnet,
//! is uploaded, instantiated, called and queried — the README's "first
//! confidential contract in five minutes".
//!
//! Network: rustup's distribution server (static.rust-lang.org), like any
//! rustup install; everything else is loopback.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)] // test code

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use umbra_e2e::{binary, free_port, wait_for, word_after, Devnet};

/// A machine without Rust: empty rustup and cargo homes, the outer
/// toolchain removed from `PATH` and from cargo's environment.
struct Fresh {
    rustup_home: PathBuf,
    cargo_home: PathBuf,
    path: String,
}

impl Fresh {
    fn new(dir: &Path) -> Fresh {
        let rustup_home = dir.join("rustup");
        let cargo_home = dir.join("cargo");
        let outer = std::env::var("PATH").unwrap_or_default();
        let kept: Vec<&str> = outer.split(':').filter(|p| !p.contains(".cargo/bin") && !p.contains("rustup")).collect();
        let path = format!("{}:{}", cargo_home.join("bin").display(), kept.join(":"));
        Fresh { rustup_home, cargo_home, path }
    }

    /// `program` in this machine's environment; `cargo_home` overrides
    /// where cargo keeps its registry (the outer one, to build offline).
    fn command(&self, program: impl AsRef<std::ffi::OsStr>, cargo_home: Option<&Path>) -> Command {
        let mut c = Command::new(program);
        for var in
            ["RUSTUP_TOOLCHAIN", "RUSTC", "RUSTDOC", "CARGO", "RUSTC_WRAPPER", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET"]
        {
            c.env_remove(var);
        }
        c.env("RUSTUP_HOME", &self.rustup_home)
            .env("CARGO_HOME", cargo_home.unwrap_or(&self.cargo_home))
            .env("PATH", &self.path);
        c
    }

    /// The sysroot of the toolchain that builds in `dir`.
    fn sysroot(&self, dir: &Path) -> PathBuf {
        let out =
            ok(self.command("rustc", None).args(["--print", "sysroot"]).current_dir(dir).output().unwrap(), "rustc");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    }

    fn has_wasm32(&self, dir: &Path) -> bool {
        self.sysroot(dir).join("lib/rustlib/wasm32-unknown-unknown/lib").is_dir()
    }

    fn remove_wasm32(&self, dir: &Path) {
        ok(
            self.command("rustup", None)
                .args(["target", "remove", "wasm32-unknown-unknown"])
                .current_dir(dir)
                .output()
                .unwrap(),
            "rustup target remove",
        );
        assert!(!self.has_wasm32(dir), "the target is gone");
    }
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what}: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn outer_cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"))
}

#[test]
fn a_newcomer_builds_and_runs_a_contract_from_a_fresh_toolchain() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let fresh = Fresh::new(tmp.path());
    let ensure = repo.join("scripts/ensure-toolchain");

    // Nothing installed: the script installs rustup, the pinned toolchain
    // and its targets.
    assert!(!fresh.cargo_home.join("bin/rustup").exists());
    ok(fresh.command(&ensure, None).current_dir(&repo).output().unwrap(), "ensure-toolchain on an empty machine");
    assert!(fresh.cargo_home.join("bin/rustup").exists(), "rustup installed");
    assert!(fresh.sysroot(&repo).starts_with(&fresh.rustup_home), "the toolchain is the fresh one");
    assert!(fresh.has_wasm32(&repo), "with the wasm32 target");
    let pinned = std::fs::read_to_string(repo.join("rust-toolchain.toml")).unwrap();
    let channel = word_after(&pinned, "channel = \"").trim_end_matches('"').to_string();
    let version = ok(fresh.command("rustc", None).arg("--version").current_dir(&repo).output().unwrap(), "rustc");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with(&format!("rustc {channel}")), "the pinned version");

    // The toolchain without its target (what the newcomer had): the script
    // adds it back.
    fresh.remove_wasm32(&repo);
    ok(fresh.command(&ensure, None).current_dir(&repo).output().unwrap(), "ensure-toolchain without wasm32");
    assert!(fresh.has_wasm32(&repo));

    // Outside the checkout, without the target: `contract new`, then
    // `contract build` adds the target itself and builds.
    fresh.remove_wasm32(&repo);
    let projects = tmp.path().join("projects");
    std::fs::create_dir(&projects).unwrap();
    let cargo_home = outer_cargo_home();
    let umbra = |args: &[&str], dir: &Path| {
        ok(fresh.command(binary("umbra"), Some(&cargo_home)).args(args).current_dir(dir).output().unwrap(), "umbra")
    };
    let created = umbra(&["contract", "new", "counter"], &projects);
    assert!(String::from_utf8_lossy(&created.stdout).contains("created"), "{created:?}");
    let project = projects.join("counter").canonicalize().unwrap();
    let pin = std::fs::read_to_string(project.join("rust-toolchain.toml")).unwrap();
    assert!(pin.contains(&format!("channel = \"{channel}\"")) && pin.contains("wasm32-unknown-unknown"), "{pin}");
    let built = umbra(&["contract", "build"], &project);
    let said = String::from_utf8_lossy(&built.stderr);
    assert!(said.contains("added the wasm32-unknown-unknown target"), "{said}");
    assert!(fresh.has_wasm32(&project));
    let wasm = project.join("target/wasm32-unknown-unknown/release/counter.wasm");
    assert!(String::from_utf8_lossy(&built.stdout).starts_with(wasm.to_str().unwrap()), "{built:?}");
    assert!(project.join("target/wasm32-unknown-unknown/release/counter.abi.json").is_file());

    // That contract on a devnet: upload, instantiate, a sealed call, a
    // signed query.
    let mut devnet = Devnet::start(&tmp.path().join("devnet"), free_port(), &["--workers", "1"]);
    devnet.wait_line("the devnet to start", Duration::from_secs(300), |l| l.starts_with("press Ctrl-C"));
    let code = word_after(&devnet.umbra_ok(&["contract", "upload", wasm.to_str().unwrap()]), "code ");
    let created = devnet.umbra_ok(&["cluster", "create", "--replicas", "1"]);
    let cluster = word_after(&created, "cluster ");
    wait_for("the cluster key", Duration::from_secs(60), || {
        devnet.umbra_ok(&["cluster", "show", &cluster]).contains("x25519 key: 0x").then_some(())
    });
    let ready = devnet.umbra_ok(&["contract", "instantiate", &code, "--cluster", &cluster, "--args", "[]"]);
    assert!(ready.contains(" ready "), "{ready}");
    let contract = word_after(&ready, "contract ");
    let added = devnet.umbra_ok(&["contract", "call", &contract, "add", "--args", "[5]", "--from", "//Bob"]);
    assert_eq!(added.split_whitespace().next(), Some("5"), "{added}");
    // The template's event, through the ABI, for people and for scripts.
    let bob = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
    assert!(added.contains(&format!("\n  event Added {{ who: {bob}, count: 5 }}")), "{added}");
    let json: serde_json::Value = serde_json::from_str(
        &devnet
            .umbra_ok(&["--output", "json", "contract", "call", &contract, "add", "--args", "[2]", "--from", "//Bob"]),
    )
    .unwrap();
    assert_eq!(json["status"], "Success", "{json}");
    assert_eq!(json["value"], 7, "{json}");
    assert_eq!(json["events"], serde_json::json!([{ "Added": { "who": bob, "count": 7 } }]), "{json}");
    let mine = devnet.umbra_ok(&[
        "contract",
        "query",
        &contract,
        "mine",
        "--worker",
        &devnet.worker_url(1),
        "--from",
        "//Bob",
    ]);
    assert_eq!(mine.split_whitespace().next(), Some("7"), "{mine}");
    let others = devnet.umbra_ok(&[
        "contract",
        "query",
        &contract,
        "mine",
        "--worker",
        &devnet.worker_url(1),
        "--from",
        "//Charlie",
    ]);
    assert_eq!(others.split_whitespace().next(), Some("0"), "counts are per caller: {others}");
    // An anonymous query reverts with the contract's error, by name.
    let url = devnet.worker_url(1);
    let anonymous = devnet.umbra_ok(&["contract", "query", &contract, "mine", "--worker", &url]);
    assert!(anonymous.starts_with("Err(Anonymous) (block #"), "{anonymous}");
    let json: serde_json::Value = serde_json::from_str(
        &devnet.umbra_ok(&["--output", "json", "contract", "query", &contract, "mine", "--worker", &url]),
    )
    .unwrap();
    assert_eq!(
        (&json["status"], &json["error"]),
        (&"Reverted".into(), &serde_json::json!({ "Err": "Anonymous" })),
        "{json}"
    );
}
