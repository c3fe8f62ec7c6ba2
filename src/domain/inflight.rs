//! Runs under way, so a forced shutdown can record them as interrupted. A run that finished is
//! taken out before it is recorded, so one run is never recorded twice.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::Activation;

#[derive(Default)]
pub struct InFlight {
    /// Activation id → (the activation as it would be recorded if interrupted, key id).
    runs: Mutex<HashMap<String, (Activation, String)>>,
}

/// Removes its run from [`InFlight`] when the run ends, however it ends.
pub struct InFlightGuard<'a> {
    owner: &'a InFlight,
    id: String,
}

impl InFlight {
    /// Registers a run; `interrupted` is what is recorded should the emulator stop first.
    pub fn begin(&self, interrupted: Activation, key_id: &str) -> InFlightGuard<'_> {
        let id = interrupted.id.clone();
        self.runs
            .lock()
            .unwrap()
            .insert(id.clone(), (interrupted, key_id.to_string()));
        InFlightGuard { owner: self, id }
    }

    /// How many runs are under way.
    pub fn len(&self) -> usize {
        self.runs.lock().unwrap().len()
    }

    /// Takes every run still under way (at shutdown, once no more can finish).
    pub fn drain(&self) -> Vec<(Activation, String)> {
        self.runs.lock().unwrap().drain().map(|(_, v)| v).collect()
    }
}

impl InFlightGuard<'_> {
    /// The run finished: from here on it is the run's own record that counts, so a shutdown
    /// that drains now must not record it as interrupted as well.
    pub fn finish(self) {}
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.owner.runs.lock().unwrap().remove(&self.id);
    }
}
