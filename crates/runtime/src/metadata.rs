//! Runtime metadata V14: every module's storage, calls, events, errors and
//! constants, the extrinsic format and its signed extensions.
//!
//! Types that generic clients special-case carry Substrate's paths
//! (`sp_core::crypto::AccountId32`, `sp_runtime::multiaddress::MultiAddress`,
//! `sp_runtime::generic::era::Era`, `sp_runtime::MultiSignature`,
//! `sp_runtime::generic::unchecked_extrinsic::UncheckedExtrinsic`,
//! `sp_weights::weight_v2::Weight`, `umbra_runtime::RuntimeCall`…), so
//! polkadot.js and subxt build and decode our extrinsics and storage
//! without custom type definitions. Constant values that depend on the chain
//! spec (the slot duration) are read from the state the metadata is built at.

use alloc::{vec, vec::Vec};

use frame_metadata::{
    v14::{
        ExtrinsicMetadata, PalletCallMetadata, PalletConstantMetadata, PalletErrorMetadata, PalletEventMetadata,
        PalletMetadata, PalletStorageMetadata, RuntimeMetadataV14, SignedExtensionMetadata, StorageEntryMetadata,
        StorageEntryModifier, StorageEntryType, StorageHasher,
    },
    v15, v16, RuntimeMetadata, RuntimeMetadataPrefixed, META_RESERVED,
};
use parity_scale_codec::Encode;
use scale_info::{build::Fields, form::MetaForm, meta_type, Path, Type, TypeInfo, TypeParameter};
use umbra_crypto::sr25519;
use umbra_primitives::{
    extrinsic::{Era, MultiAddress, MultiSignature},
    grandpa::{AuthorityList, ScheduledChange},
    header::Digest,
    AccountId32, Balance, H256,
};

use crate::{
    event::{EventRecord, Phase},
    modules::{
        aura, balances, contracts, gatekeeper, grandpa, message_queue, offences, randomness, registry, sudo, system,
        timestamp, transaction_payment,
    },
    state::{Ext, StateRead},
    weights::{limits, DispatchClass, PerDispatchClass, Weight},
    RuntimeCall,
};

/// The metadata versions this runtime serves.
pub const SUPPORTED_VERSIONS: [u32; 3] = [14, 15, 16];

macro_rules! marker {
    ($(#[$doc:meta])* $name:ident, $path_name:literal, $module:literal, $fields:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl TypeInfo for $name {
            type Identity = Self;
            fn type_info() -> Type {
                Type::builder().path(Path::new($path_name, $module)).composite($fields)
            }
        }
    };
}

marker!(
    /// The runtime itself (`umbra_runtime::Runtime`).
    Runtime, "Runtime", "umbra_runtime", Fields::unit()
);
marker!(
    /// `CheckNonZeroSender`: no data.
    CheckNonZeroSender, "CheckNonZeroSender", "frame_system::extensions::check_non_zero_sender", Fields::unit()
);
marker!(
    /// `CheckSpecVersion`: signs the spec version.
    CheckSpecVersion, "CheckSpecVersion", "frame_system::extensions::check_spec_version", Fields::unit()
);
marker!(
    /// `CheckTxVersion`: signs the transaction version.
    CheckTxVersion, "CheckTxVersion", "frame_system::extensions::check_tx_version", Fields::unit()
);
marker!(
    /// `CheckGenesis`: signs the genesis hash.
    CheckGenesis, "CheckGenesis", "frame_system::extensions::check_genesis", Fields::unit()
);
marker!(
    /// `CheckMortality`: the era; signs the birth block hash.
    CheckMortality, "CheckMortality", "frame_system::extensions::check_mortality",
    Fields::unnamed().field(|f| f.ty::<Era>().type_name("Era"))
);
marker!(
    /// `CheckNonce`: the compact nonce.
    CheckNonce, "CheckNonce", "frame_system::extensions::check_nonce",
    Fields::unnamed().field(|f| f.compact::<u32>().type_name("T::Nonce"))
);
marker!(
    /// `CheckWeight`: no data.
    CheckWeight, "CheckWeight", "frame_system::extensions::check_weight", Fields::unit()
);
marker!(
    /// `ChargeTransactionPayment`: the compact tip.
    ChargeTransactionPayment, "ChargeTransactionPayment", "pallet_transaction_payment",
    Fields::unnamed().field(|f| f.compact::<Balance>().type_name("BalanceOf<T>"))
);
marker!(
    /// `FixedU128`: a fixed-point number with 18 decimals.
    FixedU128, "FixedU128", "sp_arithmetic::fixed_point",
    Fields::unnamed().field(|f| f.ty::<u128>().type_name("u128"))
);
marker!(
    /// `Slot`: an Aura slot number.
    Slot, "Slot", "sp_consensus_slots",
    Fields::unnamed().field(|f| f.ty::<u64>().type_name("u64"))
);

/// The signed extensions' data, in order.
pub type SignedExtra = (
    CheckNonZeroSender,
    CheckSpecVersion,
    CheckTxVersion,
    CheckGenesis,
    CheckMortality,
    CheckNonce,
    CheckWeight,
    ChargeTransactionPayment,
);

/// The extrinsic type (`UncheckedExtrinsic<Address, Call, Signature, Extra>`).
pub struct UncheckedExtrinsic;

impl TypeInfo for UncheckedExtrinsic {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder()
            .path(Path::new("UncheckedExtrinsic", "sp_runtime::generic::unchecked_extrinsic"))
            .type_params(vec![
                TypeParameter::new("Address", Some(meta_type::<MultiAddress>())),
                TypeParameter::new("Call", Some(meta_type::<RuntimeCall>())),
                TypeParameter::new("Signature", Some(meta_type::<MultiSignature>())),
                TypeParameter::new("Extra", Some(meta_type::<SignedExtra>())),
            ])
            .composite(Fields::unnamed().field(|f| f.ty::<Vec<u8>>()))
    }
}

