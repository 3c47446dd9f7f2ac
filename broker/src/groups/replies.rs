//! Replies that wait for the log.
//!
//! A coordinator operation runs its state machine on a copy of the group,
//! appends the records the copy produced, and only then installs the copy
//! (see `persist.rs`). Answers the state machine gives meanwhile (the end of
//! a join phase wakes every joiner, a fenced static member's calls fail)
//! must not reach a client before that append succeeded, so they are queued
//! here and sent by [`Replies::deliver`] once the change is in the log; a
//! failed append drops the copy and its queue, and nobody heard of it.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::oneshot;

/// One caller waiting for an answer. A copied group shares its waiters with
/// the original, so whichever of them is installed can answer; each waiter
/// answers at most once.
pub(crate) struct Waiter<T>(Arc<Mutex<Option<oneshot::Sender<T>>>>);

impl<T> Waiter<T> {
    pub(crate) fn new() -> (Self, oneshot::Receiver<T>) {
        let (tx, rx) = oneshot::channel();
        (Waiter(Arc::new(Mutex::new(Some(tx)))), rx)
    }

    /// Answers now (a no-op if already answered or the caller is gone).
    pub(crate) fn send(&self, value: T) {
        if let Some(tx) = self.0.lock().take() {
            let _ = tx.send(value);
        }
    }
}

impl<T> Clone for Waiter<T> {
    fn clone(&self) -> Self {
        Waiter(Arc::clone(&self.0))
    }
}

impl<T> std::fmt::Debug for Waiter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Waiter")
    }
}

type Reply = Box<dyn FnOnce() + Send>;

/// Answers queued by one change, sent once it is in the log.
#[derive(Default)]
pub(crate) struct Replies(Vec<Reply>);

impl Replies {
    pub(crate) fn push<T: Send + 'static>(&mut self, waiter: Waiter<T>, value: T) {
        self.0.push(Box::new(move || waiter.send(value)));
    }

    /// Sends every queued answer, in the order queued.
    pub(crate) fn deliver(&mut self) {
        for reply in self.0.drain(..) {
            reply();
        }
    }
}

/// A copy starts with no replies: they belong to the change that queued them.
impl Clone for Replies {
    fn clone(&self) -> Self {
        Replies::default()
    }
}

impl std::fmt::Debug for Replies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Replies({})", self.0.len())
    }
}
