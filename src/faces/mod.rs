//! The faces: everything that speaks HTTP. Each turns requests into domain calls and domain
//! answers into the platform's bytes; none holds a rule of its own.

pub mod admin;
pub(crate) mod connections;
pub mod faults;
pub mod gateway;
pub mod marketplace;
pub mod mcp;
pub mod reply;
pub mod ui;