/// `frame_system::limits::WeightsPerClass`.
#[derive(Encode, TypeInfo)]
pub struct WeightsPerClass {
    /// Base weight of an extrinsic of the class.
    pub base_extrinsic: Weight,
    /// Largest single extrinsic.
    pub max_extrinsic: Option<Weight>,
    /// Largest total for the class.
    pub max_total: Option<Weight>,
    /// Reserved for the class.
    pub reserved: Option<Weight>,
}

/// `frame_system::limits::BlockWeights`.
#[derive(Encode, TypeInfo)]
pub struct BlockWeights {
    /// Block overhead.
    pub base_block: Weight,
    /// Block maximum.
    pub max_block: Weight,
    /// Per class.
    pub per_class: PerDispatchClass<WeightsPerClass>,
}

/// `frame_system::limits::BlockLength`.
#[derive(Encode, TypeInfo)]
pub struct BlockLength {
    /// Per class.
    pub max: PerDispatchClass<u32>,
}

/// `sp_weights::RuntimeDbWeight`.
#[derive(Encode, TypeInfo)]
pub struct RuntimeDbWeight {
    /// Weight of a read.
    pub read: u64,
    /// Weight of a write.
    pub write: u64,
}

fn plain<T: TypeInfo + 'static>(
    name: &'static str,
    optional: bool,
    default: Vec<u8>,
    doc: &'static str,
) -> StorageEntryMetadata<MetaForm> {
    StorageEntryMetadata {
        name,
        modifier: if optional { StorageEntryModifier::Optional } else { StorageEntryModifier::Default },
        ty: StorageEntryType::Plain(meta_type::<T>()),
        default,
        docs: vec![doc],
    }
}

fn map<K: TypeInfo + 'static, V: TypeInfo + 'static>(
    name: &'static str,
    hasher: StorageHasher,
    optional: bool,
    default: Vec<u8>,
    doc: &'static str,
) -> StorageEntryMetadata<MetaForm> {
    StorageEntryMetadata {
        name,
        modifier: if optional { StorageEntryModifier::Optional } else { StorageEntryModifier::Default },
        ty: StorageEntryType::Map { hashers: vec![hasher], key: meta_type::<K>(), value: meta_type::<V>() },
        default,
        docs: vec![doc],
    }
}

fn constant<T: TypeInfo + Encode + 'static>(
    name: &'static str,
    value: &T,
    doc: &'static str,
) -> PalletConstantMetadata<MetaForm> {
    PalletConstantMetadata { name, ty: meta_type::<T>(), value: value.encode(), docs: vec![doc] }
}

fn storage(
    prefix: &'static str,
    entries: Vec<StorageEntryMetadata<MetaForm>>,
) -> Option<PalletStorageMetadata<MetaForm>> {
    Some(PalletStorageMetadata { prefix, entries })
}

fn calls<T: TypeInfo + 'static>() -> Option<PalletCallMetadata<MetaForm>> {
    Some(PalletCallMetadata { ty: meta_type::<T>() })
}

fn events<T: TypeInfo + 'static>() -> Option<PalletEventMetadata<MetaForm>> {
    Some(PalletEventMetadata { ty: meta_type::<T>() })
}

fn errors<T: TypeInfo + 'static>() -> Option<PalletErrorMetadata<MetaForm>> {
    Some(PalletErrorMetadata { ty: meta_type::<T>() })
}

fn block_weights() -> BlockWeights {
    let per_class = |class: DispatchClass| WeightsPerClass {
        base_extrinsic: limits::EXTRINSIC_BASE_WEIGHT,
        max_extrinsic: match class {
            DispatchClass::Mandatory => None,
            _ => Some(limits::MAX_NORMAL_WEIGHT),
        },
        max_total: match class {
            DispatchClass::Normal => Some(limits::MAX_NORMAL_WEIGHT),
            DispatchClass::Operational => Some(limits::MAX_BLOCK_WEIGHT),
            DispatchClass::Mandatory => None,
        },
        reserved: None,
    };
    BlockWeights {
        base_block: limits::BLOCK_EXECUTION_WEIGHT,
        max_block: limits::MAX_BLOCK_WEIGHT,
        per_class: PerDispatchClass {
            normal: per_class(DispatchClass::Normal),
            operational: per_class(DispatchClass::Operational),
            mandatory: per_class(DispatchClass::Mandatory),
        },
    }
}

