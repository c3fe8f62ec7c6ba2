//! cortex-emu: a local emulator of the CortexOne / Rival tool platform.
//!
//! See `docs/ARCHITECTURE.md` for the map of modules and how a request flows through them.
//! Layers, from the top: the command line (`cli`) and the faces (`server`, `faces`, the control planes in `planes`), the domain
//! (`domain`, with the application state in `domain::app`), the engines (`executor`, `runtime`, `registry`, `store`) and the leaves
//! (`config`, `catalogue`, `clock`, `jsonfmt`, `money`, `protocol`). A module imports only from its own layer
//! or below; `tests/it/layers.rs` checks it.
//!
//! The library API is [`Emulator`], for running the emulator inside another crate's tests, plus
//! what a binary that embeds it needs ([`run_worker_if_requested`], [`CountingAlloc`]), the
//! command line (`cli::main`) and the response catalogue as data (`catalogue::rows`). Every other
//! module is `pub(crate)`.

pub mod catalogue;
pub mod cli;
pub(crate) mod clock;
pub(crate) mod config;
pub(crate) mod domain;
mod emulator;
pub(crate) mod executor;
pub(crate) mod faces;
pub(crate) mod jsonfmt;
pub(crate) mod money;
pub(crate) mod planes;
pub(crate) mod protocol;
pub(crate) mod registry;
pub(crate) mod runtime;
pub(crate) mod server;
pub(crate) mod store;

pub use emulator::{run_worker_if_requested, Emulator, EmulatorBuilder};
/// The counting global allocator worker processes need to enforce each run's memory limit (see
/// [`run_worker_if_requested`]).
pub use executor::alloc::CountingAlloc;
