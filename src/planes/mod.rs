//! The control planes (PLATFORM.md §7): each a small service of its own with its own error
//! envelope, sharing the emulator's store and clock, mounted under its prefix on the main port
//! (`/identity`, `/cortex-api`, `/fold`) and, when `[planes.*] port` is set, at the root of a port of its own.
//!
//! Top layer, beside `faces`: planes speak HTTP and call the domain and the store.

pub(crate) mod cortex_api;
pub(crate) mod fold;
pub(crate) mod identity;