/// The pallets and the extrinsic format, with state-dependent constants
/// read from `backend`: what every metadata version describes.
fn parts(backend: &dyn StateRead) -> (Vec<PalletMetadata>, ExtrinsicMetadata) {
    let ext = Ext::new(backend);
    let slot_duration = aura::slot_duration(&ext);
    let default_account = system::AccountInfo::default().encode();
    let pallets = vec![
        PalletMetadata {
            name: system::NAME,
            index: system::INDEX,
            storage: storage(
                system::NAME,
                vec![
                    map::<AccountId32, system::AccountInfo>("Account", StorageHasher::Blake2_128Concat, false, default_account, "The full account information for a particular account ID."),
                    plain::<u32>("ExtrinsicCount", true, vec![0], "Total extrinsics count for the current block."),
                    plain::<PerDispatchClass<Weight>>("BlockWeight", false, PerDispatchClass::<Weight>::default().encode(), "The current weight for the block."),
                    plain::<u32>("AllExtrinsicsLen", true, vec![0], "Total length (in bytes) for all extrinsics put together, for the current block."),
                    map::<u32, H256>("BlockHash", StorageHasher::Twox64Concat, false, H256::zero().encode(), "Map of block numbers to block hashes."),
                    plain::<u32>("Number", false, 0u32.encode(), "The current block number being processed."),
                    plain::<H256>("ParentHash", false, H256::zero().encode(), "Hash of the previous block."),
                    plain::<Digest>("Digest", false, Digest::default().encode(), "Digest of the current block."),
                    plain::<Vec<EventRecord>>("Events", false, vec![0], "Events deposited for the current block."),
                    plain::<u32>("EventCount", false, 0u32.encode(), "The number of events in the `Events<T>` list."),
                    plain::<Phase>("ExecutionPhase", true, vec![0], "The execution phase of the block."),
                ],
            ),
            calls: calls::<system::Call>(),
            event: events::<system::Event>(),
            constants: vec![
                constant("BlockWeights", &block_weights(), "Block & extrinsics weights: base values and limits."),
                constant(
                    "BlockLength",
                    &BlockLength {
                        max: PerDispatchClass {
                            normal: limits::MAX_NORMAL_LENGTH,
                            operational: limits::MAX_BLOCK_LENGTH,
                            mandatory: limits::MAX_BLOCK_LENGTH,
                        },
                    },
                    "The maximum length of a block (in bytes).",
                ),
                constant("BlockHashCount", &system::BLOCK_HASH_COUNT, "Maximum number of block number to block hash mappings to keep (oldest pruned first)."),
                constant("DbWeight", &RuntimeDbWeight { read: 25_000_000, write: 100_000_000 }, "The weight of runtime database operations the runtime can invoke."),
                constant("Version", &crate::version(), "Get the chain's in-code version."),
                constant("SS58Prefix", &system::SS58_PREFIX, "The designated SS58 prefix of this chain."),
            ],
            error: errors::<system::Error>(),
        },
        PalletMetadata {
            name: timestamp::NAME,
            index: timestamp::INDEX,
            storage: storage(
                timestamp::NAME,
                vec![
                    plain::<u64>("Now", false, 0u64.encode(), "The current time for the current block."),
                    plain::<bool>("DidUpdate", false, false.encode(), "Whether the timestamp has been updated in this block."),
                ],
            ),
            calls: calls::<timestamp::Call>(),
            event: None,
            constants: vec![constant("MinimumPeriod", &(slot_duration / 2), "The minimum period between blocks.")],
            error: None,
        },
        PalletMetadata {
            name: balances::NAME,
            index: balances::INDEX,
            storage: storage(
                balances::NAME,
                vec![plain::<Balance>("TotalIssuance", false, 0u128.encode(), "The total units issued in the system.")],
            ),
            calls: calls::<balances::Call>(),
            event: events::<balances::Event>(),
            constants: vec![
                constant("ExistentialDeposit", &balances::EXISTENTIAL_DEPOSIT, "The minimum amount required to keep an account open."),
                constant("MaxLocks", &0u32, "The maximum number of locks that should exist on an account."),
                constant("MaxReserves", &0u32, "The maximum number of named reserves that can exist on an account."),
                constant("MaxFreezes", &0u32, "The maximum number of individual freeze locks that can exist on an account."),
            ],
            error: errors::<balances::Error>(),
        },
        PalletMetadata {
            name: transaction_payment::NAME,
            index: transaction_payment::INDEX,
            storage: storage(
                transaction_payment::NAME,
                vec![plain::<FixedU128>("NextFeeMultiplier", false, transaction_payment::MULTIPLIER_ONE.encode(), "The fee multiplier of the next block.")],
            ),
            calls: None,
            event: events::<transaction_payment::Event>(),
            constants: vec![constant(
                "OperationalFeeMultiplier",
                &transaction_payment::OPERATIONAL_FEE_MULTIPLIER,
                "A fee multiplier for `Operational` extrinsics to compute \"virtual tip\" to boost their priority.",
            )],
            error: None,
        },
        PalletMetadata {
            name: sudo::NAME,
            index: sudo::INDEX,
            storage: storage(sudo::NAME, vec![plain::<AccountId32>("Key", true, vec![0], "The `AccountId` of the sudo key.")]),
            calls: calls::<sudo::Call>(),
            event: events::<sudo::Event>(),
            constants: vec![],
            error: errors::<sudo::Error>(),
        },
        PalletMetadata {
            name: aura::NAME,
            index: aura::INDEX,
            storage: storage(
                aura::NAME,
                vec![
                    plain::<Vec<sr25519::Public>>("Authorities", false, vec![0], "The current authority set."),
                    plain::<Slot>("CurrentSlot", false, 0u64.encode(), "The current slot of this block."),
                    plain::<u64>("SlotDuration", false, 0u64.encode(), "Slot duration in milliseconds, set at genesis."),
                ],
            ),
            calls: calls::<aura::Call>(),
            event: None,
            constants: vec![constant("SlotDuration", &slot_duration, "The slot duration in milliseconds.")],
            error: errors::<aura::Error>(),
        },
        PalletMetadata {
            name: grandpa::NAME,
            index: grandpa::INDEX,
            storage: storage(
                grandpa::NAME,
                vec![
                    plain::<AuthorityList>("Authorities", false, vec![0], "The current list of authorities."),
                    plain::<u64>("CurrentSetId", false, 0u64.encode(), "The number of changes (both in terms of keys and underlying economic responsibilities) in the \"set\" of Grandpa validators from genesis."),
                    plain::<ScheduledChange>("PendingChange", true, vec![0], "Pending change: (signaled at, scheduled change)."),
                ],
            ),
            calls: calls::<grandpa::Call>(),
            event: events::<grandpa::Event>(),
            constants: vec![constant("MaxAuthorities", &grandpa::MAX_AUTHORITIES, "Max Authorities in use")],
            error: errors::<grandpa::Error>(),
        },
        PalletMetadata {
            name: offences::NAME,
            index: offences::INDEX,
            storage: storage(
                offences::NAME,
                vec![map::<H256, offences::OffenceDetails>(
                    "Reports",
                    StorageHasher::Twox64Concat,
                    true,
                    vec![0],
                    "The primary structure that holds all offence records keyed by report identifiers.",
                )],
            ),
            calls: None,
            event: events::<offences::Event>(),
            constants: vec![],
            error: None,
        },
        PalletMetadata {
            name: registry::NAME,
            index: registry::INDEX,
            storage: storage(
                registry::NAME,
                vec![
                    map::<sr25519::Public, registry::WorkerInfo>("Workers", StorageHasher::Blake2_128Concat, true, vec![0], "Registered workers by identity key."),
                    map::<umbra_attestation::Measurement, u32>("AllowedMeasurements", StorageHasher::Blake2_128Concat, true, vec![0], "Allowed pRuntime measurements and the block each was added."),
                    map::<registry::WorkerRole, registry::TcbPolicy>("TcbPolicies", StorageHasher::Twox64Concat, true, vec![0], "TCB policy per role."),
                    plain::<bool>("SimulationAllowed", false, false.encode(), "Whether this chain may ever accept the simulated TEE (set at genesis for development and local chains)."),
                    plain::<registry::AttestationConfig>("AttestationConfig", true, vec![0], "Accepted platforms, simulated attestation keys, maximum age, re-attestation period."),
                    map::<sr25519::Public, registry::EndpointRecord>("Endpoints", StorageHasher::Blake2_128Concat, true, vec![0], "Public endpoints of workers."),
                    plain::<Vec<sr25519::Public>>("WorkerIds", false, vec![0], "Every registered identity in registration order (the random dispatch pool)."),
                    map::<sr25519::Public, (u32, u32)>("LastHeartbeat", StorageHasher::Blake2_128Concat, true, vec![0], "Each worker's last heartbeat: block it landed in, block the worker had synced."),
                ],
            ),
            calls: calls::<registry::Call>(),
            event: events::<registry::Event>(),
            constants: vec![
                constant("InfoVersion", &registry::INFO_VERSION, "The registration info version this runtime accepts."),
                constant("MaxEndpointLen", &(registry::MAX_ENDPOINT_LEN as u32), "Longest endpoint URL in bytes."),
                constant("MaxEndpointAgeMs", &registry::MAX_ENDPOINT_AGE_MS, "Endpoint announcements older than this are refused."),
            ],
            error: errors::<registry::Error>(),
        },
        PalletMetadata {
            name: message_queue::NAME,
            index: message_queue::INDEX,
            storage: storage(
                message_queue::NAME,
                vec![
                    plain::<Vec<message_queue::Message>>("Outbound", false, vec![0], "This block's messages to workers (cleared when the next block starts)."),
                    map::<message_queue::MessageOrigin, u64>("NextSequence", StorageHasher::Blake2_128Concat, false, 0u64.encode(), "The next sequence expected from each off-chain origin."),
                ],
            ),
            calls: calls::<message_queue::Call>(),
            event: events::<message_queue::Event>(),
            constants: vec![
                constant("MaxTopicLen", &(message_queue::MAX_TOPIC_LEN as u32), "Longest topic in bytes."),
                constant("MaxPayloadLen", &(message_queue::MAX_PAYLOAD_LEN as u32), "Largest payload in bytes."),
                constant("MaxOutbound", &(message_queue::MAX_OUTBOUND as u32), "Most messages to workers per block."),
            ],
            error: errors::<message_queue::Error>(),
        },
        PalletMetadata {
            name: gatekeeper::NAME,
            index: gatekeeper::INDEX,
            storage: storage(
                gatekeeper::NAME,
                vec![
                    plain::<Vec<sr25519::Public>>("Gatekeepers", false, vec![0], "The gatekeeper set, in order."),
                    plain::<u32>("CurrentEpoch", false, 0u32.encode(), "The current master-key epoch."),
                    map::<u32, sr25519::Public>("MasterPubkeys", StorageHasher::Twox64Concat, true, vec![0], "Each epoch's gatekeeper signing public key."),
                    plain::<u32>("RotationLock", true, vec![0], "The epoch a rotation in progress creates."),
                ],
            ),
            calls: calls::<gatekeeper::Call>(),
            event: events::<gatekeeper::Event>(),
            constants: vec![constant("MaxGatekeepers", &(gatekeeper::MAX_GATEKEEPERS as u32), "Most gatekeepers.")],
            error: errors::<gatekeeper::Error>(),
        },
        PalletMetadata {
            name: contracts::NAME,
            index: contracts::INDEX,
            storage: storage(
                contracts::NAME,
                vec![
                    map::<H256, contracts::ClusterInfo>("Clusters", StorageHasher::Blake2_128Concat, true, vec![0], "Clusters: workers and epoch."),
                    plain::<u64>("ClusterCount", false, 0u64.encode(), "Clusters created so far."),
                    map::<H256, Vec<u8>>("Code", StorageHasher::Identity, true, vec![0], "Uploaded contract code by BLAKE2-256 hash."),
                    map::<H256, contracts::CodeInfo>("CodeInfo", StorageHasher::Identity, true, vec![0], "Uploader, size and block of each code."),
                    map::<H256, contracts::ContractInfo>("Contracts", StorageHasher::Blake2_128Concat, true, vec![0], "Instantiated contracts: cluster, code, deployer, public keys."),
                    map::<H256, Vec<H256>>("ClusterContracts", StorageHasher::Blake2_128Concat, false, vec![0], "Each cluster's contracts in creation order."),
                    map::<H256, Vec<contracts::QueuedBlock>>("QueuedBlocks", StorageHasher::Blake2_128Concat, false, vec![0], "Per cluster, the blocks with commands waiting for a commit: counts and envelope bytes."),
                    map::<(H256, u32, u32), contracts::Command>("Queue", StorageHasher::Blake2_128Concat, true, vec![0], "Encrypted commands waiting for their cluster's commit, by (cluster, block, index)."),
                    plain::<u64>("NextCallId", false, 0u64.encode(), "The next command id."),
                    map::<AccountId32, u64>("CommandNonces", StorageHasher::Blake2_128Concat, false, 0u64.encode(), "Each account's lowest command nonce its next envelope may be bound to."),
                    map::<u64, contracts::PendingCall>("PendingCalls", StorageHasher::Twox64Concat, true, vec![0], "Gas reserved per uncommitted command."),
                    map::<u64, contracts::CallResult>("Results", StorageHasher::Twox64Concat, true, vec![0], "Each command's status, gas used and encrypted output."),
                    map::<H256, contracts::CommitState>("CommitStates", StorageHasher::Blake2_128Concat, false, contracts::CommitState::default().encode(), "Each cluster's newest commit and number of delta records."),
                    map::<(H256, u64), contracts::DeltaRecord>("Deltas", StorageHasher::Blake2_128Concat, true, vec![0], "Encrypted state deltas per commit (data availability)."),
                    map::<(H256, u32), H256>("CommittedRoots", StorageHasher::Blake2_128Concat, true, vec![0], "Committed state root per cluster and block."),
                    map::<H256, u32>("Frozen", StorageHasher::Blake2_128Concat, true, vec![0], "Clusters frozen after a divergence, and when."),
                    plain::<u64>("Replacements", false, 0u64.encode(), "Replicas replaced so far."),
                    map::<H256, (u32, sr25519::Public)>("ClusterPubkeys", StorageHasher::Blake2_128Concat, true, vec![0], "Each cluster's epoch and signing public key."),
                    map::<H256, [u8; 32]>("ClusterEcdh", StorageHasher::Blake2_128Concat, true, vec![0], "Each cluster's X25519 public key (constructor envelopes)."),
                ],
            ),
            calls: calls::<contracts::Call>(),
            event: events::<contracts::Event>(),
            constants: vec![
                constant("MaxClusterWorkers", &(contracts::MAX_CLUSTER_WORKERS as u32), "Most workers in a cluster."),
                constant("GasPrice", &contracts::GAS_PRICE, "Planck per unit of gas."),
                constant("MaxGasLimit", &contracts::MAX_GAS_LIMIT, "Largest gas limit of one command."),
                constant("MaxBlockGas", &contracts::MAX_BLOCK_GAS, "Most gas one block's commands may reserve per cluster."),
                constant("HeartbeatGrace", &contracts::HEARTBEAT_GRACE, "Blocks without a heartbeat before a worker is ineligible."),
            ],
            error: errors::<contracts::Error>(),
        },
        PalletMetadata {
            name: randomness::NAME,
            index: randomness::INDEX,
            storage: storage(
                randomness::NAME,
                vec![
                    plain::<u64>("EpochIndex", false, 0u64.encode(), "Current randomness epoch."),
                    plain::<H256>("Randomness", false, H256::zero().encode(), "This epoch's randomness."),
                    plain::<H256>("NextRandomness", false, H256::zero().encode(), "Accumulator of VRF outputs for the next epoch."),
                    plain::<H256>("AuthorVrfRandomness", false, H256::zero().encode(), "The VRF randomness of the current block's author."),
                ],
            ),
            calls: None,
            event: None,
            constants: vec![constant("EpochLength", &randomness::EPOCH_LENGTH, "Blocks per randomness epoch.")],
            error: None,
        },
    ];
    let extrinsic = ExtrinsicMetadata {
        ty: meta_type::<UncheckedExtrinsic>(),
        version: umbra_primitives::extrinsic::EXTRINSIC_FORMAT_VERSION,
        signed_extensions: vec![
            SignedExtensionMetadata {
                identifier: "CheckNonZeroSender",
                ty: meta_type::<CheckNonZeroSender>(),
                additional_signed: meta_type::<()>(),
            },
            SignedExtensionMetadata {
                identifier: "CheckSpecVersion",
                ty: meta_type::<CheckSpecVersion>(),
                additional_signed: meta_type::<u32>(),
            },
            SignedExtensionMetadata {
                identifier: "CheckTxVersion",
                ty: meta_type::<CheckTxVersion>(),
                additional_signed: meta_type::<u32>(),
            },
            SignedExtensionMetadata {
                identifier: "CheckGenesis",
                ty: meta_type::<CheckGenesis>(),
                additional_signed: meta_type::<H256>(),
            },
            SignedExtensionMetadata {
                identifier: "CheckMortality",
                ty: meta_type::<CheckMortality>(),
                additional_signed: meta_type::<H256>(),
            },
            SignedExtensionMetadata {
                identifier: "CheckNonce",
                ty: meta_type::<CheckNonce>(),
                additional_signed: meta_type::<()>(),
            },
            SignedExtensionMetadata {
                identifier: "CheckWeight",
                ty: meta_type::<CheckWeight>(),
                additional_signed: meta_type::<()>(),
            },
            SignedExtensionMetadata {
                identifier: "ChargeTransactionPayment",
                ty: meta_type::<ChargeTransactionPayment>(),
                additional_signed: meta_type::<()>(),
            },
        ],
    };
    (pallets, extrinsic)
}

