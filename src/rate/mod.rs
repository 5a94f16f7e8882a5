//! The rating side: simulated raters and, later, judges and ratings import. Nothing here reads
//! the blinding key: raters see blinded items only.

pub mod cues;
pub mod import;
pub mod judge;
pub mod parts;
pub mod simulate;
