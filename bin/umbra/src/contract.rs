//! `umbra contract upload`: contract code through `Contracts.upload_code`,
//! validated on chain.

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use umbra_client::{Client, Status};
use umbra_crypto::{suri::SecretUri, Pair, Scheme};
use umbra_primitives::AccountId32;
use umbra_runtime::{modules::contracts, RuntimeCall};

use crate::CliError;

#[derive(Subcommand)]
pub(crate) enum ContractCommand {
    /// Upload contract code (a wasm file); the chain validates it.
    Upload {
        /// The `.wasm` file.
        wasm: PathBuf,
        /// Secret URI of the uploader (`-` reads it from stdin).
        #[arg(long, default_value = "//Alice")]
        from: String,
    },
}

pub(crate) async fn run(client: &Client, command: ContractCommand) -> Result<String, CliError> {
    match command {
        ContractCommand::Upload { wasm, from } => {
            let meta = std::fs::metadata(&wasm).map_err(|e| CliError::new(format!("{}: {e}", wasm.display())))?;
            if meta.len() > umbra_vm::limits::MAX_CODE_SIZE as u64 {
                return Err(CliError::new(format!(
                    "{}: {} bytes, the chain accepts at most {}",
                    wasm.display(),
                    meta.len(),
                    umbra_vm::limits::MAX_CODE_SIZE
                )));
            }
            let code = std::fs::read(&wasm).map_err(|e| CliError::new(format!("{}: {e}", wasm.display())))?;
            let hash = umbra_crypto::hashing::blake2_256(&code);
            let suri = crate::key::secret_arg(&from)?;
            let signer = Pair::from_suri(Scheme::Sr25519, &SecretUri::parse(&suri)?)?;
            let who = AccountId32(signer.public());
            let nonce = client.next_nonce(&who).await?;
            let call = RuntimeCall::Contracts(contracts::Call::upload_code { code });
            let xt = client.sign(call, &signer, nonce, 0).await?;
            let included = client
                .submit_and_finalize(&xt, Duration::from_secs(120), |status| {
                    if let Status::InBlock(h) = status {
                        eprintln!("  included in block {h:?}");
                    }
                })
                .await?;
            match included.error {
                None => Ok(format!("code 0x{} uploaded in block #{}", hex::encode(hash), included.block_number)),
                Some(e) => Err(CliError::new(format!("upload refused: {}", crate::chain::describe_error(&e)))),
            }
        }
    }
}
