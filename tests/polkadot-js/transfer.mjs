// Connects @polkadot/api (unmodified) to an umbra node, reads metadata and
// Alice's System.Account, sends balances.transferKeepAlive from Alice to Bob
// signed with @polkadot/keyring, waits until finalized, checks both balances.
// Usage: node transfer.mjs ws://127.0.0.1:9944
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';

const url = process.argv[2] ?? 'ws://127.0.0.1:9944';
const AMOUNT = 12_345_000_000_000n; // 12.345 UMB
const TIMEOUT_MS = 120_000;

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

const timer = setTimeout(() => fail(`timed out after ${TIMEOUT_MS} ms`), TIMEOUT_MS);

const api = await ApiPromise.create({ provider: new WsProvider(url), throwOnConnect: true, noInitWarn: true });
const [chain, version] = await Promise.all([api.rpc.system.chain(), api.rpc.state.getRuntimeVersion()]);
console.log(`connected: ${chain}, ${version.specName} v${version.specVersion}`);
// The newest version the runtime serves (Metadata_metadata_versions: 14, 15, 16).
if (api.runtimeMetadata.version !== 16) fail(`metadata version ${api.runtimeMetadata.version}`);
const pallets = api.runtimeMetadata.asLatest.pallets.map((p) => p.name.toString());
for (const p of ['System', 'Timestamp', 'Balances', 'TransactionPayment', 'Sudo', 'Aura', 'Grandpa', 'Randomness']) {
  if (!pallets.includes(p)) fail(`pallet ${p} missing from metadata (${pallets})`);
}
console.log(`metadata v16 with pallets ${pallets.join(', ')}`);
console.log(`existential deposit ${api.consts.balances.existentialDeposit.toString()}`);

const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
const alice = keyring.addFromUri('//Alice');
const bob = keyring.addFromUri('//Bob');
if (alice.address !== '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY') fail(`Alice is ${alice.address}`);

const before = await api.query.system.account(alice.address);
const bobBefore = (await api.query.system.account(bob.address)).data.free.toBigInt();
console.log(`Alice: nonce ${before.nonce}, free ${before.data.free}`);
if (before.data.free.toBigInt() <= AMOUNT) fail('Alice has no funds');

const tx = api.tx.balances.transferKeepAlive(bob.address, AMOUNT);
const info = await tx.paymentInfo(alice);
console.log(`estimated fee ${info.partialFee}`);

const finalized = await new Promise((resolve, reject) => {
  tx.signAndSend(alice, ({ status, events, dispatchError }) => {
    console.log(`status ${status.type}`);
    if (dispatchError) reject(new Error(`dispatch error ${dispatchError.toString()}`));
    if (status.isInBlock) {
      const names = events.map(({ event }) => `${event.section}.${event.method}`);
      console.log(`events ${names.join(', ')}`);
      if (!names.includes('balances.Transfer')) reject(new Error(`no balances.Transfer in ${names}`));
      if (!names.includes('system.ExtrinsicSuccess')) reject(new Error(`no system.ExtrinsicSuccess in ${names}`));
    }
    if (status.isFinalized) resolve({ block: status.asFinalized.toHex(), events });
    if (status.isInvalid || status.isDropped || status.isUsurped) reject(new Error(`status ${status.type}`));
  }).catch(reject);
}).catch((e) => fail(e.message));

const feeEvent = finalized.events.find(({ event }) => event.section === 'transactionPayment' && event.method === 'TransactionFeePaid');
if (!feeEvent) fail('no TransactionFeePaid event');
const fee = feeEvent.event.data[1].toBigInt();
console.log(`finalized in ${finalized.block}, fee paid ${fee}`);

const after = await api.query.system.account(alice.address);
const bobAfter = (await api.query.system.account(bob.address)).data.free.toBigInt();
if (bobAfter - bobBefore !== AMOUNT) fail(`Bob received ${bobAfter - bobBefore}, expected ${AMOUNT}`);
if (after.nonce.toNumber() !== before.nonce.toNumber() + 1) fail(`Alice nonce ${after.nonce}, expected ${before.nonce.toNumber() + 1}`);
// Alice is also the block author on dev chains and receives 20% of the fee back.
const authorShare = fee - (fee / 100n) * 80n - ((fee % 100n) * 80n) / 100n;
const expectedAlice = before.data.free.toBigInt() - AMOUNT - fee + authorShare;
if (after.data.free.toBigInt() !== expectedAlice) fail(`Alice has ${after.data.free}, expected ${expectedAlice}`);
console.log(`Alice ${after.data.free} (nonce ${after.nonce}), Bob ${bobAfter}`);

// Derives wallets and explorers use.
const all = await api.derive.balances.all(bob.address);
if (all.freeBalance.toBigInt() !== bobAfter) fail(`derive.balances.all free ${all.freeBalance}, expected ${bobAfter}`);
if (all.availableBalance.toBigInt() !== bobAfter) fail(`derive.balances.all available ${all.availableBalance}`);
if (all.lockedBalance.toBigInt() !== 0n) fail(`derive.balances.all locked ${all.lockedBalance}`);
if (all.accountNonce.toNumber() !== 0) fail(`derive.balances.all nonce ${all.accountNonce}`);
const finalizedHeader = await api.rpc.chain.getHeader(finalized.block);
const bestFinalized = await api.derive.chain.bestNumberFinalized();
if (bestFinalized.toNumber() < finalizedHeader.number.toNumber()) fail(`bestNumberFinalized ${bestFinalized} < ${finalizedHeader.number}`);
console.log(`derive.balances.all: free ${all.freeBalance}; derive.chain.bestNumberFinalized: ${bestFinalized}`);

// Finalized heads by subscription: three, in order, each really finalized.
const heads = await new Promise((resolve, reject) => {
  const seen = [];
  api.rpc.chain.subscribeFinalizedHeads((header) => {
    seen.push(header.number.toNumber());
    if (seen.length === 3) resolve(seen);
  }).catch(reject);
}).catch((e) => fail(e.message));
if (!(heads[0] < heads[1] && heads[1] < heads[2])) fail(`finalized heads ${heads}`);
console.log(`subscribeFinalizedHeads: ${heads.join(', ')}`);

// System.Events at the transfer's block, decoded with their phases: the
// transfer's events sit in its extrinsic's ApplyExtrinsic phase.
const signedBlock = await api.rpc.chain.getBlock(finalized.block);
const index = signedBlock.block.extrinsics.findIndex((x) => x.isSigned && x.signer.toString() === alice.address);
if (index < 0) fail('the transfer is not in its block');
const records = await (await api.at(finalized.block)).query.system.events();
const ours = records.filter(({ phase }) => phase.isApplyExtrinsic && phase.asApplyExtrinsic.toNumber() === index);
const transfer = ours.find(({ event }) => api.events.balances.Transfer.is(event));
if (!transfer) fail(`no Balances.Transfer in phase ApplyExtrinsic(${index})`);
const [from, to, amount] = transfer.event.data;
if (from.toString() !== alice.address || to.toString() !== bob.address || amount.toBigInt() !== AMOUNT) {
  fail(`Transfer ${transfer.event.data}`);
}
if (!ours.some(({ event }) => api.events.system.ExtrinsicSuccess.is(event))) fail('no ExtrinsicSuccess in its phase');
const phases = new Set(records.map(({ phase }) => phase.type));
console.log(`System.Events at the transfer's block: ${records.length} records, phases ${[...phases].join(', ')}`);
console.log('OK');
clearTimeout(timer);
await api.disconnect();
process.exit(0);
