//! Group commit (issue 15). Every write is a [`Command`] in one queue; whoever holds the
//! connection commits everything queued in one transaction (a savepoint per command) and answers
//! each command after the commit. A small command on a run's path (a refusal's record; a run's
//! record when the run journal is off) leads the commit itself, on its own task, when nobody else
//! is committing: no hand-off to another thread and back. Other commands signal the writer
//! thread, which leads for them, so a long statement never runs on a request's task. The writer
//! also folds the run journal ([`super::journal`]) into SQLite: after its window, and before every
//! command it runs.
//!
//! The invariant that makes this safe: a command is pushed before its sender tries the lock,
//! and a leader checks the queue again after it lets the connection go. So every command is
//! either taken by a leader holding the lock or seen by the one that just released it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use rusqlite::Connection;

use super::journal::{self, Journal, JournaledRun};
use super::{lock, out_of_space, AnyBox, Command, StoreError};

/// Why the writer thread is woken.
pub(super) enum Wake {
    /// Commands are queued: lead now.
    Commands,
    /// Runs were journaled into an empty journal: fold them in when the window has passed.
    Runs,
}

/// Largest batch one transaction carries.
const MAX_BATCH: usize = 512;

/// The queue and whether the store is closed, under one lock: a command is either queued while
/// open (and committed by the final drain at the latest) or refused.
struct Queue {
    commands: Vec<Command>,
    closed: bool,
}

pub(super) struct Committer {
    queue: Mutex<Queue>,
    /// `None` once the store is closed.
    conn: Mutex<Option<Connection>>,
    /// Wakes the writer thread; `None` once the store is closing.
    wake: Mutex<Option<mpsc::Sender<Wake>>>,
    unwritable: Arc<AtomicBool>,
    /// Runs acknowledged and not yet in SQLite; the writer folds them in before any command.
    pub(super) journal: Journal,
}

