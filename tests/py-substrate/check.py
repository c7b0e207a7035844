"""An unmodified py-substrate-interface against a running umbra node.

Usage: python check.py ws://127.0.0.1:9944

Reads the whole metadata, decodes blocks with their extrinsics and digests,
reads events, iterates System.Account, estimates fees, submits a signed
transfer_keep_alive with a mortal era and a tip (waiting for inclusion, and
another for finalization), checks its events and the exact fee against the
balances, subscribes to headers, makes a runtime call, and checks that a
tampered extrinsic is refused with Substrate's error code. Prints OK last.
"""

import sys
import time

from substrateinterface import Keypair, SubstrateInterface
from substrateinterface.exceptions import SubstrateRequestException

URL = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9944"
AMOUNT = 1_234_500_000_000  # 1.2345 UMB
TIP = 1_000_000


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


s = SubstrateInterface(url=URL, ss58_format=42)
s.init_runtime()
# A fresh node: wait (polling, bounded) for a finalized block past genesis.
deadline = time.monotonic() + 60
while s.get_block_number(s.get_chain_finalised_head()) < 2:
    check(time.monotonic() < deadline, "no finalized block within 60 s")
    time.sleep(0.2)
print(f"connected: {s.chain}, {s.runtime_version}")

# Full metadata decode: every pallet, call, event, storage item, constant.
pallets = [p.name for p in s.metadata.pallets]
for name in ["System", "Balances", "TransactionPayment", "Sudo", "Grandpa", "Contracts"]:
    check(name in pallets, f"pallet {name} missing: {pallets}")
n_calls = n_storage = n_constants = 0
for pallet in s.metadata.pallets:
    n_calls += len(pallet.calls or [])
    n_storage += len(pallet.storage or [])
    for constant in pallet.constants or []:
        constant.constant_value  # decodes the value
        n_constants += 1
print(f"metadata v14: {len(pallets)} pallets, {n_calls} calls, {n_storage} storage items, {n_constants} constants")
ed = s.get_constant("Balances", "ExistentialDeposit").value
check(ed > 0, f"existential deposit {ed}")

# A block with its extrinsics and digest decoded. (`include_author=True`
# reads Session.Validators: it works once the Session module exists.)
block = s.get_block()
check(block["header"]["number"] > 0, "a block past genesis")
check(len(block["extrinsics"]) >= 1, "the timestamp inherent")
first = block["extrinsics"][0].value
check(first["call"]["call_module"] == "Timestamp", f"first extrinsic {first}")
logs = [log.value for log in block["header"]["digest"]["logs"]]
check(any("PreRuntime" in log for log in logs), f"an Aura pre-digest in {logs}")
check(any("Seal" in log for log in logs), f"a seal in {logs}")
print(f"block #{block['header']['number']}: {len(block['extrinsics'])} extrinsic(s)")

# Events of that block, with phases.
events = s.get_events(block_hash=block["header"]["hash"])
names = [(e.value["module_id"], e.value["event_id"]) for e in events]
check(("System", "ExtrinsicSuccess") in names, f"events {names}")
check(events[0].value["phase"] == "ApplyExtrinsic" or "ApplyExtrinsic" in str(events[0].value["phase"]), "phase")
print(f"events: {names}")

# Iterate System.Account.
alice = Keypair.create_from_uri("//Alice", ss58_format=42)
bob = Keypair.create_from_uri("//Bob", ss58_format=42)
check(alice.ss58_address == "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", alice.ss58_address)
accounts = {str(k.value): v.value for k, v in s.query_map("System", "Account", page_size=5)}
check(alice.ss58_address in accounts and bob.ss58_address in accounts, f"accounts {list(accounts)}")
print(f"System.Account: {len(accounts)} accounts")

# A signed transfer: mortal era, tip, fee estimated and paid exactly. Bob
# pays Charlie: neither authors blocks (the author, Alice, earns a share of
# every fee), so nothing else moves their balances meanwhile.
charlie = Keypair.create_from_uri("//Charlie", ss58_format=42)
call = s.compose_call("Balances", "transfer_keep_alive", {"dest": charlie.ss58_address, "value": AMOUNT})
info = s.get_payment_info(call, bob)
check(info["partialFee"] > 0, f"payment info {info}")
print(f"payment info: {info}")


def free(who, block_hash):
    return s.query("System", "Account", [who], block_hash=block_hash).value["data"]["free"]


