//! The runtime file: while a server runs on a persistent state, `server.json` beside the state
//! says where it listens and which process it is, so the CLI talks to that server (whatever
//! port it chose) instead of writing the state behind its back.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::Config;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Running {
    pub url: String,
    pub pid: u32,
}

/// Removes the runtime file when the server stops.
pub struct RuntimeFile(PathBuf);

impl Drop for RuntimeFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn path(config: &Config) -> PathBuf {
    config.state.path.with_file_name("server.json")
}

/// Writes the runtime file (persistent state only: an in-memory server shares nothing).
pub fn announce(config: &Config, addr: SocketAddr) -> Option<RuntimeFile> {
    if config.state.in_memory {
        return None;
    }
    let running = Running {
        url: format!("http://{addr}"),
        pid: std::process::id(),
    };
    let file = path(config);
    std::fs::write(&file, serde_json::to_string(&running).ok()?).ok()?;
    Some(RuntimeFile(file))
}

/// The server that holds this configuration's state, if one is alive.
pub fn find(config: &Config) -> Option<Running> {
    let text = std::fs::read_to_string(path(config)).ok()?;
    let running: Running = serde_json::from_str(&text).ok()?;
    // Signal 0 only asks whether the process exists (a stale file after a crash is ignored).
    let alive = unsafe { libc::kill(running.pid as libc::pid_t, 0) } == 0;
    alive.then_some(running)
}
