//! Blinding: turn a run's transcripts into rating packets that reveal nothing about the
//! condition, and a separate key that alone can un-blind them.

pub mod assign;
pub mod packet;
