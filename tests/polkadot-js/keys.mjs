// Derives keys with @polkadot/util-crypto (unmodified) for the secret URIs,
// schemes and SS58 prefixes given as JSON on argv[2] ([{suri, scheme,
// prefix}]), and prints one JSON line per entry: the public key and the
// address. The e2e suite compares them with `umbra key inspect`.
// Usage: node keys.mjs '[{"suri":"//Alice","scheme":"sr25519","prefix":42}]'
import { cryptoWaitReady, encodeAddress, keyExtractSuri, mnemonicToMiniSecret, ed25519PairFromSeed, sr25519PairFromSeed, keyFromPath } from '@polkadot/util-crypto';
import { hexToU8a, isHex, u8aToHex } from '@polkadot/util';

await cryptoWaitReady();
const DEV_PHRASE = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';

for (const { suri, scheme, prefix } of JSON.parse(process.argv[2])) {
  const full = suri.startsWith('/') ? `${DEV_PHRASE}${suri}` : suri;
  const { phrase, path, password } = keyExtractSuri(full);
  const seed = isHex(phrase, 256) ? hexToU8a(phrase) : mnemonicToMiniSecret(phrase, password);
  const root = scheme === 'ed25519' ? ed25519PairFromSeed(seed) : sr25519PairFromSeed(seed);
  const pair = keyFromPath(root, path, scheme);
  console.log(JSON.stringify({ suri, scheme, prefix, publicKey: u8aToHex(pair.publicKey), address: encodeAddress(pair.publicKey, prefix) }));
}