def transfer(wait_for_finalization):
    xt = s.create_signed_extrinsic(call=call, keypair=bob, era={"period": 64}, tip=TIP)
    check(xt.value["era"] != "00", f"a mortal era: {xt.value['era']}")
    head = s.get_block_header()["header"]
    parent = head["parentHash"] if "parentHash" in head else head["parent_hash"]
    before_bob, before_charlie = free(bob.ss58_address, None), free(charlie.ss58_address, None)
    receipt = s.submit_extrinsic(xt, wait_for_inclusion=True, wait_for_finalization=wait_for_finalization)
    check(receipt.is_success, f"transfer failed: {receipt.error_message}")
    included = receipt.block_hash
    kinds = [(e.value["module_id"], e.value["event_id"]) for e in receipt.triggered_events]
    for expected in [("Balances", "Transfer"), ("TransactionPayment", "TransactionFeePaid"), ("System", "ExtrinsicSuccess")]:
        check(expected in kinds, f"{expected} in {kinds}")
    paid = [e.value["attributes"] for e in receipt.triggered_events if e.value["event_id"] == "TransactionFeePaid"][0]
    fee = receipt.total_fee_amount
    check(paid["actual_fee"] == fee and paid["tip"] == TIP, f"fee event {paid}, receipt fee {fee}")
    after_bob, after_charlie = free(bob.ss58_address, included), free(charlie.ss58_address, included)
    check(after_charlie - before_charlie == AMOUNT, f"Charlie +{after_charlie - before_charlie}")
    check(before_bob - after_bob == AMOUNT + fee, f"Bob -{before_bob - after_bob}, fee {fee}")
    check(fee >= info["partialFee"], f"fee {fee} below the estimate {info['partialFee']}")
    return included, fee, parent


included, fee, _ = transfer(wait_for_finalization=False)
print(f"transfer included in {included}, fee {fee} (tip {TIP})")
# The block holding it decodes with the signed extrinsic's fields.
signed = [x.value for x in s.get_block(block_hash=included)["extrinsics"] if x.value.get("address")]
check(len(signed) == 1, f"one signed extrinsic in {signed}")
check(signed[0]["call"]["call_module"] == "Balances" and signed[0]["call"]["call_function"] == "transfer_keep_alive",
      f"{signed[0]['call']}")
check(signed[0]["tip"] == TIP and signed[0]["address"] == bob.ss58_address, f"{signed[0]}")
check(isinstance(signed[0]["era"], (tuple, list)) and signed[0]["era"][0] == 64, f"era {signed[0]['era']}")
finalized, fee2, _ = transfer(wait_for_finalization=True)
head = s.get_chain_finalised_head()
check(s.get_block_number(head) >= s.get_block_number(finalized), "finalized")
print(f"transfer finalized in {finalized}, fee {fee2}")

# Header subscription: three new heads in order.
seen = []


def on_header(obj, update_nr, subscription_id):
    seen.append(obj["header"]["number"])
    if len(seen) >= 3:
        return seen


numbers = s.subscribe_block_headers(on_header)
check(numbers == sorted(numbers) and len(set(numbers)) == 3, f"headers {numbers}")
print(f"subscribed headers {numbers}")

# A runtime call.
nonce = s.runtime_call("AccountNonceApi", "account_nonce", [alice.ss58_address]).value
check(nonce == s.get_account_nonce(alice.ss58_address), f"nonce {nonce}")
version = s.runtime_call("Core", "version", []).value
check(version["spec_name"] == "umbra" and version["spec_version"] == s.runtime_version, f"version {version}")
print(f"runtime_call AccountNonceApi.account_nonce: {nonce}; Core.version: {version['spec_name']} {version['spec_version']}")

# A tampered extrinsic: a byte of the signature flipped. Refused with
# Substrate's code 1010 (invalid transaction: bad signature), nothing changes.
xt = s.create_signed_extrinsic(call=call, keypair=alice, era={"period": 64})
raw = bytearray(xt.data.data)
# length prefix (compact), version 0x84, MultiAddress::Id (1 + 32), then
# MultiSignature::Sr25519 (1 + 64)
prefix = {0: 1, 1: 2, 2: 4}[raw[0] & 3]
raw[prefix + 1 + 33 + 1 + 10] ^= 0x01
raw_hex = "0x" + raw.hex()
before = free(alice.ss58_address, None)
try:
    s.rpc_request("author_submitExtrinsic", [raw_hex])
    fail("a tampered extrinsic was accepted")
except SubstrateRequestException as e:
    err = e.args[0]
    check(err.get("code") == 1010 and "bad signature" in str(err.get("data", "")).lower(), f"error {err}")
    print(f"tampered extrinsic refused: {err}")
check(free(alice.ss58_address, None) == before, "nothing changed")
print("OK")
