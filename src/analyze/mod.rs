//! Statistics over un-blinded ratings: agreement, intervals, resampling, tests, decompositions.
//!
//! Everything here is pure numerics: data in, numbers out, randomness only from seeds passed in.
//! Each statistic is checked against published worked examples (tests/golden/stats and the
//! sources cited beside each test). Undefined values are `None` (null in JSON), never NaN or a
//! made-up 1.

pub mod agreement;
pub mod anova;
mod blinding;
pub mod clm;
pub mod clustered;
#[cfg(test)]
mod coverage;
mod drift;
mod efficacy;
pub mod gtheory;
pub mod hypothesis;
pub mod interaction;
#[cfg(test)]
mod interaction_sim;
pub mod intervals;
pub mod pooling;
pub mod probe;
mod reliability;
pub mod resample;
pub mod results;
mod spec_curve;
pub mod study;

pub use blinding::binomial_upper_tail;
