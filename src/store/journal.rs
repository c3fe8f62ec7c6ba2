//! The run journal (issue 15): a finished run is acknowledged once its record is appended to a
//! file beside the database, with one `write` and no SQLite transaction on the request's path.
//! The writer thread folds the journal into SQLite in large batches, within 50 ms,
//! and always before it runs any other command: every read through the store (the admin API,
//! exports, the dashboard) sees every acknowledged run.
//!
//! Why a file of our own rather than SQLite's WAL: a SQLite commit of one run writes every page
//! the run touched (activations and three indexes, the ledger and its index, the key) to the WAL,
//! ~90 µs per run on this machine and most of what recording cost; a batch of a hundred runs
//! touches about the same pages once. The guarantee is the same as SQLite's with
//! `synchronous = NORMAL`: what was acknowledged survives `kill -9` (the write is in the page
//! cache when the reply leaves) and is folded in at the next start.
//!
//! Two files take turns: appends go to the active one while the writer folds the other, which
//! is emptied only after its runs are committed. A crash between the commit and the emptying
//! folds the same runs again at the next start, which is harmless: a run whose activation id is
//! already recorded is skipped, with its debit and key use.

use std::fs::File;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{lock, Activation};

/// How long the writer lets runs gather before it folds them in (nothing waits for it: readers
/// make it fold at once). Once the id index was gone, a fold's own commit was a third of the
/// writer's time; 50 ms against 10 ms measured +0-11 % (median +8 %) of Lua hello throughput
/// with recording on, in paired runs.
pub(super) const WINDOW: Duration = Duration::from_millis(50);
/// Runs pending at which the writer folds them in without waiting for the window.
pub(super) const EAGER_AT: usize = 512;

/// One journal line: a finished run as `record_run` was given it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct JournaledRun {
    pub seq: i64,
    /// The activation's id encodes `seq` ([`super::activation_ids`]). Lines written before
    /// there were such ids read as `false`.
    #[serde(default)]
    pub coded: bool,
    pub activation: Activation,
    pub key_id: Option<String>,
}

struct Files {
    /// `[0]` and `[1]`; `None` for an in-memory state (the journal is then a queue only).
    files: Option<[File; 2]>,
    /// Which file appends go to.
    active: usize,
    /// Bytes in each file (a failed append is cut back to its file's length).
    lens: [u64; 2],
    /// Appended to the active file and not yet handed to the writer.
    pending: Vec<JournaledRun>,
    /// Handed to the writer and not yet committed (kept for a retry when folding failed).
    sealed: Vec<JournaledRun>,
    /// Off: runs are committed one by one on their own path (another process owns the journal,
    /// or `[state] max_size_mb` needs each write to meet the database's cap).
    enabled: bool,
    /// The store has closed: a run is refused rather than journaled where no fold will come.
    closed: bool,
    /// The last fold failed (its warning is printed once, not at every attempt).
    failing: bool,
}

pub(super) struct Journal {
    state: Mutex<Files>,
    /// Where runs SQLite refuses are set aside (`None` in memory).
    rejected: Option<PathBuf>,
}

/// The journal files of the database at `db`.
fn paths(db: &Path) -> [PathBuf; 2] {
    [0, 1].map(|i| PathBuf::from(format!("{}-runs.{i}", db.display())))
}

/// What an append did.
pub(super) enum Appended {
    /// Journaled; `first` when no run was pending before it (the writer needs a wake-up).
    Yes { first: bool, eager: bool },
    /// The journal is off: the caller commits the run itself.
    Off(Box<JournaledRun>),
    /// The store has closed.
    Closed,
}

impl Journal {
    /// Opens the journal of the database at `db` (`None`: in memory) and returns the runs an
    /// earlier process acknowledged but did not fold in, oldest first. `Ok` with the journal off
    /// when another process holds it.
    pub(super) fn open(db: Option<&Path>) -> std::io::Result<(Journal, Vec<JournaledRun>)> {
        let Some(db) = db else {
            return Ok((Journal::with(None, true, None), Vec::new()));
        };
        let rejected = PathBuf::from(format!("{}-runs.rejected", db.display()));
        let [p0, p1] = paths(db);
        let (f0, f1) = (private_append(&p0)?, private_append(&p1)?);
        // One process owns a state's journal; a second one (a CLI command beside a running
        // server) commits its runs directly.
        if f0.try_lock().is_err() {
            return Ok((Journal::with(None, false, None), Vec::new()));
        }
        let mut runs = Vec::new();
        for (f, p) in [(&f0, &p0), (&f1, &p1)] {
            runs.extend(read_runs(f, p)?);
        }
        runs.sort_by_key(|r| r.seq);
        Ok((Journal::with(Some([f0, f1]), true, Some(rejected)), runs))
    }

    fn with(files: Option<[File; 2]>, enabled: bool, rejected: Option<PathBuf>) -> Journal {
        Journal {
            rejected,
            state: Mutex::new(Files {
                files,
                active: 0,
                lens: [0, 0],
                pending: Vec::new(),
                sealed: Vec::new(),
                enabled,
                closed: false,
                failing: false,
            }),
        }
    }

