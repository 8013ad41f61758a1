//! Checks run side by side; one that does not finish (it panicked, or was
//! cancelled) is reported, never dropped.

use std::collections::BTreeMap;
use std::future::Future;

/// Check tasks, each with the key it is about (a package, a position).
pub struct CheckTasks<K, T> {
    tasks: tokio::task::JoinSet<T>,
    pending: BTreeMap<tokio::task::Id, K>,
}

impl<K, T: Send + 'static> Default for CheckTasks<K, T> {
    fn default() -> Self {
        Self {
            tasks: tokio::task::JoinSet::new(),
            pending: BTreeMap::new(),
        }
    }
}

impl<K, T: Send + 'static> CheckTasks<K, T> {
    pub fn spawn(&mut self, key: K, check: impl Future<Output = T> + Send + 'static) {
        let handle = self.tasks.spawn(check);
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
        let mut tasks: CheckTasks<Package, Assessment> = CheckTasks::default();
        for name in ["fine", "broken"] {
            let package = Package {
                name: name.to_owned(),
                ..Package::default()
            };
            let p = package.clone();
            tasks.spawn(package, async move {
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
}
