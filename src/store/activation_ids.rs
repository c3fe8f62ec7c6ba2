//! Activation ids the store can find without an index of its own (issue 15).
//!
//! An activation's id is a UUID v4 in look, but every one of its 122 free bits is a function of
//! the activation's sequence number (its row id) under a key kept in the state:
//!
//! - the first 60 bits (`xxxxxxxx-xxxx-4xxx`) are a keyed hash of the sequence number;
//! - the last 62 are the sequence number masked with a keyed hash of the first 60.
//!
//! So an id decodes to its row, and a run's record is appended to the activations table in
//! sequence order: the random id's own index, whose inserts landed on a random page each
//! (33 µs a row against 8.5 µs in order, measured on a replica of 50 000 rows), is gone. Ids
//! still read as random, and their prefixes still tell activations apart.
//!
//! Sequence numbers are handed out in blocks reserved in the state, so two processes on one
//! state (a CLI command beside a running server) never hand out the same one. Ids recorded
//! before this scheme (and any id that does not decode, such as a test's) are found through
//! `legacy_activation_ids`.
//!
//! Written by hand: this is two keyed hashes (SipHash from `siphasher`, whose output is fixed
//! across releases, unlike std's) and some bit placement; no crate lays out a keyed
//! format-preserving id as a UUID.

use std::hash::Hasher;
use std::sync::Mutex;

use rusqlite::Connection;
use siphasher::sip::SipHasher13;

use super::lock;

/// Sequence numbers a reservation takes from the state. Whatever a process leaves unused is
/// skipped, so a block is small enough that 2^62 lasts, and large enough that reserving is rare.
pub(super) const BLOCK: i64 = 4096;
/// Sequence numbers fit in the id's last 62 bits.
const SEQ_MASK: u64 = (1 << 62) - 1;

/// Encodes and decodes ids under one state's key.
pub(super) struct Codec {
    /// SipHash keys: `[0..2]` for the first 60 bits, `[2..4]` for the mask of the last 62.
    keys: [u64; 4],
}

impl Codec {
    pub(super) fn new(key: &[u8]) -> Codec {
        let mut keys = [0u64; 4];
        for (k, chunk) in keys.iter_mut().zip(key.chunks(8)) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            *k = u64::from_le_bytes(b);
        }
        Codec { keys }
    }

    fn hash(&self, which: usize, value: u64) -> u64 {
        let mut h = SipHasher13::new_with_keys(self.keys[which], self.keys[which + 1]);
        // Bytes, not `write_u64`: its output follows the host's byte order.
        h.write(&value.to_le_bytes());
        h.finish()
    }

    /// The id of sequence number `seq` (`1 ..= 2^62 - 1`).
    pub(super) fn encode(&self, seq: i64) -> String {
        let seq = seq as u64 & SEQ_MASK;
        let head = self.hash(0, seq) >> 4;
        let tail = seq ^ (self.hash(2, head) & SEQ_MASK);
        // Version nibble 4 after the first 48 bits; variant bits 10 at the start of the second
        // half, as `Uuid::new_v4` sets them.
        let hi = ((head >> 12) << 16) | 0x4000 | (head & 0xfff);
        let lo = (0b10 << 62) | tail;
        uuid::Uuid::from_u64_pair(hi, lo).to_string()
    }

    /// The sequence number `id` encodes, if it is an id of this state's (in the exact text
    /// [`Codec::encode`] writes).
    pub(super) fn decode(&self, id: &str) -> Option<i64> {
        if id.len() != 36 {
            return None;
        }
        let (hi, lo) = uuid::Uuid::try_parse(id).ok()?.as_u64_pair();
        let head = ((hi >> 16) << 12) | (hi & 0xfff);
        let seq = (lo & SEQ_MASK) ^ (self.hash(2, head) & SEQ_MASK);
        let seq = i64::try_from(seq).ok().filter(|s| *s > 0)?;
        (self.encode(seq) == id).then_some(seq)
    }
}

/// The block in use and the one reserved next.
#[derive(Default)]
struct Blocks {
    /// `next..end` are this process's to hand out.
    next: i64,
    end: i64,
    spare: Option<(i64, i64)>,
    /// A reservation of the spare block is under way.
    asked: bool,
}

/// What [`ActivationIds::take`] found.
enum Taken {
    /// A sequence number; `refill` when the spare block should be reserved now.
    Seq { seq: i64, refill: bool },
    /// Both blocks are used up: reserve one and try again.
    Exhausted,
}

/// The state's codec and this process's blocks of sequence numbers.
pub(super) struct ActivationIds {
    pub(super) codec: Codec,
    blocks: Mutex<Blocks>,
}

