//! Checks run side by side; one that does not finish (it panicked, or was
//! cancelled) is reported, never dropped.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

/// Check tasks, each with the key it is about (a package, a position).
pub struct CheckTasks<K, T> {
    tasks: tokio::task::JoinSet<T>,
    pending: BTreeMap<tokio::task::Id, K>,
    /// At most this many run at once, in the order they were spawned: what
    /// a check holds while it waits (a document, a downloaded archive)
    /// stays bounded however large the plan.
    running: Arc<tokio::sync::Semaphore>,
}

impl<K, T: Send + 'static> CheckTasks<K, T> {
    /// Tasks of which at most `limit` run at once.
    pub fn limited(limit: usize) -> Self {
        Self {
            tasks: tokio::task::JoinSet::new(),
            pending: BTreeMap::new(),
            running: Arc::new(tokio::sync::Semaphore::new(limit.max(1))),
        }
    }

    /// Spawns the check `start` makes. It is made only once it may run, in
    /// a box of its own: a check waiting for its turn holds its inputs, not
    /// the state of a running check (kilobytes each, for thousands).
    pub fn spawn<F>(&mut self, key: K, start: impl FnOnce() -> F + Send + 'static)
    where
        F: Future<Output = T> + Send + 'static,
    {
        let running = Arc::clone(&self.running);
        let handle = self.tasks.spawn(async move {
            // The semaphore is never closed: a permit always comes.
            let _permit = running.acquire_owned().await;
            Box::pin(start()).await
        });
        self.pending.insert(handle.id(), key);
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Every result, in the order they finish. A task that did not finish
    /// becomes `lost(key, why)`; `progress(done, total)` after each.
    pub async fn join(
        mut self,
        lost: impl Fn(K, String) -> T,
        mut progress: impl FnMut(usize, usize),
    ) -> Vec<T> {
        let total = self.pending.len();
        let mut out = Vec::with_capacity(total);
        while let Some(joined) = self.tasks.join_next_with_id().await {
            match joined {
                Ok((id, result)) => {
                    self.pending.remove(&id);
                    out.push(result);
                }
                Err(e) => {
                    if let Some(key) = self.pending.remove(&e.id()) {
                        let why = if e.is_panic() {
                            "the check failed unexpectedly (a bug in warden: please report it)"
                        } else {
                            "the check was cancelled"
                        };
                        out.push(lost(key, why.to_owned()));
                    }
                }
            }
            progress(out.len(), total);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Assessment, Package};

    #[tokio::test]
    async fn a_check_that_panics_is_unknown_not_dropped() {
        let mut tasks: CheckTasks<Package, Assessment> = CheckTasks::limited(1);
        for name in ["fine", "broken"] {
            let package = Package {
                name: name.to_owned(),
                ..Package::default()
            };
            let p = package.clone();
            tasks.spawn(package, move || async move {
                assert!(p.name != "broken", "a check that panics");
                Assessment::of(p)
            });
        }
        let mut seen = Vec::new();
        let mut out = tasks
            .join(
                |p, why| {
                    let mut a = Assessment::of(p);
                    a.unknown(why);
                    a
                },
                |done, total| seen.push((done, total)),
            )
            .await;
        out.sort_by(|a, b| a.package.name.cmp(&b.package.name));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].package.name, "broken");
        assert_eq!(out[0].unknown.len(), 1, "{:?}", out[0].unknown);
        assert!(out[1].unknown.is_empty());
        assert_eq!(seen, [(1, 2), (2, 2)]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_limit_run_at_once_and_every_one_finishes() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks: CheckTasks<usize, usize> = CheckTasks::limited(3);
        for i in 0..40 {
            let (running, most) = (Arc::clone(&running), Arc::clone(&most));
            tasks.spawn(i, move || async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i
            });
        }
        let mut out = tasks.join(|i, _| i, |_, _| {}).await;
        out.sort_unstable();
        assert_eq!(out, (0..40).collect::<Vec<_>>());
        assert!(most.load(Ordering::SeqCst) <= 3, "{most:?}");
        assert!(most.load(Ordering::SeqCst) >= 2, "they do run side by side");
    }
}
