//! `umbra-subxt-check ws://127.0.0.1:9944`: subxt's dynamic API, unmodified,
//! against an umbra dev node. Reads Charlie's balance, sends 1.5 UMB from
//! Bob to Charlie with `Balances.transfer_keep_alive` signed by subxt's own
//! sr25519 dev keys, waits for finality, decodes the transaction's events
//! and checks the balances at the finalized block against the amount and
//! the fee the events report. Prints `OK` last; any failure exits non-zero.

use scale_decode::DecodeAsType;
use subxt::dynamic::{self, Value};
use subxt::{OnlineClient, PolkadotConfig};
use subxt_signer::sr25519::dev;

const AMOUNT: u128 = 1_500_000_000_000;

#[derive(Debug, DecodeAsType)]
struct AccountInfo {
    nonce: u32,
    data: AccountData,
}

#[derive(Debug, DecodeAsType)]
struct AccountData {
    free: u128,
}

fn fail(message: String) -> ! {
    eprintln!("FAIL: {message}");
    std::process::exit(1)
}

#[tokio::main]
async fn main() {
    let url = std::env::args().nth(1).unwrap_or_else(|| "ws://127.0.0.1:9944".into());
    if let Err(e) = run(&url).await {
        fail(e.to_string());
    }
}

async fn run(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let api = OnlineClient::<PolkadotConfig>::from_insecure_url(url).await?;
    let (bob, charlie) = (dev::bob(), dev::charlie());
    let account = dynamic::storage::<([u8; 32],), AccountInfo>("System", "Account");

    let at = api.at_current_block().await?;
    let ed = at.constants().entry(dynamic::constant::<u128>("Balances", "ExistentialDeposit"))?;
    let before_bob = at.storage().fetch(account.clone(), (bob.public_key().0,)).await?.decode()?;
    let before_charlie = at.storage().fetch(account.clone(), (charlie.public_key().0,)).await?.decode()?;
    println!("block #{}: Bob {before_bob:?}, Charlie {before_charlie:?}, existential deposit {ed}", at.block_number());
    if before_bob.data.free <= AMOUNT {
        fail(format!("Bob has {}", before_bob.data.free));
    }

    let tx = dynamic::transaction("Balances", "transfer_keep_alive", (charlie.public_key().to_address::<()>(), AMOUNT));
    let progress = at.transactions().sign_and_submit_then_watch_default(&tx, &bob).await?;
    let in_block = progress.wait_for_finalized().await?;
    let block = in_block.block_hash();
    let events = in_block.wait_for_success().await?;
    println!("finalized in {block:?}");

    let mut names = Vec::new();
    let (mut transferred, mut fee) = (None, None);
    for event in events.all_events_in_block().iter() {
        let event = event?;
        names.push(format!("{}.{}", event.pallet_name(), event.event_name()));
    }
    for event in events.iter() {
        let event = event?;
        let fields = event.decode_fields_unchecked_as::<Value>()?;
        println!("  {}.{}: {fields}", event.pallet_name(), event.event_name());
        match (event.pallet_name(), event.event_name()) {
            ("Balances", "Transfer") => transferred = Some(event.decode_fields_unchecked_as::<Transfer>()?),
            ("TransactionPayment", "TransactionFeePaid") => fee = Some(event.decode_fields_unchecked_as::<FeePaid>()?),
            _ => {}
        }
    }
    let transferred = transferred.unwrap_or_else(|| fail(format!("no Balances.Transfer among {names:?}")));
    let fee = fee.unwrap_or_else(|| fail(format!("no TransactionPayment.TransactionFeePaid among {names:?}")));
    if transferred.from != bob.public_key().0
        || transferred.to != charlie.public_key().0
        || transferred.amount != AMOUNT
    {
        fail(format!("transfer event {transferred:?}"));
    }
    if !events.has::<SystemSuccess>() {
        fail("no System.ExtrinsicSuccess".into());
    }

    let at = api.at_block(block).await?;
    let after_bob = at.storage().fetch(account.clone(), (bob.public_key().0,)).await?.decode()?;
    let after_charlie = at.storage().fetch(account, (charlie.public_key().0,)).await?.decode()?;
    if after_charlie.data.free != before_charlie.data.free + AMOUNT {
        fail(format!("Charlie {} → {}", before_charlie.data.free, after_charlie.data.free));
    }
    if after_bob.data.free != before_bob.data.free - AMOUNT - fee.actual_fee || after_bob.nonce != before_bob.nonce + 1
    {
        fail(format!("Bob {before_bob:?} → {after_bob:?}, fee {}", fee.actual_fee));
    }
    println!("Bob paid {AMOUNT} + fee {}; Charlie received {AMOUNT}", fee.actual_fee);
    println!("OK");
    Ok(())
}

#[derive(Debug, DecodeAsType)]
struct Transfer {
    from: [u8; 32],
    to: [u8; 32],
    amount: u128,
}

#[derive(Debug, DecodeAsType)]
struct FeePaid {
    #[allow(dead_code)]
    who: [u8; 32],
    actual_fee: u128,
    #[allow(dead_code)]
    tip: u128,
}

/// `System.ExtrinsicSuccess`, matched by name.
#[derive(Debug, DecodeAsType)]
struct SystemSuccess {
    #[allow(dead_code)]
    dispatch_info: Value,
}

impl subxt::events::DecodeAsEvent for SystemSuccess {
    fn is_event(pallet: &str, event: &str) -> bool {
        pallet == "System" && event == "ExtrinsicSuccess"
    }
}
