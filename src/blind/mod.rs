//! Blinding: turn a run's transcripts into rating packets that reveal nothing about the
//! condition, and a separate key that alone can un-blind them.
//!
//! `redact` and `lexicon` strip identity from the text and scan packets for leaks; `assign`
//! decides who rates what; `packet` renders the files; `round` puts one round together. All pure.

pub mod assign;
pub mod lexicon;
pub mod packet;
pub mod redact;
pub mod round;
