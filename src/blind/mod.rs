//! Blinding: turn a run's transcripts into rating packets that reveal nothing about the
//! condition, and a separate key that alone can un-blind them.
//!
//! The data flow of one turn: `normalise` (invisible characters out; the light and folded
//! views) and `visible` (what the rendered page shows, mapped to source bytes) feed `names`
//! (the lexicon's and the study's names, by one automaton; rules in `context`, data in
//! `lexicon`) and `fingerprint` (fingerprints and system-prompt quotes); `redact` splices the
//! findings out; `gate` judges the result again. `assign` decides who rates what; `packet`
//! renders the files (`parts` splits a large packet into numbered parts); `round` puts one round together, with the identifiability audit
//! (`crate::analyze::probe`). `anchors` (anchor items and a round's confounding) and
//! `adjudicate` (the items of an adjudication round and their raters) decide what a later round
//! holds. All pure.

pub mod adjudicate;
pub mod anchors;
pub mod assign;
pub mod context;
pub mod fingerprint;
pub mod gate;
pub mod lexicon;
pub mod names;
pub mod normalise;
pub mod packet;
pub mod parts;
pub mod redact;
pub mod round;
pub mod visible;