impl ActivationIds {
    /// Reads the state's key and reserves this process's first block, past every number the
    /// table holds and `journaled` (the highest number in the run journal).
    pub(super) fn open(conn: &Connection, journaled: i64) -> rusqlite::Result<ActivationIds> {
        conn.execute(
            "UPDATE activation_ids SET next_seq = MAX(next_seq, ?1 + 1,
                (SELECT COALESCE(MAX(seq), 0) + 1 FROM activations))",
            [journaled],
        )?;
        let key: Vec<u8> = conn.query_row("SELECT key FROM activation_ids", [], |r| r.get(0))?;
        let ids = ActivationIds {
            codec: Codec::new(&key),
            blocks: Mutex::default(),
        };
        ids.add(reserve(conn)?);
        Ok(ids)
    }

    /// The next sequence number of this process: `reserve_spare` is called halfway through a
    /// block, `reserve_now` when both blocks are used up (its block is then taken from).
    pub(super) fn next<E>(
        &self,
        reserve_now: impl Fn() -> Result<(i64, i64), E>,
        reserve_spare: impl FnOnce() -> Result<(), E>,
    ) -> Result<i64, E> {
        loop {
            match self.take() {
                Taken::Seq { seq, refill } => {
                    if refill {
                        reserve_spare()?;
                    }
                    return Ok(seq);
                }
                Taken::Exhausted => self.add(reserve_now()?),
            }
        }
    }

    /// The next sequence number at start-up, reserving on `conn` itself.
    pub(super) fn take_at_start(&self, conn: &Connection) -> rusqlite::Result<i64> {
        self.next(|| reserve(conn), || reserve(conn).map(|b| self.add(b)))
    }

    fn take(&self) -> Taken {
        let mut b = lock(&self.blocks);
        if b.next >= b.end {
            match b.spare.take() {
                Some((next, end)) => (b.next, b.end) = (next, end),
                None => return Taken::Exhausted,
            }
        }
        let seq = b.next;
        b.next += 1;
        // Halfway through a block, the next one is reserved (off the run's path).
        let refill = b.spare.is_none() && !b.asked && b.end - b.next <= BLOCK / 2;
        b.asked |= refill;
        Taken::Seq { seq, refill }
    }

    /// Hands a reserved block (`next..end`) to this process.
    pub(super) fn add(&self, (next, end): (i64, i64)) {
        let mut b = lock(&self.blocks);
        b.asked = false;
        if b.next >= b.end {
            (b.next, b.end) = (next, end);
        } else {
            b.spare = Some((next, end));
        }
    }

    /// A reservation failed: a later take asks again.
    pub(super) fn refill_failed(&self) {
        lock(&self.blocks).asked = false;
    }
}

/// Reserves the state's next block of sequence numbers (committed with the caller's
/// transaction: hand it out only once that has committed).
pub(super) fn reserve(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    let end: i64 = conn.query_row(
        "UPDATE activation_ids SET next_seq = next_seq + ?1 RETURNING next_seq",
        [BLOCK],
        |r| r.get(0),
    )?;
    Ok((end - BLOCK, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> Codec {
        Codec::new(&[7u8; 32])
    }

    #[test]
    fn ids_decode_to_their_sequence_number_and_look_like_uuid_v4() {
        let c = codec();
        for seq in [1, 2, 3, 4095, 4096, 1 << 40, (1 << 62) - 1] {
            let id = c.encode(seq);
            let parsed = uuid::Uuid::parse_str(&id).unwrap();
            assert_eq!(parsed.get_version_num(), 4, "{id}");
            assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122, "{id}");
            assert_eq!(id, id.to_lowercase());
            assert_eq!(c.decode(&id), Some(seq), "{id}");
        }
    }

    #[test]
    fn neighbouring_ids_share_no_prefix_and_other_text_does_not_decode() {
        let c = codec();
        let ids: Vec<String> = (1..=1000).map(|s| c.encode(s)).collect();
        let mut heads: Vec<&str> = ids.iter().map(|i| &i[..6]).collect();
        heads.sort_unstable();
        heads.dedup();
        // 1000 random 24-bit prefixes collide about 0.03 times.
        assert!(heads.len() >= 998, "{} distinct of 1000", heads.len());
        for other in [
            uuid::Uuid::new_v4().to_string(),
            ids[0].to_uppercase(),
            format!("{{{}}}", ids[0]),
            ids[0].replace('-', ""),
            "first".to_string(),
            String::new(),
        ] {
            assert_eq!(c.decode(&other), None, "{other}");
        }
        // Another state's key reads none of these ids.
        let other = Codec::new(&[8u8; 32]);
        assert!(ids.iter().all(|i| other.decode(i).is_none()));
    }

    #[test]
    fn blocks_hand_out_each_number_once_and_ask_for_the_next_halfway() {
        let ids = ActivationIds {
            codec: codec(),
            blocks: Mutex::default(),
        };
        ids.add((1, 1 + BLOCK));
        let (mut refills, mut seen) = (0, Vec::new());
        while seen.len() < 3 * BLOCK as usize {
            match ids.take() {
                Taken::Seq { seq, refill } => {
                    seen.push(seq);
                    if refill {
                        refills += 1;
                        ids.add((refills * 10_000, refills * 10_000 + BLOCK));
                    }
                }
                Taken::Exhausted => panic!("a spare block was added halfway"),
            }
        }
        assert_eq!(refills, 3);
        let expected: Vec<i64> = (1..1 + BLOCK)
            .chain(10_000..10_000 + BLOCK)
            .chain(20_000..20_000 + BLOCK)
            .collect();
        assert_eq!(seen, expected);
        // Without a spare, the end of a block says so.
        let empty = ActivationIds {
            codec: codec(),
            blocks: Mutex::default(),
        };
        assert!(matches!(empty.take(), Taken::Exhausted));
    }
}