/// The metadata V14 of the runtime (what `state_getMetadata` and
/// `Metadata_metadata` return), with state-dependent constants read from
/// `backend`.
pub fn metadata(backend: &dyn StateRead) -> RuntimeMetadataPrefixed {
    let (pallets, extrinsic) = parts(backend);
    let mut v14 = RuntimeMetadataV14::new(pallets, extrinsic, meta_type::<Runtime>());
    substrate_paths(&mut v14.types);
    RuntimeMetadataPrefixed(META_RESERVED, RuntimeMetadata::V14(v14))
}

/// The metadata V15: V14's pallets and extrinsic, plus the runtime APIs
/// this runtime serves (names, parameters and results, as `state_call`
/// takes them) and the outer call, event and error enums.
pub fn metadata_v15(backend: &dyn StateRead) -> RuntimeMetadataPrefixed {
    let (pallets, extrinsic) = parts(backend);
    let pallets = pallets
        .into_iter()
        .map(|p| v15::PalletMetadata {
            name: p.name,
            storage: p.storage,
            calls: p.calls,
            event: p.event,
            constants: p.constants,
            error: p.error,
            index: p.index,
            docs: vec![],
        })
        .collect();
    let extrinsic = v15::ExtrinsicMetadata {
        version: extrinsic.version,
        address_ty: meta_type::<MultiAddress>(),
        call_ty: meta_type::<RuntimeCall>(),
        signature_ty: meta_type::<MultiSignature>(),
        extra_ty: meta_type::<SignedExtra>(),
        signed_extensions: extrinsic
            .signed_extensions
            .into_iter()
            .map(|e| v15::SignedExtensionMetadata {
                identifier: e.identifier,
                ty: e.ty,
                additional_signed: e.additional_signed,
            })
            .collect(),
    };
    let outer_enums = v15::OuterEnums {
        call_enum_ty: meta_type::<RuntimeCall>(),
        event_enum_ty: meta_type::<crate::RuntimeEvent>(),
        error_enum_ty: meta_type::<RuntimeError>(),
    };
    let custom = v15::CustomMetadata { map: Default::default() };
    let mut v15 =
        v15::RuntimeMetadataV15::new(pallets, extrinsic, meta_type::<Runtime>(), runtime_apis(), outer_enums, custom);
    substrate_paths(&mut v15.types);
    RuntimeMetadataPrefixed(META_RESERVED, RuntimeMetadata::V15(v15))
}

