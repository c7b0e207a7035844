//! Joint risk control written with `#[contract]`. Member institutions
//! flag clients by a hashed identifier (e.g. BLAKE2 of a national id and a
//! consortium salt). A member asks "is this client flagged by at least k
//! institutions?" and learns only yes or no: not the count, not who
//! flagged, not the other flagged clients. Flags and counts live in the
//! contract's (encrypted) storage; the chain sees sealed commands only.
//!
//! * constructor `new(threshold: u32)`: the deployer administers members;
//! * command `admit(member: [u8; 32])`: admin only;
//! * command `flag(client: [u8; 32])`: a member flags a client (once);
//! * command `unflag(client: [u8; 32])`: a member withdraws its flag;
//! * query `is_flagged(client: [u8; 32]) -> bool`: members only.
#![cfg_attr(target_arch = "wasm32", no_std)]

/// The joint risk control contract.
#[umbra_contract_sdk::contract]
pub mod joint_risk {
    use umbra_contract_sdk::{codec, env, Decode, Encode, Map, Value};

    /// Why a call is refused (the revert reason, SCALE-encoded).
    #[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
    #[codec(crate = codec)]
    pub enum Error {
        /// Not a member (or anonymous).
        #[codec(index = 0)]
        NotMember,
        /// Only the admin admits members.
        #[codec(index = 1)]
        NotAdmin,
        /// This member already flagged this client.
        #[codec(index = 2)]
        AlreadyFlagged,
        /// This member has not flagged this client.
        #[codec(index = 3)]
        NotFlagged,
        /// The threshold must be at least 1.
        #[codec(index = 4)]
        BadThreshold,
    }

    /// The consortium's state.
    #[storage]
    pub struct Consortium {
        admin: Value<[u8; 32]>,
        threshold: Value<u32>,
        members: Map<[u8; 32], bool>,
        flags: Map<([u8; 32], [u8; 32]), bool>,
        counts: Map<[u8; 32], u32>,
    }

    impl Consortium {
        /// A consortium answering "flagged by at least `threshold`
        /// members"; the deployer administers it and is a member.
        #[constructor]
        pub fn new(threshold: u32) -> Self {
            if threshold == 0 {
                env::revert(&Error::BadThreshold.encode());
            }
            let this = Self::storage();
            let admin = env::caller().unwrap_or_default();
            this.admin.set(&admin);
            this.members.insert(&admin, &true);
            this.threshold.set(&threshold);
            this
        }

        /// Admits a member institution (admin only).
        #[command]
        pub fn admit(&mut self, member: [u8; 32]) -> Result<(), Error> {
            if env::caller() != self.admin.get() {
                return Err(Error::NotAdmin);
            }
            self.members.insert(&member, &true);
            Ok(())
        }

        /// Flags `client` on behalf of the calling member.
        #[command]
        pub fn flag(&mut self, client: [u8; 32]) -> Result<(), Error> {
            let member = self.member()?;
            if self.flags.get(&(member, client)).is_some() {
                return Err(Error::AlreadyFlagged);
            }
            self.flags.insert(&(member, client), &true);
            self.counts.insert(&client, &self.counts.get(&client).unwrap_or(0).saturating_add(1));
            Ok(())
        }

        /// Withdraws the calling member's flag on `client`.
        #[command]
        pub fn unflag(&mut self, client: [u8; 32]) -> Result<(), Error> {
            let member = self.member()?;
            if self.flags.get(&(member, client)).is_none() {
                return Err(Error::NotFlagged);
            }
            self.flags.remove(&(member, client));
            match self.counts.get(&client).unwrap_or(1) {
                0 | 1 => self.counts.remove(&client),
                n => self.counts.insert(&client, &(n - 1)),
            }
            Ok(())
        }

        /// Whether at least `threshold` members flagged `client`.
        #[query]
        pub fn is_flagged(&self, client: [u8; 32]) -> Result<bool, Error> {
            self.member()?;
            Ok(self.counts.get(&client).unwrap_or(0) >= self.threshold.get().unwrap_or(u32::MAX))
        }
    }

    impl Consortium {
        fn member(&self) -> Result<[u8; 32], Error> {
            let who = env::caller().ok_or(Error::NotMember)?;
            self.members.get(&who).map(|_| who).ok_or(Error::NotMember)
        }
    }
}

#[cfg(test)]
mod tests {
    use umbra_contract_sdk::{selector, test_env, Call, Encode};

    use super::joint_risk::{self, Error};

    const BANK_A: [u8; 32] = [1; 32];
    const BANK_B: [u8; 32] = [2; 32];
    const BANK_C: [u8; 32] = [3; 32];
    const OUTSIDER: [u8; 32] = [9; 32];
    const CLIENT: [u8; 32] = [0xc1; 32];
    const OTHER_CLIENT: [u8; 32] = [0xc2; 32];

    fn invoke(caller: Option<[u8; 32]>, method: &str, args: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
        test_env::call(caller, Call { selector: selector(method), args }.encode(), joint_risk::call)
    }

    #[test]
    fn members_learn_only_the_threshold_answer() {
        test_env::reset();
        test_env::call(Some(BANK_A), 2u32.encode(), joint_risk::deploy).unwrap();
        invoke(Some(BANK_A), "admit", BANK_B.encode()).unwrap();
        invoke(Some(BANK_A), "admit", BANK_C.encode()).unwrap();
        assert_eq!(invoke(Some(BANK_B), "admit", OUTSIDER.encode()), Err(Error::NotAdmin.encode()));
        assert_eq!(invoke(Some(OUTSIDER), "flag", CLIENT.encode()), Err(Error::NotMember.encode()));

        invoke(Some(BANK_A), "flag", CLIENT.encode()).unwrap();
        assert_eq!(invoke(Some(BANK_A), "flag", CLIENT.encode()), Err(Error::AlreadyFlagged.encode()));
        assert_eq!(invoke(Some(BANK_C), "is_flagged", CLIENT.encode()).unwrap(), false.encode());
        invoke(Some(BANK_B), "flag", CLIENT.encode()).unwrap();
        assert_eq!(invoke(Some(BANK_C), "is_flagged", CLIENT.encode()).unwrap(), true.encode());
        assert_eq!(invoke(Some(BANK_C), "is_flagged", OTHER_CLIENT.encode()).unwrap(), false.encode());
        assert_eq!(invoke(Some(OUTSIDER), "is_flagged", CLIENT.encode()), Err(Error::NotMember.encode()));
        assert_eq!(invoke(None, "is_flagged", CLIENT.encode()), Err(Error::NotMember.encode()));

        assert_eq!(invoke(Some(BANK_C), "unflag", CLIENT.encode()), Err(Error::NotFlagged.encode()));
        invoke(Some(BANK_B), "unflag", CLIENT.encode()).unwrap();
        assert_eq!(invoke(Some(BANK_C), "is_flagged", CLIENT.encode()).unwrap(), false.encode());
    }

    #[test]
    fn zero_threshold_is_refused() {
        test_env::reset();
        assert_eq!(test_env::call(Some(BANK_A), 0u32.encode(), joint_risk::deploy), Err(Error::BadThreshold.encode()));
    }
}
