//! Integration tests: the real `cortex-emu` binary on 127.0.0.1 with an ephemeral port, driven
//! over HTTP, with real SQLite files. One test crate (modules below) so the binary links once.

mod admin;
mod catalogue;
mod common;
mod cortex_api;
mod cpython;
mod dashboard;
mod defects;
mod devloop;
mod feedback;
mod fold;
mod fold_runs;
mod frame;
mod gateway;
mod hardening;
mod identity;
mod layers;
mod limits;
mod marketplace;
mod mcp;
mod outbound;
mod persistence;
mod rmcp_client;
mod runtimes;