/// The metadata V16: V15's content in V16's shapes. Nothing is
/// deprecated, no pallet has associated types or view functions; the
/// extrinsic is version 4 only, whose transaction extensions are all of
/// extension version 0; runtime APIs carry the versions the runtime
/// reports in `Core_version`.
pub fn metadata_v16(backend: &dyn StateRead) -> RuntimeMetadataPrefixed {
    let (pallets, extrinsic) = parts(backend);
    let not_deprecated = || v16::ItemDeprecationInfo::NotDeprecated;
    let enum_not_deprecated = || v16::EnumDeprecationInfo(Default::default());
    let pallets = pallets
        .into_iter()
        .map(|p| v16::PalletMetadata {
            name: p.name,
            storage: p.storage.map(|s| v16::PalletStorageMetadata {
                prefix: s.prefix,
                entries: s
                    .entries
                    .into_iter()
                    .map(|e| v16::StorageEntryMetadata {
                        name: e.name,
                        modifier: e.modifier,
                        ty: e.ty,
                        default: e.default,
                        docs: e.docs,
                        deprecation_info: not_deprecated(),
                    })
                    .collect(),
            }),
            calls: p.calls.map(|c| v16::PalletCallMetadata { ty: c.ty, deprecation_info: enum_not_deprecated() }),
            event: p.event.map(|e| v16::PalletEventMetadata { ty: e.ty, deprecation_info: enum_not_deprecated() }),
            constants: p
                .constants
                .into_iter()
                .map(|c| v16::PalletConstantMetadata {
                    name: c.name,
                    ty: c.ty,
                    value: c.value,
                    docs: c.docs,
                    deprecation_info: not_deprecated(),
                })
                .collect(),
            error: p.error.map(|e| v16::PalletErrorMetadata { ty: e.ty, deprecation_info: enum_not_deprecated() }),
            associated_types: vec![],
            view_functions: vec![],
            index: p.index,
            docs: vec![],
            deprecation_info: not_deprecated(),
        })
        .collect();
    let extensions = extrinsic.signed_extensions.len() as u32;
    let extrinsic = v16::ExtrinsicMetadata {
        versions: vec![extrinsic.version],
        address_ty: meta_type::<MultiAddress>(),
        call_ty: meta_type::<RuntimeCall>(),
        signature_ty: meta_type::<MultiSignature>(),
        transaction_extensions_by_version: [(0u8, (0..extensions).map(parity_scale_codec::Compact).collect())]
            .into_iter()
            .collect(),
        transaction_extensions: extrinsic
            .signed_extensions
            .into_iter()
            .map(|e| v16::TransactionExtensionMetadata {
                identifier: e.identifier,
                ty: e.ty,
                implicit: e.additional_signed,
            })
            .collect(),
    };
    let apis = runtime_apis()
        .into_iter()
        .map(|api| v16::RuntimeApiMetadata {
            name: api.name,
            methods: api
                .methods
                .into_iter()
                .map(|m| v16::RuntimeApiMethodMetadata {
                    name: m.name,
                    inputs: m.inputs,
                    output: m.output,
                    docs: m.docs,
                    deprecation_info: not_deprecated(),
                })
                .collect(),
            docs: api.docs,
            version: parity_scale_codec::Compact(
                crate::api::API_VERSIONS.iter().find(|(n, _)| *n == api.name).map_or(1, |(_, v)| *v),
            ),
            deprecation_info: not_deprecated(),
        })
        .collect();
    let outer_enums = v16::OuterEnums {
        call_enum_ty: meta_type::<RuntimeCall>(),
        event_enum_ty: meta_type::<crate::RuntimeEvent>(),
        error_enum_ty: meta_type::<RuntimeError>(),
    };
    let custom = v16::CustomMetadata { map: Default::default() };
    let mut v16 = v16::RuntimeMetadataV16::new(pallets, extrinsic, apis, outer_enums, custom);
    substrate_paths(&mut v16.types);
    RuntimeMetadataPrefixed(META_RESERVED, RuntimeMetadata::V16(v16))
}

