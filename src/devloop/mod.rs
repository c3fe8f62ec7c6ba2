//! The dev loop: test cases, publishing versions, and the CLI commands built on them.

pub mod admin_cli;
pub mod cases;
pub mod commands;
pub mod junit;
pub mod publish;
pub mod scaffold;