    /// Empties both files (after the runs [`Journal::open`] returned were committed).
    pub(super) fn clear(&self) -> std::io::Result<()> {
        let mut s = lock(&self.state);
        if let Some(files) = &s.files {
            for f in files {
                f.set_len(0)?;
            }
        }
        s.lens = [0, 0];
        Ok(())
    }

    /// Appends `run` (one `write` of one line) unless the journal is off.
    pub(super) fn append(&self, run: JournaledRun) -> std::io::Result<Appended> {
        // Written before the lock is taken: appends from every request's task meet at it.
        let mut line = Vec::with_capacity(1024);
        serde_json::to_writer(&mut line, &run).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut guard = lock(&self.state);
        let s = &mut *guard;
        if s.closed {
            return Ok(Appended::Closed);
        }
        if !s.enabled {
            return Ok(Appended::Off(Box::new(run)));
        }
        let active = s.active;
        let len = s.lens[active];
        if let Some(files) = &mut s.files {
            if let Err(e) = files[active].write_all(&line) {
                // Half a line would spoil the next one: the file goes back to where it was.
                let _ = files[active].set_len(len);
                return Err(e);
            }
            s.lens[active] = len + line.len() as u64;
        }
        s.pending.push(run);
        Ok(Appended::Yes {
            first: s.pending.len() == 1,
            eager: s.pending.len() == EAGER_AT,
        })
    }

    /// Turns the journal off from now on; runs already in it are still folded in.
    pub(super) fn disable(&self) {
        lock(&self.state).enabled = false;
    }

    /// The runs to fold in now: those a failed fold left, else everything pending (whose file
    /// stops taking appends until [`Journal::committed`] empties it).
    pub(super) fn take(&self) -> Vec<JournaledRun> {
        let mut s = lock(&self.state);
        if !s.sealed.is_empty() {
            return std::mem::take(&mut s.sealed);
        }
        if s.pending.is_empty() {
            return Vec::new();
        }
        s.active = 1 - s.active;
        std::mem::take(&mut s.pending)
    }

    /// The runs [`Journal::take`] gave are in SQLite: their file is emptied.
    ///
    /// The file is cut outside the lock: ext4 takes 30-300 µs to truncate a file it has not yet
    /// allocated blocks for, and appends (to the other file) need the lock meanwhile. Only the
    /// writer, which calls this, turns the files over, so the sealed one stays sealed.
    pub(super) fn committed(&self) -> std::io::Result<()> {
        let (sealed, sealed_file) = {
            let mut s = lock(&self.state);
            s.failing = false;
            let sealed = 1 - s.active;
            let file = s
                .files
                .as_ref()
                .map(|f| f[sealed].try_clone())
                .transpose()?;
            (sealed, file)
        };
        if let Some(f) = sealed_file {
            f.set_len(0)?;
        }
        // Only once the file is empty: a failed append cuts its file back to this length.
        lock(&self.state).lens[sealed] = 0;
        Ok(())
    }

    /// Folding `runs` failed: they are kept for the next attempt (the warning says so once).
    pub(super) fn failed_to_fold(&self, runs: Vec<JournaledRun>, e: &rusqlite::Error) {
        let mut s = lock(&self.state);
        if !s.failing {
            eprintln!(
                "warning: {} finished runs could not be written to the database yet ({e}); they are kept in the run journal and retried",
                runs.len()
            );
        }
        s.failing = true;
        s.sealed = runs;
    }

    /// From now on runs are refused (the store is closing; the writer folds what came before).
    pub(super) fn close(&self) {
        lock(&self.state).closed = true;
    }

    /// Sets aside a run SQLite refuses (it is not retried): its line goes to the rejected file.
    pub(super) fn reject(&self, run: &JournaledRun, e: &rusqlite::Error) {
        let kept = self.rejected.as_ref().and_then(|path| {
            let mut line = serde_json::to_vec(run).ok()?;
            line.push(b'\n');
            private_append(path)
                .and_then(|mut f| f.write_all(&line))
                .ok()
                .map(|()| path)
        });
        match kept {
            Some(path) => eprintln!(
                "warning: the activation {} could not be recorded ({e}); its record is kept in {}",
                run.activation.id,
                path.display()
            ),
            None => eprintln!(
                "warning: the activation {} could not be recorded ({e})",
                run.activation.id
            ),
        }
    }

    /// Whether runs wait to be folded in.
    pub(super) fn has_runs(&self) -> bool {
        let s = lock(&self.state);
        !s.pending.is_empty() || !s.sealed.is_empty()
    }
}

/// The runs in one journal file. A last line cut short (a write the machine lost power in the
/// middle of; it was never acknowledged) is left out; a damaged line elsewhere is reported and
/// skipped.
fn read_runs(file: &File, path: &Path) -> std::io::Result<Vec<JournaledRun>> {
    let mut runs = Vec::new();
    let reader = std::io::BufReader::new(file);
    for (n, line) in reader.split(b'\n').enumerate() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<JournaledRun>(&line) {
            Ok(r) => runs.push(r),
            Err(e) => eprintln!(
                "warning: {}:{}: a damaged run record was skipped ({e})",
                path.display(),
                n + 1
            ),
        }
    }
    Ok(runs)
}

/// `path` opened for reading and appending, created readable by its owner only (it holds events
/// and logs, as the state does).
fn private_append(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .mode(0o600)
        .open(path)
}
