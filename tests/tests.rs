//! Integration tests: each drives the real `blindfold` binary in its own temporary folder.

mod fault_server;
mod util;

mod adversarial;
mod analysis;
mod batch;
mod blind;
mod browser;
mod collect;
mod collect_browser;
mod explorer_browser;
mod parts;
mod robust;
mod rounds;
mod run;
mod sim;
mod study;
