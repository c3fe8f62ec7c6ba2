//! cortex-emu: a local emulator of the CortexOne / Rival tool platform.
//!
//! See `docs/ARCHITECTURE.md` for the map of modules and how a request flows through them.
//! Layers, from the top: the command line (`cli`) and the faces (`server`, `faces`), the domain
//! (`domain`, with the application state in `domain::app`), the engines (`executor`, `runtime`, `registry`, `store`) and the leaves
//! (`config`, `catalogue`, `clock`, `jsonfmt`, `money`, `protocol`). A module imports only from its own layer
//! or below; `tests/it/layers.rs` checks it.
//!
//! The library API is [`Emulator`], for running the emulator inside another crate's tests.

pub mod catalogue;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
mod emulator;
pub mod executor;
pub mod faces;
pub mod jsonfmt;
pub mod money;
pub mod protocol;
pub mod registry;
pub mod runtime;
pub mod server;
pub mod store;

pub use emulator::{run_worker_if_requested, Emulator, EmulatorBuilder};
