//! Peer reputation: misbehaviour lowers a peer's score, time raises it back
//! towards zero, and a peer whose score falls to [`BAN_THRESHOLD`] is
//! disconnected and refused for [`BAN_DURATION`]. Pure: the time is passed
//! in.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use libp2p::PeerId;

/// A score at or below this bans the peer.
pub const BAN_THRESHOLD: i32 = -100;
/// How long a banned peer is refused.
pub const BAN_DURATION: Duration = Duration::from_secs(60);
/// Points a score recovers per second, towards zero.
pub const RECOVERY_PER_SECOND: i32 = 2;

/// What a peer did wrong, with its cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misbehaviour {
    /// A block that failed verification or import.
    BadBlock,
    /// A justification that failed verification.
    BadJustification,
    /// A message or response that does not decode.
    Undecodable,
    /// A message over its bound.
    Oversized,
    /// More requests than the per-peer rate allows.
    RequestFlood,
    /// A GRANDPA vote with a bad signature or from a non-voter.
    BadVote,
    /// A transaction the runtime refused.
    BadTransaction,
    /// A response that does not answer the request (wrong blocks, empty
    /// when it claimed more).
    UselessResponse,
}

impl Misbehaviour {
    /// The score it costs.
    pub fn cost(self) -> i32 {
        match self {
            Misbehaviour::BadBlock | Misbehaviour::BadJustification => 100,
            Misbehaviour::Undecodable | Misbehaviour::Oversized => 50,
            Misbehaviour::BadVote => 25,
            Misbehaviour::UselessResponse => 20,
            Misbehaviour::RequestFlood => 10,
            Misbehaviour::BadTransaction => 5,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Score {
    value: i32,
    at: Instant,
}

/// Scores and bans.
#[derive(Debug, Default)]
pub struct Reputation {
    scores: BTreeMap<PeerId, Score>,
    banned: BTreeMap<PeerId, Instant>,
}

impl Reputation {
    fn current(&self, peer: &PeerId, now: Instant) -> i32 {
        match self.scores.get(peer) {
            Some(score) => {
                let secs = now.saturating_duration_since(score.at).as_secs().min(3600) as i32;
                (score.value + secs * RECOVERY_PER_SECOND).min(0)
            }
            None => 0,
        }
    }

    /// Lowers `peer`'s score for `what`; returns true if the peer is now banned.
    pub fn report(&mut self, peer: PeerId, what: Misbehaviour, now: Instant) -> bool {
        let value = self.current(&peer, now).saturating_sub(what.cost());
        self.scores.insert(peer, Score { value, at: now });
        if value <= BAN_THRESHOLD {
            self.banned.insert(peer, now + BAN_DURATION);
            self.scores.remove(&peer);
            return true;
        }
        false
    }

    /// The peer's score now.
    pub fn score(&self, peer: &PeerId, now: Instant) -> i32 {
        self.current(peer, now)
    }

    /// Whether `peer` is banned now (expired bans are forgotten).
    pub fn is_banned(&mut self, peer: &PeerId, now: Instant) -> bool {
        match self.banned.get(peer) {
            Some(until) if *until > now => true,
            Some(_) => {
                self.banned.remove(peer);
                false
            }
            None => false,
        }
    }

    /// Banned peers and when their bans end.
    pub fn banned(&self) -> Vec<(PeerId, Instant)> {
        self.banned.iter().map(|(p, t)| (*p, *t)).collect()
    }

    /// Forgets recovered scores (kept bounded by the peers that misbehave).
    pub fn prune(&mut self, now: Instant) {
        let recovered: Vec<PeerId> = self.scores.keys().filter(|p| self.current(p, now) == 0).copied().collect();
        for peer in recovered {
            self.scores.remove(&peer);
        }
        self.banned.retain(|_, until| *until > now);
    }
}

/// A per-peer budget of inbound requests: `rate` per second, bursts of
/// twice that.
#[derive(Debug)]
pub struct RequestBudget {
    rate: u32,
    buckets: BTreeMap<PeerId, (u32, Instant)>,
}

impl RequestBudget {
    /// A budget of `rate` requests per second per peer.
    pub fn new(rate: u32) -> Self {
        RequestBudget { rate: rate.max(1), buckets: BTreeMap::new() }
    }

    /// Takes one request from `peer`'s budget; false if it is spent.
    pub fn take(&mut self, peer: PeerId, now: Instant) -> bool {
        let burst = self.rate.saturating_mul(2);
        let (tokens, at) = self.buckets.entry(peer).or_insert((burst, now));
        let refill = (now.saturating_duration_since(*at).as_millis() as u64 * u64::from(self.rate) / 1000) as u32;
        if refill > 0 {
            *tokens = tokens.saturating_add(refill).min(burst);
            *at = now;
        }
        if *tokens == 0 {
            return false;
        }
        *tokens -= 1;
        true
    }

    /// Forgets a disconnected peer.
    pub fn forget(&mut self, peer: &PeerId) {
        self.buckets.remove(peer);
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // a starting instant for the tests' own timeline
mod tests {
    use super::*;

    #[test]
    fn misbehaviour_bans_and_time_heals() {
        let mut r = Reputation::default();
        let peer = PeerId::random();
        let t0 = Instant::now();
        assert!(!r.report(peer, Misbehaviour::Undecodable, t0));
        assert_eq!(r.score(&peer, t0), -50);
        assert_eq!(r.score(&peer, t0 + Duration::from_secs(10)), -30, "recovers 2 per second");
        assert_eq!(r.score(&peer, t0 + Duration::from_secs(100)), 0, "never above zero");
        assert!(!r.is_banned(&peer, t0));
        assert!(r.report(peer, Misbehaviour::BadBlock, t0), "-150 bans");
        assert!(r.is_banned(&peer, t0 + Duration::from_secs(59)));
        assert!(!r.is_banned(&peer, t0 + BAN_DURATION), "the ban ends");
        let other = PeerId::random();
        for _ in 0..9 {
            assert!(!r.report(other, Misbehaviour::RequestFlood, t0));
        }
        assert!(r.report(other, Misbehaviour::RequestFlood, t0), "ten floods in a row ban");
    }

    #[test]
    fn request_budgets_refill() {
        let mut b = RequestBudget::new(5);
        let peer = PeerId::random();
        let t0 = Instant::now();
        assert_eq!((0..20).filter(|_| b.take(peer, t0)).count(), 10, "a burst of twice the rate");
        assert!(!b.take(peer, t0));
        assert!(b.take(peer, t0 + Duration::from_millis(200)), "one more after a fifth of a second");
        assert!(b.take(PeerId::random(), t0), "budgets are per peer");
    }
}
