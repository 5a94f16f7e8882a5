//! Statistics over un-blinded ratings: agreement, intervals, resampling, tests, decompositions.
//!
//! Everything here is pure numerics: data in, numbers out, randomness only from seeds passed in.
//! Each statistic is checked against published worked examples (tests/golden/stats and the
//! sources cited beside each test). Undefined values are `None` (null in JSON), never NaN or a
//! made-up 1.

pub mod agreement;
pub mod anova;
pub mod hypothesis;
pub mod intervals;
pub mod probe;
pub mod resample;
pub mod results;
pub mod study;
