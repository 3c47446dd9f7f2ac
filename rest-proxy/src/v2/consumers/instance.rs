//! One consumer instance: what it reads (a subscription, served by its
//! group membership, or a manual assignment), where it stands in each
//! partition, and what it has committed.
//!
//! Locking: `state` (a tokio mutex) serializes the instance's operations as
//! Confluent's `synchronized` consumer state does; a records request holds
//! it while it waits for data (at most its timeout), and the membership
//! task takes it only briefly, to install an assignment or to commit and
//! revoke one. Group requests that block (JoinGroup, SyncGroup) are sent
//! without it.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::sync::{watch, Notify};

use super::config::InstanceConfig;
use super::kafka::{self, Committer, Tp};
use crate::backend::Caller;
use crate::error::RestError;
use crate::RestProxy;

/// What the instance reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Neither subscribed nor assigned.
    Idle,
    /// Subscribed to these topics.
    Topics(BTreeSet<String>),
    /// Subscribed to every topic this regular expression matches whole.
    Pattern(String),
    /// Manually assigned partitions, outside any group membership.
    Assigned(BTreeSet<Tp>),
}

/// The instance's place in its group, as the membership task last saw it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Member {
    /// Empty until the coordinator hands one out.
    pub(crate) member_id: String,
    pub(crate) generation: i32,
    /// The topics the current subscription resolved to when last joined.
    pub(crate) joined_topics: BTreeSet<String>,
    /// The partitions of the current generation; `None` while (re)joining.
    pub(crate) assignment: Option<BTreeSet<Tp>>,
}

/// Everything an operation on the instance reads or changes.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) mode: Mode,
    /// Bumped by every subscribe and unsubscribe, so the membership task
    /// knows its join is stale.
    pub(crate) mode_epoch: u64,
    pub(crate) member: Member,
    /// The next offset to read of each partition with a known position.
    pub(crate) positions: HashMap<Tp, i64>,
    /// What auto-commit last committed, to skip unchanged partitions.
    pub(crate) auto_committed: HashMap<Tp, i64>,
    /// Which assigned partition the next Fetch starts with.
    pub(crate) fetch_turn: usize,
}

impl State {
    /// The partitions the instance reads now.
    pub(crate) fn assigned(&self) -> BTreeSet<Tp> {
        match &self.mode {
            Mode::Assigned(partitions) => partitions.clone(),
            Mode::Topics(_) | Mode::Pattern(_) => {
                self.member.assignment.clone().unwrap_or_default()
            }
            Mode::Idle => BTreeSet::new(),
        }
    }

    /// Who commits for the instance now: its group membership while it
    /// holds an assignment from the group.
    pub(crate) fn committer(&self) -> Committer {
        match &self.member.assignment {
            Some(_) if !self.member.member_id.is_empty() => Committer {
                generation: self.member.generation,
                member_id: self.member.member_id.clone(),
            },
            _ => Committer {
                generation: -1,
                member_id: String::new(),
            },
        }
    }

    /// Fails with 40903 (Kafka's `IllegalStateException`) unless every one
    /// of `partitions` is assigned.
    pub(crate) fn check_assigned<'a>(
        &self,
        partitions: impl IntoIterator<Item = &'a Tp>,
    ) -> Result<(), RestError> {
        let assigned = self.assigned();
        for tp in partitions {
            if !assigned.contains(tp) {
                return Err(RestError::illegal_state(format!(
                    "No current assignment for partition {}-{}",
                    tp.0, tp.1
                )));
            }
        }
        Ok(())
    }
}

