//! cortex-emu: a local emulator of the CortexOne / Rival tool platform.
//!
//! See `docs/ARCHITECTURE.md` for the map of modules and how a request flows through them.

pub mod admin;
pub mod bench;
pub mod cli;
pub mod config;
pub(crate) mod connections;
pub mod devloop;
pub mod executor;
pub mod gateway;
pub mod jsonfmt;
pub mod marketplace;
pub mod mcp;
pub mod money;
pub mod registry;
pub mod responses;
pub mod runtime;
pub mod server;
pub mod store;
pub mod terminal;
