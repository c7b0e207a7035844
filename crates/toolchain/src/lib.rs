//! The toolchain a contract is built with.
//!
//! Contracts are `wasm32-unknown-unknown` crates. rustup installs a
//! missing *toolchain* on first use but not a missing *target* of an
//! installed one, so a fresh machine whose Rust came without wasm32 fails
//! deep inside `cargo build` with "can't find crate for `core`".
//! [`ensure_target`] finds the toolchain cargo will use for a directory
//! (its `rust-toolchain.toml`, `RUSTUP_TOOLCHAIN`, or the default), checks
//! its sysroot for the target and adds it with rustup when missing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The contracts' target.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Why the target cannot be made available.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `rustc` could not be run at all.
    #[error("cannot run rustc in {}: {reason} (install Rust with rustup: ./scripts/ensure-toolchain in an umbra checkout)", dir.display())]
    NoRustc {
        /// Where it was run.
        dir: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The target is missing and there is no rustup to add it.
    #[error("the {target} target is not installed for the toolchain at {}, and rustup is not available to add it; install Rust with rustup (./scripts/ensure-toolchain) or add the target to this toolchain", sysroot.display())]
    NoRustup {
        /// The target.
        target: String,
        /// The toolchain's sysroot.
        sysroot: PathBuf,
    },
    /// rustup ran but the target is still missing.
    #[error("`rustup target add {target}` failed for the toolchain at {}: {reason}", sysroot.display())]
    AddFailed {
        /// The target.
        target: String,
        /// The toolchain's sysroot.
        sysroot: PathBuf,
        /// rustup's output, or what is still missing.
        reason: String,
    },
}

/// Why a workspace contract did not build.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The toolchain lacks the target and it could not be added.
    #[error(transparent)]
    Toolchain(#[from] Error),
    /// cargo could not be started or failed.
    #[error("cargo build of {package} failed: {reason}")]
    Cargo {
        /// The package.
        package: String,
        /// What failed.
        reason: String,
    },
}

/// Builds workspace package `package` (a contract) for wasm32, release and
/// locked, into `<root>/target/contracts` (its own target directory: a
/// cargo nested in a cargo command cannot share the outer one's lock), and
/// returns the `.wasm` path. Adds the target first when missing.
pub fn build_workspace_contract(root: &Path, package: &str) -> Result<PathBuf, BuildError> {
    ensure_target(root, WASM_TARGET)?;
    let target = root.join("target/contracts");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let status = Command::new(cargo)
        .args(["build", "--release", "--locked", "--target", WASM_TARGET, "-p", package, "--target-dir"])
        .arg(&target)
        .current_dir(root)
        .status()
        .map_err(|e| BuildError::Cargo { package: package.to_string(), reason: e.to_string() })?;
    if !status.success() {
        return Err(BuildError::Cargo { package: package.to_string(), reason: status.to_string() });
    }
    Ok(target.join(WASM_TARGET).join("release").join(format!("{}.wasm", package.replace('-', "_"))))
}

/// What [`ensure_target`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The target was already installed.
    Present,
    /// rustup added it now.
    Added,
}

/// The sysroot of the toolchain that builds in `dir`.
pub fn sysroot(dir: &Path) -> Result<PathBuf, Error> {
    let out = Command::new(rustc())
        .args(["--print", "sysroot"])
        .current_dir(dir)
        .output()
        .map_err(|e| Error::NoRustc { dir: dir.to_path_buf(), reason: e.to_string() })?;
    if !out.status.success() {
        return Err(Error::NoRustc {
            dir: dir.to_path_buf(),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Whether the toolchain at `sysroot` has `target`'s standard library.
pub fn has_target(sysroot: &Path, target: &str) -> bool {
    sysroot.join("lib/rustlib").join(target).join("lib").is_dir()
}

/// Makes sure the toolchain that builds in `dir` has `target`, adding it
/// with rustup (run in `dir`, so the same toolchain is chosen) when
/// missing. Never changes anything when the target is present.
pub fn ensure_target(dir: &Path, target: &str) -> Result<Outcome, Error> {
    let root = sysroot(dir)?;
    if has_target(&root, target) {
        return Ok(Outcome::Present);
    }
    let added = Command::new("rustup").args(["target", "add", target]).current_dir(dir).output();
    let out = match added {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NoRustup { target: target.to_string(), sysroot: root });
        }
        Err(e) => return Err(Error::AddFailed { target: target.to_string(), sysroot: root, reason: e.to_string() }),
    };
    if !out.status.success() {
        let reason = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(Error::AddFailed { target: target.to_string(), sysroot: root, reason });
    }
    if !has_target(&root, target) {
        return Err(Error::AddFailed {
            target: target.to_string(),
            sysroot: root.clone(),
            reason: format!("{} is still missing", root.join("lib/rustlib").join(target).display()),
        });
    }
    Ok(Outcome::Added)
}

/// The `rustc` cargo would run: `$RUSTC`, else the one on `PATH`.
fn rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_target_is_present_and_a_bogus_one_is_not() {
        let root = sysroot(Path::new(".")).unwrap();
        assert!(root.is_dir());
        let host = std::env::consts::ARCH;
        let present = std::fs::read_dir(root.join("lib/rustlib")).unwrap().filter_map(|e| e.ok()).any(|e| {
            e.file_name().to_string_lossy().starts_with(host) && has_target(&root, &e.file_name().to_string_lossy())
        });
        assert!(present, "the host's standard library is in {}", root.display());
        assert!(!has_target(&root, "no-such-target"));
    }

    #[test]
    fn a_missing_rustc_is_a_precise_error() {
        let err = sysroot(Path::new("/definitely/not/a/dir")).unwrap_err();
        assert!(matches!(err, Error::NoRustc { .. }), "{err}");
    }
}
