//! The platform's rules, independent of any protocol: who may run what (admission), what a run
//! costs (billing), how a run is executed and recorded (runs), versions, publishing, test cases,
//! hot reload, fault injection, and what goes on the terminal. Faces call in; engines are called.

pub mod admission;
pub mod app;
pub mod billing;
pub mod cases;
pub mod directory;
pub mod dotenv;
pub mod events;
pub mod faults;
pub mod inflight;
pub mod packages;
pub mod publishing;
pub mod reload;
pub mod replay;
pub mod running;
pub mod runs;
pub mod settings;
pub mod snapshot;
pub mod terminal;
pub mod versions;
