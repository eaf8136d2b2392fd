//! A site tracker's page views on their way to the store: held in memory for at most a
//! second and written a batch at a time (one transaction for thousands of views), flushed
//! when the server stops; the trackers the collect endpoint checks, cached; and the
//! retention of anonymous visitors.

use leadgate_app::visits::{Arrival, Pace};
use leadgate_store::{Store, StoredTracker};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// The longest a view waits in memory before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// The most arrivals one write takes.
const BATCH: usize = 5_000;
/// Arrivals waiting at most; beyond, a post is refused (503) rather than memory growing.
const WAITING: usize = 200_000;
/// How long a cached tracker is trusted before it is read again (a change made on another
/// server reaches this one within this time).
const TRACKERS_FRESH: Duration = Duration::from_secs(30);

/// Where the collect endpoint puts what it accepted, and the trackers it checks posts
/// against. Cheap to clone.
#[derive(Clone)]
pub struct ViewQueue {
    sender: mpsc::Sender<Arrival>,
    trackers: Arc<RwLock<Trackers>>,
}

#[derive(Default)]
struct Trackers {
    by_key: HashMap<String, Arc<StoredTracker>>,
    read_at: Option<Instant>,
}

/// The task writing the queue's batches; `stop` flushes what is held and ends it.
pub struct Flusher {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Flusher {
    /// Writes what is still held, then returns.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the page view writer ended badly");
        }
    }
}

/// Why a post was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No tracker has the key.
    NoTracker,
    /// The posting site is not one of the tracker's.
    SiteNotListed,
    /// The queue is full: the store is not keeping up.
    Busy,
}

impl ViewQueue {
    /// A queue writing to `store`, and the task that writes it.
    pub fn start(store: Store) -> (ViewQueue, Flusher) {
        let (sender, receiver) = mpsc::channel(WAITING);
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(write_batches(store.clone(), receiver, stopped));
        let queue = ViewQueue {
            sender,
            trackers: Arc::new(RwLock::new(Trackers::default())),
        };
        (queue, Flusher { stop, task })
    }

    /// The tracker behind `key`, from the cache (read again when stale or missing: at most
    /// once a second for keys that name nothing).
    pub async fn tracker(
        &self,
        store: &Store,
        key: &str,
    ) -> leadgate_store::Result<Option<Arc<StoredTracker>>> {
        let (found, stale) = {
            let cache = self.trackers.read().unwrap_or_else(|p| p.into_inner());
            let age = cache.read_at.map(|at| at.elapsed());
            let found = cache.by_key.get(key).cloned();
            let stale = match (&found, age) {
                (_, None) => true,
                (Some(_), Some(age)) => age > TRACKERS_FRESH,
                (None, Some(age)) => age > Duration::from_secs(1),
            };
            (found, stale)
        };
        if !stale {
            return Ok(found);
        }
        let all = store.trackers().await?;
        let mut cache = self.trackers.write().unwrap_or_else(|p| p.into_inner());
        cache.by_key = all
            .into_iter()
            .map(|t| (t.key.clone(), Arc::new(t)))
            .collect();
        cache.read_at = Some(Instant::now());
        Ok(cache.by_key.get(key).cloned())
    }

    /// Queues a post from `origin` for tracker `key`.
    pub async fn accept(
        &self,
        store: &Store,
        origin: &str,
        collected: leadgate_core::visits::Collected,
    ) -> Result<(), QueueError> {
        let tracker = self
            .tracker(store, &collected.tracker)
            .await?
            .ok_or(QueueError::Refused(Refusal::NoTracker))?;
        if !tracker.definition.allows(origin) {
            return Err(QueueError::Refused(Refusal::SiteNotListed));
        }
        let arrival = Arrival {
            tracker_id: tracker.id,
            visitor: collected.visitor,
            email: collected.email,
            views: collected.views,
        };
        self.sender
            .try_send(arrival)
            .map_err(|_| QueueError::Refused(Refusal::Busy))
    }

    /// Forgets the cached trackers (after a change on this server).
    pub fn forget_trackers(&self) {
        let mut cache = self.trackers.write().unwrap_or_else(|p| p.into_inner());
        cache.read_at = None;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] leadgate_store::StoreError),
}

/// Runs until stopped: takes what arrived, at most a second's worth or a batch, and writes
/// it. On stop, writes what is left.
async fn write_batches(
    store: Store,
    mut receiver: mpsc::Receiver<Arrival>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut pace = Pace::default();
    let mut stopping = false;
    loop {
        let mut batch = Vec::new();
        let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
        while batch.len() < BATCH && !stopping {
            tokio::select! {
                got = receiver.recv() => match got {
                    Some(arrival) => batch.push(arrival),
                    None => stopping = true,
                },
                _ = tokio::time::sleep_until(deadline) => break,
                _ = &mut stopped, if !stopping => stopping = true,
            }
        }
        if stopping {
            receiver.close();
            while let Ok(arrival) = receiver.try_recv() {
                batch.push(arrival);
            }
        }
        for chunk in batch.chunks(BATCH) {
            write(&store, &mut pace, chunk.to_vec()).await;
        }
        if stopping {
            return;
        }
    }
}

async fn write(store: &Store, pace: &mut Pace, batch: Vec<Arrival>) {
    if batch.is_empty() {
        return;
    }
    let now = chrono::Utc::now();
    let robots = pace.robots(&batch, now);
    let views: usize = batch.iter().map(|a| a.views.len()).sum();
    // A store that refuses for a moment (a restart, a lock) gets the batch again.
    for attempt in 1..=3 {
        match leadgate_app::visits::record(store, batch.clone(), &robots, now).await {
            Ok(done) => {
                tracing::debug!(?done, "page views written");
                return;
            }
            Err(e) if attempt < 3 => {
                tracing::warn!(error = %e, attempt, "cannot write page views; trying again");
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
            Err(e) => tracing::error!(error = %e, views, "page views lost: the store refused them"),
        }
    }
}

/// How long anonymous history is kept unless configured.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

/// How often anonymous history past its retention is deleted.
const FORGET_EVERY: Duration = Duration::from_secs(3600);

/// Runs until dropped: deletes anonymous visitors and page views older than `days`.
pub async fn forget_old_visitors(store: Store, days: u32) {
    loop {
        match leadgate_app::visits::forget_old(&store, days, chrono::Utc::now()).await {
            Ok(gone) if gone == Default::default() => {}
            Ok(gone) => tracing::info!(
                visitors = gone.visitors,
                views = gone.views,
                "anonymous site history past its retention deleted"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot delete old anonymous site history"),
        }
        tokio::time::sleep(FORGET_EVERY).await;
    }
}
