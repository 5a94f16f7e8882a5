//! Hosted rating (`blindfold collect`): a round's packets served as per-rater links, each
//! change a rater makes stored at once in SQLite, progress on a dashboard.
//!
//! Studies that recruit raters online need a link rather than a file: answers arrive as raters
//! work, nothing depends on a rater exporting, a rater can continue on another device, and the
//! researcher sees progress. The server keeps the offline form's promises: raters get the same
//! form (only where answers are kept differs), and the server reads only `packets/` — it never
//! has the key, so nothing it serves or stores can name a condition.
//!
//! `tokens`, `answers` and `pages` are pure (token text and hashing; checks of what a page
//! sends, and what the stored answers add up to; the HTML). `db` (SQLite) and `server` (HTTP)
//! are the edges.

pub mod answers;
pub mod db;
pub mod pages;
pub mod server;
pub mod tokens;

use std::collections::{BTreeMap, HashSet};

use crate::blind::packet::PacketJson;
use crate::blind::round::RoundManifest;
use crate::study::Rubric;

/// A round as the server holds it: `packets/manifest.json` and every rater's `RATER.json`.
#[derive(Debug, Clone)]
pub struct HostedRound {
    pub manifest: RoundManifest,
    /// SHA-256 of `packets/manifest.json` as written: the database records it, so answers are
    /// never mixed across rounds.
    pub manifest_sha256: String,
    pub packets: BTreeMap<String, PacketJson>,
}

impl HostedRound {
    /// Puts a round together, checking that each rater's packet is the one the manifest lists
    /// (same packet id, same items in the same order, same rubric). Returns every problem.
    pub fn new(
        manifest: RoundManifest,
        manifest_sha256: String,
        packets: BTreeMap<String, PacketJson>,
    ) -> Result<HostedRound, Vec<String>> {
        let mut problems = Vec::new();
        for (rater, entry) in &manifest.packets {
            let Some(packet) = packets.get(rater) else {
                problems.push(format!("{rater}.json is missing"));
                continue;
            };
            let items: Vec<&str> = packet.items.iter().map(|i| i.item_id.as_str()).collect();
            if packet.rater != *rater
                || packet.packet_id != entry.packet_id
                || items != entry.items.iter().map(String::as_str).collect::<Vec<_>>()
            {
                problems.push(format!(
                    "{rater}.json is not the packet manifest.json lists for rater '{rater}' \
                     (rater, packet id or items differ)"
                ));
            }
            if packet.rubric != manifest.rubric {
                problems.push(format!(
                    "{rater}.json has a different rubric from manifest.json"
                ));
            }
        }
        if problems.is_empty() {
            Ok(HostedRound {
                manifest,
                manifest_sha256,
                packets,
            })
        } else {
            Err(problems)
        }
    }

    pub fn rubric(&self) -> &Rubric {
        &self.manifest.rubric
    }

    pub fn is_rater(&self, rater: &str) -> bool {
        self.manifest.packets.contains_key(rater)
    }

    /// The rater's items in packet order (empty for a name that is not a rater of the round).
    pub fn items(&self, rater: &str) -> &[String] {
        self.manifest
            .packets
            .get(rater)
            .map_or(&[], |p| p.items.as_slice())
    }

    /// The rater's packet as the checks of `answers` need it.
    pub fn checks_for(&self, rater: &str) -> answers::Packet<'_> {
        answers::Packet {
            rubric: self.rubric(),
            items: self
                .items(rater)
                .iter()
                .map(String::as_str)
                .collect::<HashSet<_>>(),
        }
    }
}
