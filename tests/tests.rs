//! Integration tests: each drives the real `blindfold` binary in its own temporary folder.

mod util;

mod study;