/// The metadata of `version` (one of [`SUPPORTED_VERSIONS`]), SCALE-encoded.
pub fn encoded_version(backend: &dyn StateRead, version: u32) -> Option<Vec<u8>> {
    match version {
        14 => Some(metadata(backend).encode()),
        15 => Some(metadata_v15(backend).encode()),
        16 => Some(metadata_v16(backend).encode()),
        _ => None,
    }
}

/// The modules with errors: (name, index, error type).
fn module_errors() -> [(&'static str, u8, scale_info::MetaType); 9] {
    [
        (system::NAME, system::INDEX, meta_type::<system::Error>()),
        (balances::NAME, balances::INDEX, meta_type::<balances::Error>()),
        (sudo::NAME, sudo::INDEX, meta_type::<sudo::Error>()),
        (aura::NAME, aura::INDEX, meta_type::<aura::Error>()),
        (grandpa::NAME, grandpa::INDEX, meta_type::<grandpa::Error>()),
        (registry::NAME, registry::INDEX, meta_type::<registry::Error>()),
        (message_queue::NAME, message_queue::INDEX, meta_type::<message_queue::Error>()),
        (gatekeeper::NAME, gatekeeper::INDEX, meta_type::<gatekeeper::Error>()),
        (contracts::NAME, contracts::INDEX, meta_type::<contracts::Error>()),
    ]
}

/// The outer error enum (`umbra_runtime::RuntimeError`): one variant per
/// module with errors, at the module's index, holding its error.
pub struct RuntimeError;

impl TypeInfo for RuntimeError {
    type Identity = Self;
    fn type_info() -> Type {
        macro_rules! variants {
            ($($module:ident),*) => {
                scale_info::build::Variants::new()$(.variant($module::NAME, |v| {
                    v.index($module::INDEX).fields(Fields::unnamed().field(|f| f.ty::<$module::Error>()))
                }))*
            };
        }
        // The modules of `module_errors`, in its order.
        let variants = variants!(system, balances, sudo, aura, grandpa, registry, message_queue, gatekeeper, contracts);
        Type::builder().path(Path::new("RuntimeError", "umbra_runtime")).variant(variants)
    }
}

/// One runtime API method's description.
fn method(
    name: &'static str,
    inputs: Vec<(&'static str, scale_info::MetaType)>,
    output: scale_info::MetaType,
) -> v15::RuntimeApiMethodMetadata {
    v15::RuntimeApiMethodMetadata {
        name,
        inputs: inputs.into_iter().map(|(name, ty)| v15::RuntimeApiMethodParamMetadata { name, ty }).collect(),
        output,
        docs: vec![],
    }
}

/// The runtime APIs `api::call` serves, as metadata V15 describes them.
fn runtime_apis() -> Vec<v15::RuntimeApiMetadata> {
    use crate::validation::{TransactionSource, ValidTransaction};
    let api =
        |name: &'static str, methods, docs: &'static str| v15::RuntimeApiMetadata { name, methods, docs: vec![docs] };
    vec![
        api("Core", vec![method("version", vec![], meta_type::<crate::RuntimeVersion>())], "The runtime's version."),
        api(
            "Metadata",
            vec![
                method("metadata", vec![], meta_type::<Vec<u8>>()),
                method("metadata_at_version", vec![("version", meta_type::<u32>())], meta_type::<Option<Vec<u8>>>()),
                method("metadata_versions", vec![], meta_type::<Vec<u32>>()),
            ],
            "The runtime's metadata, in every version it serves.",
        ),
        api(
            "TaggedTransactionQueue",
            vec![method(
                "validate_transaction",
                vec![
                    ("source", meta_type::<TransactionSource>()),
                    ("tx", meta_type::<UncheckedExtrinsic>()),
                    ("block_hash", meta_type::<H256>()),
                ],
                meta_type::<Result<ValidTransaction, crate::error::TransactionValidityError>>(),
            )],
            "Transaction validation for the pool.",
        ),
        api(
            "AccountNonceApi",
            vec![method("account_nonce", vec![("account", meta_type::<AccountId32>())], meta_type::<u32>())],
            "An account's next nonce.",
        ),
        api(
            "TransactionPaymentApi",
            vec![
                method(
                    "query_info",
                    vec![("uxt", meta_type::<UncheckedExtrinsic>()), ("len", meta_type::<u32>())],
                    meta_type::<crate::weights::RuntimeDispatchInfo>(),
                ),
                method(
                    "query_fee_details",
                    vec![("uxt", meta_type::<UncheckedExtrinsic>()), ("len", meta_type::<u32>())],
                    meta_type::<transaction_payment::FeeDetails>(),
                ),
            ],
            "Fee estimates.",
        ),
        api(
            "GrandpaApi",
            vec![
                method("grandpa_authorities", vec![], meta_type::<AuthorityList>()),
                method("current_set_id", vec![], meta_type::<u64>()),
            ],
            "The GRANDPA authority set.",
        ),
        api(
            "AuraApi",
            vec![
                method("slot_duration", vec![], meta_type::<u64>()),
                method("authorities", vec![], meta_type::<Vec<sr25519::Public>>()),
            ],
            "Aura's slot duration and authorities.",
        ),
    ]
}

/// Our types that generic clients look up by Substrate's path (the digest
/// a block decoder needs, the dispatch error a transaction watcher reads,
/// the phase an event filter matches, the runtime API types), and that
/// path. Applied to the registry after it is built, so the Rust modules
/// stay where they belong.
pub const SUBSTRATE_PATHS: &[(&str, &str)] = &[
    ("umbra_primitives::header::Digest", "sp_runtime::generic::digest::Digest"),
    ("umbra_primitives::header::DigestItem", "sp_runtime::generic::digest::DigestItem"),
    ("umbra_primitives::header::Header", "sp_runtime::generic::header::Header"),
    ("umbra_primitives::grandpa::ScheduledChange", "sp_consensus_grandpa::ScheduledChange"),
    ("umbra_runtime::error::DispatchError", "sp_runtime::DispatchError"),
    ("umbra_runtime::error::ModuleError", "sp_runtime::ModuleError"),
    ("umbra_runtime::error::TokenError", "sp_runtime::TokenError"),
    ("umbra_runtime::error::ArithmeticError", "sp_arithmetic::ArithmeticError"),
    ("umbra_runtime::error::TransactionalError", "sp_runtime::TransactionalError"),
    ("umbra_runtime::event::Phase", "frame_system::Phase"),
    ("umbra_runtime::weights::DispatchInfo", "frame_support::dispatch::DispatchInfo"),
    ("umbra_runtime::weights::PerDispatchClass", "frame_support::dispatch::PerDispatchClass"),
    ("umbra_runtime::metadata::BlockWeights", "frame_system::limits::BlockWeights"),
    ("umbra_runtime::metadata::WeightsPerClass", "frame_system::limits::WeightsPerClass"),
    ("umbra_runtime::metadata::BlockLength", "frame_system::limits::BlockLength"),
    ("umbra_runtime::metadata::RuntimeDbWeight", "sp_weights::RuntimeDbWeight"),
    ("umbra_runtime::RuntimeVersion", "sp_version::RuntimeVersion"),
    ("umbra_runtime::weights::RuntimeDispatchInfo", "pallet_transaction_payment::types::RuntimeDispatchInfo"),
    ("umbra_runtime::modules::transaction_payment::FeeDetails", "pallet_transaction_payment::types::FeeDetails"),
    ("umbra_runtime::modules::transaction_payment::InclusionFee", "pallet_transaction_payment::types::InclusionFee"),
    ("umbra_runtime::validation::TransactionSource", "sp_runtime::transaction_validity::TransactionSource"),
    ("umbra_runtime::validation::ValidTransaction", "sp_runtime::transaction_validity::ValidTransaction"),
    ("umbra_runtime::error::TransactionValidityError", "sp_runtime::transaction_validity::TransactionValidityError"),
    ("umbra_runtime::error::InvalidTransaction", "sp_runtime::transaction_validity::InvalidTransaction"),
    ("umbra_runtime::error::UnknownTransaction", "sp_runtime::transaction_validity::UnknownTransaction"),
];

/// Renames the types of [`SUBSTRATE_PATHS`] in `registry`.
fn substrate_paths(registry: &mut scale_info::PortableRegistry) {
    for ty in &mut registry.types {
        let path = ty.ty.path.segments.join("::");
        if let Some((_, to)) = SUBSTRATE_PATHS.iter().find(|(from, _)| *from == path) {
            ty.ty.path.segments = to.split("::").map(Into::into).collect();
        }
    }
}

/// The SCALE encoding of the prefixed metadata (what `state_getMetadata`
/// returns and what `OpaqueMetadata` wraps).
pub fn encoded(backend: &dyn StateRead) -> Vec<u8> {
    metadata(backend).encode()
}

/// The names of a module error, `(module, error)`, from the same type
/// information the metadata is built from: `(11, 12)` is
/// `("Registry", "MeasurementNotAllowed")`.
pub fn module_error_name(module: u8, error: u8) -> Option<(&'static str, &'static str)> {
    let (name, _, ty) = module_errors().into_iter().find(|(_, index, _)| *index == module)?;
    match ty.type_info().type_def {
        scale_info::TypeDef::Variant(def) => def.variants.iter().find(|v| v.index == error).map(|v| (name, v.name)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    /// Every type with a path outside our own modules' types carries
    /// Substrate's: the renames apply, and nothing generic stays ours.
    #[test]
    fn generic_types_carry_substrate_paths() {
        let state = alloc::collections::BTreeMap::<Vec<u8>, Vec<u8>>::new();
        let RuntimeMetadata::V14(v14) = metadata(&state).1 else { panic!("V14") };
        let RuntimeMetadata::V15(v15) = metadata_v15(&state).1 else { panic!("V15") };
        let v15_paths: Vec<String> = v15.types.types.iter().map(|t| t.ty.path.segments.join("::")).collect();
        for (_, to) in SUBSTRATE_PATHS.iter().filter(|(_, to)| !to.contains("Header") && !to.contains("Scheduled")) {
            assert!(v15_paths.iter().any(|p| p == to), "{to} is in the metadata");
        }
        let paths: Vec<String> = v14.types.types.iter().map(|t| t.ty.path.segments.join("::")).collect();
        let ours: Vec<&String> = paths
            .iter()
            .filter(|p| p.starts_with("umbra_primitives") || p.starts_with("umbra_runtime::error"))
            .filter(|p| !p.starts_with("umbra_runtime::modules"))
            .collect();
        assert!(ours.is_empty(), "{ours:?}");
        assert!(!paths
            .iter()
            .any(|p| p.starts_with("umbra_runtime::weights") || p.starts_with("umbra_runtime::metadata")));
    }

    /// V15 describes exactly the runtime APIs `api::call` serves, and
    /// every module with errors in its outer error enum.
    #[test]
    fn v15_describes_the_served_apis() {
        let state = alloc::collections::BTreeMap::<Vec<u8>, Vec<u8>>::new();
        let RuntimeMetadata::V15(v15) = metadata_v15(&state).1 else { panic!("V15") };
        let names: Vec<&str> = v15.apis.iter().map(|a| a.name.as_str()).collect();
        for (api, _) in crate::api::API_VERSIONS.iter().filter(|(a, _)| *a != "BlockBuilder") {
            assert!(names.contains(api), "{api} described");
        }
        let at = crate::api::At { hash: H256::zero(), number: 0 };
        for api in &v15.apis {
            for m in &api.methods {
                let method = alloc::format!("{}_{}", api.name, m.name);
                let result = crate::api::call(&state, at, &method, &[]);
                assert!(!matches!(result, Err(crate::api::ApiError::UnknownMethod(_))), "{method} is served");
            }
        }
        let error = v15.types.resolve(v15.outer_enums.error_enum_ty.id).unwrap();
        let scale_info::TypeDef::Variant(def) = &error.type_def else { panic!("an enum") };
        assert_eq!(def.variants.len(), module_errors().len());
        assert_eq!(error.path.segments.join("::"), "umbra_runtime::RuntimeError");
        assert!(v15
            .types
            .types
            .iter()
            .any(|t| t.ty.path.segments.join("::") == "sp_runtime::generic::digest::DigestItem"));
        assert_eq!(encoded_version(&state, 15).unwrap()[4], 15);
        assert_eq!(encoded_version(&state, 14).unwrap()[4], 14);
        assert_eq!(encoded_version(&state, 16).unwrap()[4], 16);
        assert!(encoded_version(&state, 17).is_none());
    }

    #[test]
    fn error_names_come_from_type_information() {
        assert_eq!(module_error_name(11, 12), Some(("Registry", "MeasurementNotAllowed")));
        assert_eq!(module_error_name(2, 2), Some(("Balances", "InsufficientBalance")));
        assert_eq!(module_error_name(11, 200), None);
        assert_eq!(module_error_name(99, 0), None);
    }
}
