//! Group commit without a thread wake-up per run (issue 15). Every write is a [`Command`] in one
//! queue; whoever holds the connection commits everything queued in one transaction (a
//! savepoint per command) and answers each command after the commit. A run's record leads the
//! commit itself, on its own task, when nobody else is committing: the common case costs no
//! hand-off to another thread and back (a wake-up each way was most of what recording cost).
//! Other writes (admin routes, planes, start-up) signal the writer thread, which leads for
//! them, so a long statement never runs on a request's task.
//!
//! The invariant that makes this safe: a command is pushed before its sender tries the lock,
//! and a leader checks the queue again after it lets the connection go. So every command is
//! either taken by a leader holding the lock or seen by the one that just released it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use rusqlite::Connection;

use super::{out_of_space, AnyBox, Command, StoreError};

/// Largest batch one transaction carries.
const MAX_BATCH: usize = 512;

pub(super) struct Committer {
    queue: Mutex<Vec<Command>>,
    /// `None` once the store is closed.
    conn: Mutex<Option<Connection>>,
    /// Wakes the writer thread; `None` once the store is closing.
    wake: Mutex<Option<mpsc::Sender<()>>>,
    unwritable: Arc<AtomicBool>,
}

impl Committer {
    /// The committer and the writer thread's loop (run it on a thread of its own).
    pub(super) fn new(
        conn: Connection,
        unwritable: Arc<AtomicBool>,
    ) -> (Arc<Self>, impl FnOnce() + Send + 'static) {
        let (tx, rx) = mpsc::channel::<()>();
        let committer = Arc::new(Committer {
            queue: Mutex::new(Vec::new()),
            conn: Mutex::new(Some(conn)),
            wake: Mutex::new(Some(tx)),
            unwritable,
        });
        let writer = committer.clone();
        let run = move || {
            while rx.recv().is_ok() {
                writer.lead(false);
            }
            // Closing: commit what is queued, then answer anything later with `Closed`.
            writer.lead(false);
            writer.conn.lock().unwrap().take();
            writer.lead(false);
        };
        (committer, run)
    }

    /// Runs `f` on the connection now (start-up, before any command is queued).
    pub(super) fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let conn = self.conn.lock().unwrap();
        f(conn.as_ref().expect("the store is open"))
    }

    /// Queues `cmd`. `Err` when the store is closed (the command is answered with that too).
    pub(super) fn push(&self, cmd: Command) -> Result<(), StoreError> {
        if self.wake.lock().unwrap().is_none() {
            return Err(StoreError::Closed);
        }
        self.queue.lock().unwrap().push(cmd);
        Ok(())
    }

    /// Asks the writer thread to lead (for commands that should not run on the caller's task).
    pub(super) fn signal(&self) {
        if let Some(w) = self.wake.lock().unwrap().as_ref() {
            let _ = w.send(());
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
                let Ok(mut conn) = self.conn.try_lock() else {
                    return;
                };
                loop {
                    let batch: Vec<Command> = {
                        let mut q = self.queue.lock().unwrap();
                        let n = if inline {
                            q.iter().take(MAX_BATCH).take_while(|c| c.inline).count()
                        } else {
                            q.len().min(MAX_BATCH)
                        };
                        q.drain(..n).collect()
                    };
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
            match self.queue.lock().unwrap().first() {
                None => return,
                Some(next) if inline && !next.inline => {
                    self.signal();
                    return;
                }
                Some(_) => {}
            }
        }
    }
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
