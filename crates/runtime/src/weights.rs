//! Weights (execution time in picoseconds and proof size), dispatch classes
//! and block limits, with Substrate's encodings and metadata paths.

use parity_scale_codec::{Decode, Encode, MaxEncodedLen};
use scale_info::{build::Fields, Path, Type, TypeInfo};

/// Picoseconds per second of reference execution time.
pub const WEIGHT_REF_TIME_PER_SECOND: u64 = 1_000_000_000_000;
/// Picoseconds per microsecond.
pub const WEIGHT_REF_TIME_PER_MICROS: u64 = 1_000_000;

/// Computation weight: reference time (ps) and proof size (bytes).
/// Both fields are compact-encoded, as Substrate's `Weight`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Encode, Decode, MaxEncodedLen)]
pub struct Weight {
    /// Reference execution time in picoseconds.
    #[codec(compact)]
    pub ref_time: u64,
    /// Storage proof size in bytes.
    #[codec(compact)]
    pub proof_size: u64,
}

impl TypeInfo for Weight {
    type Identity = Self;
    fn type_info() -> Type {
        Type::builder().path(Path::new("Weight", "sp_weights::weight_v2")).composite(
            Fields::named()
                .field(|f| f.compact::<u64>().name("ref_time").type_name("u64"))
                .field(|f| f.compact::<u64>().name("proof_size").type_name("u64")),
        )
    }
}

impl Weight {
    /// No weight.
    pub const ZERO: Weight = Weight { ref_time: 0, proof_size: 0 };

    /// A weight of `ref_time` picoseconds and `proof_size` bytes.
    pub const fn from_parts(ref_time: u64, proof_size: u64) -> Self {
        Weight { ref_time, proof_size }
    }

    /// Component-wise saturating sum.
    pub const fn saturating_add(self, other: Weight) -> Weight {
        Weight {
            ref_time: self.ref_time.saturating_add(other.ref_time),
            proof_size: self.proof_size.saturating_add(other.proof_size),
        }
    }

    /// Whether every component is at most `limit`'s.
    pub const fn all_lte(self, limit: Weight) -> bool {
        self.ref_time <= limit.ref_time && self.proof_size <= limit.proof_size
    }
}

/// How a dispatch is accounted against block limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, MaxEncodedLen)]
pub enum DispatchClass {
    /// User transactions, limited to a share of the block.
    #[default]
    #[codec(index = 0)]
    Normal,
    /// Operational transactions (governance), may use the rest.
    #[codec(index = 1)]
    Operational,
    /// Inherents that must be included (timestamp).
    #[codec(index = 2)]
    Mandatory,
}

impl DispatchClass {
    /// Index into per-class arrays.
    pub const fn index(self) -> usize {
        match self {
            DispatchClass::Normal => 0,
            DispatchClass::Operational => 1,
            DispatchClass::Mandatory => 2,
        }
    }
}

/// Whether the signer pays the fee.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, MaxEncodedLen)]
pub enum Pays {
    /// The fee is charged.
    #[default]
    #[codec(index = 0)]
    Yes,
    /// No fee (e.g. sudo).
    #[codec(index = 1)]
    No,
}

/// A dispatch's weight, class and fee flag (carried by `ExtrinsicSuccess`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct DispatchInfo {
    /// Declared weight.
    pub weight: Weight,
    /// Class.
    pub class: DispatchClass,
    /// Whether it pays a fee.
    pub pays_fee: Pays,
}

/// Per-class values (`frame_support::dispatch::PerDispatchClass`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct PerDispatchClass<T> {
    /// Normal class.
    pub normal: T,
    /// Operational class.
    pub operational: T,
    /// Mandatory class.
    pub mandatory: T,
}

/// What `TransactionPaymentApi_query_info` and `payment_queryInfo` return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, TypeInfo)]
pub struct RuntimeDispatchInfo {
    /// Declared weight of the call.
    pub weight: Weight,
    /// Class.
    pub class: DispatchClass,
    /// The fee without the tip.
    pub partial_fee: u128,
}

macro_rules! substrate_path {
    ($ty:ident, $name:literal, $module:literal, variants: [$($v:literal = $i:literal),*]) => {
        impl TypeInfo for $ty {
            type Identity = Self;
            fn type_info() -> Type {
                Type::builder()
                    .path(Path::new($name, $module))
                    .variant(scale_info::build::Variants::new()$(.variant($v, |v| v.index($i)))*)
            }
        }
    };
}
substrate_path!(DispatchClass, "DispatchClass", "frame_support::dispatch", variants: ["Normal" = 0, "Operational" = 1, "Mandatory" = 2]);
substrate_path!(Pays, "Pays", "frame_support::dispatch", variants: ["Yes" = 0, "No" = 1]);

/// Block limits.
pub mod limits {
    use super::*;

    /// Most weight a block may use: 2 s of reference time.
    pub const MAX_BLOCK_WEIGHT: Weight = Weight::from_parts(2 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX);
    /// Share of the block normal transactions may use, in percent.
    pub const NORMAL_DISPATCH_RATIO_PERCENT: u64 = 75;
    /// Most weight normal transactions may use.
    pub const MAX_NORMAL_WEIGHT: Weight =
        Weight::from_parts(MAX_BLOCK_WEIGHT.ref_time / 100 * NORMAL_DISPATCH_RATIO_PERCENT, u64::MAX);
    /// Most bytes of extrinsics in a block.
    pub const MAX_BLOCK_LENGTH: u32 = 5 * 1024 * 1024;
    /// Most bytes of normal extrinsics in a block.
    pub const MAX_NORMAL_LENGTH: u32 = MAX_BLOCK_LENGTH / 100 * 75;
    /// Fixed cost of every extrinsic (decoding, signature check, fee handling).
    pub const EXTRINSIC_BASE_WEIGHT: Weight = Weight::from_parts(50 * WEIGHT_REF_TIME_PER_MICROS, 0);
    /// Fixed cost of a block (initialize/finalize).
    pub const BLOCK_EXECUTION_WEIGHT: Weight = Weight::from_parts(5_000 * WEIGHT_REF_TIME_PER_MICROS, 0);
    /// Largest encoded extrinsic accepted anywhere.
    pub const MAX_EXTRINSIC_LEN: usize = 4 * 1024 * 1024;
}