impl Committer {
    /// The committer and the writer thread's loop (run it on a thread of its own).
    pub(super) fn new(
        conn: Connection,
        unwritable: Arc<AtomicBool>,
        journal: Journal,
    ) -> (Arc<Self>, impl FnOnce() + Send + 'static) {
        let (tx, rx) = mpsc::channel::<Wake>();
        let committer = Arc::new(Committer {
            queue: Mutex::new(Queue {
                commands: Vec::new(),
                closed: false,
            }),
            conn: Mutex::new(Some(conn)),
            wake: Mutex::new(Some(tx)),
            unwritable,
            journal,
        });
        let writer = committer.clone();
        let run = move || {
            // When journaled runs are due to be folded in.
            let mut due: Option<Instant> = None;
            loop {
                let wake = match due {
                    None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                    Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
                };
                match wake {
                    Ok(Wake::Runs) => {
                        due.get_or_insert_with(|| Instant::now() + journal::WINDOW);
                        continue;
                    }
                    Ok(Wake::Commands) | Err(mpsc::RecvTimeoutError::Timeout) => {
                        writer.lead(false);
                        // Runs still waiting (a request's task held the connection, or folding
                        // failed for want of space) get another attempt.
                        due = writer.journal.has_runs().then(|| {
                            let wait = if writer.unwritable.load(Ordering::SeqCst) {
                                std::time::Duration::from_secs(1)
                            } else {
                                journal::WINDOW
                            };
                            Instant::now() + wait
                        });
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            writer.drain_and_close();
        };
        (committer, run)
    }

    /// Runs `f` on the connection now (start-up, before any command is queued).
    pub(super) fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let conn = lock(&self.conn);
        f(conn.as_ref().expect("the store is open"))
    }

    /// Queues `cmd`. `Err` when the store is closed.
    pub(super) fn push(&self, cmd: Command) -> Result<(), StoreError> {
        let mut q = lock(&self.queue);
        if q.closed {
            return Err(StoreError::Closed);
        }
        q.commands.push(cmd);
        Ok(())
    }

    /// The end: waits for a leader that is committing, commits everything queued, and refuses
    /// what comes later ([`Committer::push`] sees `closed`).
    fn drain_and_close(&self) {
        let mut conn = lock(&self.conn);
        let rest = {
            let mut q = lock(&self.queue);
            q.closed = true;
            std::mem::take(&mut q.commands)
        };
        if let Some(c) = conn.as_mut() {
            // Runs journaled until the journal closes are folded in; later ones are refused.
            self.fold_journal(c);
            self.journal.close();
            self.fold_journal(c);
            for batch in rest.chunks_exact_owned(MAX_BATCH) {
                commit(c, batch, &self.unwritable);
            }
        }
        conn.take();
    }

    /// Asks the writer thread to lead (for commands that should not run on the caller's task).
    pub(super) fn signal(&self) {
        self.wake(Wake::Commands);
    }

    pub(super) fn wake(&self, why: Wake) {
        if let Some(w) = self.wake.lock().unwrap().as_ref() {
            let _ = w.send(why);
        }
    }

    /// Commits the journaled runs, batch after batch until none is left. Runs SQLite could not
    /// write (a full disk, a lock held too long) stay in the journal for the next attempt.
    fn fold_journal(&self, conn: &mut Connection) {
        loop {
            let runs = self.journal.take();
            if runs.is_empty() {
                return;
            }
            match fold_runs(conn, runs, &self.journal) {
                Ok(()) => {
                    if let Err(e) = self.journal.committed() {
                        eprintln!("warning: the run journal could not be emptied ({e}); its runs are recorded and will be skipped at the next start");
                    }
                }
                Err((kept, e)) => {
                    if out_of_space(&e) {
                        self.unwritable.store(true, Ordering::SeqCst);
                    }
                    self.journal.failed_to_fold(kept, &e);
                    return;
                }
            }
        }
    }

    /// Stops the writer thread once it has committed everything queued.
    pub(super) fn close(&self) {
        self.wake.lock().unwrap().take();
    }

    /// Commits everything queued, unless another leader holds the connection (it will). An
    /// `inline` leader (a request's task) takes only the commands marked [`Command::inline`]
    /// at the front of the queue and leaves the rest to the writer thread.
    pub(super) fn lead(&self, inline: bool) {
        loop {
            {
                let mut conn = match self.conn.try_lock() {
                    Ok(c) => c,
                    // A command that panicked must not stop every later write.
                    Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                    Err(std::sync::TryLockError::WouldBlock) => return,
                };
                loop {
                    let batch: Vec<Command> = {
                        let mut q = lock(&self.queue);
                        let n = if inline {
                            q.commands
                                .iter()
                                .take(MAX_BATCH)
                                .take_while(|c| c.inline)
                                .count()
                        } else {
                            q.commands.len().min(MAX_BATCH)
                        };
                        q.commands.drain(..n).collect()
                    };
                    // After taking the commands: every run acknowledged before one of them was
                    // queued is in the journal now, so it is in SQLite before that command runs.
                    if !inline {
                        if let Some(c) = conn.as_mut() {
                            self.fold_journal(c);
                        }
                    }
                    if batch.is_empty() {
                        break;
                    }
                    match conn.as_mut() {
                        Some(c) => commit(c, batch, &self.unwritable),
                        None => {
                            for cmd in batch {
                                (cmd.reply)(Err("the database writer has stopped".into()));
                            }
                        }
                    }
                }
            }
            // Released: a command pushed while we held the lock may have found it taken.
            let next_is_the_writers = match lock(&self.queue).commands.first() {
                None => return,
                Some(next) => inline && !next.inline,
            };
            if next_is_the_writers {
                self.signal();
                return;
            }
        }
    }
}

/// Splits a vector into owned batches of at most `n`.
trait ChunksOwned<T> {
    fn chunks_exact_owned(self, n: usize) -> Vec<Vec<T>>;
}

impl<T> ChunksOwned<T> for Vec<T> {
    fn chunks_exact_owned(mut self, n: usize) -> Vec<Vec<T>> {
        let mut out = Vec::new();
        while !self.is_empty() {
            let rest = self.split_off(self.len().min(n));
            out.push(std::mem::replace(&mut self, rest));
        }
        out
    }
}

/// Commits `runs` in one transaction; when SQLite refuses one of them (a constraint: say its
/// organization was deleted by a reset while it ran), each on its own, and the refused ones are
/// set aside in the journal's rejected file with a warning. `Err` with the runs not recorded
/// when SQLite could not write at all: they are for a later attempt.
pub(super) fn fold_runs(
    conn: &mut Connection,
    runs: Vec<JournaledRun>,
    journal: &Journal,
) -> Result<(), (Vec<JournaledRun>, rusqlite::Error)> {
    let refused = |e: &rusqlite::Error| {
        e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
    };
    match in_transaction(conn, |tx| super::record_batch(tx, &runs)) {
        Ok(()) => Ok(()),
        Err(e) if !refused(&e) => Err((runs, e)),
        Err(_) => {
            let mut rest = runs.into_iter();
            while let Some(run) = rest.next() {
                match in_transaction(conn, |tx| {
                    super::record_batch(tx, std::slice::from_ref(&run))
                }) {
                    Ok(()) => {}
                    Err(e) if refused(&e) => journal.reject(&run, &e),
                    Err(e) => {
                        let mut kept = vec![run];
                        kept.extend(rest);
                        return Err((kept, e));
                    }
                }
            }
            Ok(())
        }
    }
}

/// `f` in a transaction of its own, committed when it succeeds.
fn in_transaction(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    f(&tx)?;
    tx.commit()
}

/// One transaction for `batch`; each command is answered after the commit (or with the error
/// that undid it).
fn commit(conn: &mut Connection, batch: Vec<Command>, unwritable: &AtomicBool) {
    let flag = |e: &rusqlite::Error| {
        if out_of_space(e) {
            unwritable.store(true, Ordering::SeqCst);
        }
    };
    let mut results: Vec<Result<AnyBox, String>> = Vec::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    let outcome = (|| -> rusqlite::Result<()> {
        let tx = conn.transaction()?;
        let single = batch.len() == 1;
        for cmd in batch {
            // A savepoint per command: one failing command does not undo the others (a lone
            // command has the transaction to itself).
            if !single {
                tx.prepare_cached("SAVEPOINT cmd")?.execute([])?;
            }
            match (cmd.work)(&tx) {
                Ok(v) => {
                    if !single {
                        tx.prepare_cached("RELEASE cmd")?.execute([])?;
                    }
                    results.push(Ok(v));
                }
                Err(e) if single => {
                    flag(&e);
                    replies.push(cmd.reply);
                    results.push(Err(format!("database error: {e}")));
                    drop(tx);
                    return Ok(());
                }
                Err(e) => {
                    flag(&e);
                    tx.execute_batch("ROLLBACK TO cmd; RELEASE cmd")?;
                    results.push(Err(format!("database error: {e}")));
                }
            }
            replies.push(cmd.reply);
        }
        tx.commit()
    })();
    match outcome {
        Ok(()) => {
            for (reply, r) in replies.into_iter().zip(results) {
                reply(r);
            }
        }
        Err(e) => {
            flag(&e);
            let msg = format!("database error: {e} (the change was not saved)");
            for reply in replies {
                reply(Err(msg.clone()));
            }
        }
    }
}