/// A live consumer instance.
pub(crate) struct Instance {
    pub(crate) group: String,
    pub(crate) config: InstanceConfig,
    /// The creator's identity, under which every request of the instance
    /// runs (its client id is the instance name).
    pub(crate) caller: Caller,
    pub(crate) state: tokio::sync::Mutex<State>,
    /// Wakes the membership task: the subscription changed or the instance
    /// is closing.
    pub(crate) wake: Notify,
    /// Bumped when the assignment changes; waiting readers watch it.
    pub(crate) assignment_changed: watch::Sender<u64>,
    closed: AtomicBool,
    last_used: parking_lot::Mutex<Instant>,
    task: parking_lot::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Instance {
    pub(crate) fn new(group: String, config: InstanceConfig, mut caller: Caller) -> Instance {
        caller.client_id = config.name.clone();
        Instance {
            group,
            config,
            caller,
            state: tokio::sync::Mutex::new(State {
                mode: Mode::Idle,
                mode_epoch: 0,
                member: Member::default(),
                positions: HashMap::new(),
                auto_committed: HashMap::new(),
                fetch_turn: 0,
            }),
            wake: Notify::new(),
            assignment_changed: watch::Sender::new(0),
            closed: AtomicBool::new(false),
            last_used: parking_lot::Mutex::new(Instant::now()),
            task: parking_lot::Mutex::new(None),
        }
    }

    pub(crate) fn set_task(&self, task: tokio::task::JoinHandle<()>) {
        *self.task.lock() = Some(task);
    }

    /// Marks the instance used now (it expires that long after its last use).
    pub(crate) fn touch(&self) {
        *self.last_used.lock() = Instant::now();
    }

    pub(crate) fn idle_since(&self) -> Instant {
        *self.last_used.lock()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn bump_assignment(&self) {
        self.assignment_changed.send_modify(|n| *n += 1);
    }

    /// Commits the position of every assigned partition that has one (the
    /// records read so far), as `commitSync()` does; returns what it
    /// committed.
    pub(crate) async fn commit_consumed(
        &self,
        proxy: &RestProxy,
        state: &mut State,
        only_changed: bool,
    ) -> Result<Vec<(Tp, i64)>, RestError> {
        let assigned = state.assigned();
        self.commit_positions(proxy, state, &assigned, only_changed)
            .await
    }

    /// Commits the positions of `partitions` (those that have one).
    async fn commit_positions(
        &self,
        proxy: &RestProxy,
        state: &mut State,
        partitions: &BTreeSet<Tp>,
        only_changed: bool,
    ) -> Result<Vec<(Tp, i64)>, RestError> {
        let offsets: Vec<(Tp, i64, Option<String>)> = partitions
            .iter()
            .filter_map(|tp| state.positions.get(tp).map(|o| (tp.clone(), *o)))
            .filter(|(tp, o)| !only_changed || state.auto_committed.get(tp) != Some(o))
            .map(|(tp, o)| (tp, o, None))
            .collect();
        kafka::commit(
            proxy,
            &self.caller,
            &self.group,
            &state.committer(),
            &offsets,
        )
        .await?;
        let done: Vec<(Tp, i64)> = offsets.into_iter().map(|(tp, o, _)| (tp, o)).collect();
        for (tp, o) in &done {
            state.auto_committed.insert(tp.clone(), *o);
        }
        Ok(done)
    }

    /// Gives up the group's assignment before a rejoin, committing what was
    /// read first when auto-commit is on and the partitions are still ours
    /// (`lost` is false), as Kafka's consumer does on revocation.
    pub(crate) async fn revoke(&self, proxy: &RestProxy, state: &mut State, lost: bool) {
        let Some(owned) = state.member.assignment.clone() else {
            return;
        };
        if self.config.auto_commit && !lost {
            if let Err(e) = self.commit_positions(proxy, state, &owned, true).await {
                tracing::warn!(group = %self.group, instance = %self.config.name, error = %e, "commit before revocation failed");
            }
        }
        if let Some(revoked) = state.member.assignment.take() {
            for tp in &revoked {
                state.positions.remove(tp);
                state.auto_committed.remove(tp);
            }
        }
        self.bump_assignment();
    }

    /// Closes the instance: stops its membership task, commits what it
    /// read (auto-commit) and leaves its group, so the other members get
    /// its partitions at once instead of after a session timeout.
    pub(crate) async fn close(&self, proxy: &RestProxy) {
        self.closed.store(true, Ordering::Release);
        let task = self.task.lock().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        let mut state = self.state.lock().await;
        if self.config.auto_commit {
            if let Err(e) = self.commit_consumed(proxy, &mut state, true).await {
                tracing::warn!(group = %self.group, instance = %self.config.name, error = %e, "commit on close failed");
            }
        }
        let member_id = std::mem::take(&mut state.member.member_id);
        if !member_id.is_empty() {
            super::membership::leave(proxy, self, &member_id).await;
        }
        state.member = Member::default();
        state.mode = Mode::Idle;
        state.positions.clear();
        self.bump_assignment();
    }
}
