//! The Cortex API plane's text engine: turning uploaded documents into text (`extract`), text
//! into chunks with stable positions (`chunk`), chunks into vectors (`embed`), recalled chunks
//! into an answer (`answer`), and raw-embedding search filters into predicates (`filter`).
//!
//! Everything here is pure (no I/O, no store, no clock) and depends on nothing else in the crate,
//! so the plane's handlers stay thin and these rules can be tested on their own. The embedding and
//! the answer are deliberately local and deterministic instead of calling a model: the emulator
//! must run offline and give the same results on every machine.

pub(crate) mod answer;
pub(crate) mod chunk;
pub(crate) mod embed;
pub(crate) mod extract;
pub(crate) mod filter;
