//! Looking ahead for requirements only published as sdists, so that pip's
//! wheel-only plan does not stop at each in turn (see
//! `crate::placeholder_wheel`). Only reads what indexes publish:
//! project pages, wheel metadata (PEP 658) and sdists' `PKG-INFO`. Nothing
//! found here is trusted: it only saves rounds of planning.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::{Planned, Requirement};
use jiff::SignedDuration;
use warden_registry::pypi::{DistFile, DistKind, normalize_name};
use warden_registry::{PypiClient, RedactedUrl};

use warden_guard::artifact::Pick;
use warden_guard::facts::Platform;

use super::Pages;

/// Projects looked at, at most: a bound on what a requirements set can
/// make warden fetch ahead.
const MAX_PROJECTS: usize = 2_000;

/// An sdist-only release pip's plan may need, and its placeholder.
pub(super) struct Placeholder {
    /// The sdist, as index sdists are judged.
    pub sdist: Planned,
    /// Its `PKG-INFO`, which the placeholder carries.
    pub metadata: String,
    /// The placeholder wheel's file name, in the placeholder directory.
    pub wheel: String,
}

/// Walks from `roots` through the newest release each requirement allows
/// (old enough, not yanked), following `Requires-Dist` (extras as
/// requested; other markers are followed, as pip's plan sorts them out),
/// and writes a placeholder wheel into `dir` for each release that has no
/// wheel. Anything that cannot be read ends the walk there: pip's plan
/// then finds it the slow way. Each level of the walk is fetched at once.
pub(super) async fn sdist_only(
    client: &PypiClient,
    pages: &mut Pages,
    roots: &[String],
    min_age: SignedDuration,
    dir: &Path,
    platform: &std::sync::Arc<Platform>,
) -> BTreeMap<String, Placeholder> {
    let mut wave: Vec<Requirement> = roots
        .iter()
        .filter_map(|r| crate::parse_requirement(r))
        .collect();
    // name -> extras asked for, and the dependencies of the release chosen.
    let mut seen: BTreeMap<String, (BTreeSet<String>, Vec<String>)> = BTreeMap::new();
    let mut found = BTreeMap::new();
    while !wave.is_empty() {
        let mut next = Vec::new();
        // Projects not looked at yet, with the extras asked for.
        let mut new: BTreeMap<String, Requirement> = BTreeMap::new();
        for req in wave {
            if let Some((extras, deps)) = seen.get_mut(&req.name) {
                let before = extras.len();
                extras.extend(req.extras.iter().cloned());
                if extras.len() > before {
                    follow(deps, extras, &mut next);
                }
            } else if let Some(first) = new.get_mut(&req.name) {
                first.extras.extend(req.extras);
            } else if seen.len() + new.len() < MAX_PROJECTS {
                new.insert(req.name.clone(), req);
            }
        }
        pages.prefetch(new.keys().cloned().collect()).await;
        let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(super::CONCURRENT_CHECKS));
        let mut tasks = tokio::task::JoinSet::new();
        for (name, req) in new {
            let files: Vec<DistFile> = pages
                .get(&name)
                .await
                .iter()
                .flat_map(|(_, page)| page.files.iter().cloned())
                .collect();
            let client = client.clone();
            let limit = std::sync::Arc::clone(&limit);
            let platform = std::sync::Arc::clone(platform);
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let release = release(&client, files, &req, min_age, &platform).await;
                (req, release)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let Ok((req, release)) = joined else {
                continue;
            };
            let deps = match release {
                Some(Release::Wheel(metadata)) => crate::field(&metadata, "Requires-Dist"),
                Some(Release::Sdist(p, bytes)) => {
                    let deps = crate::field(&p.metadata, "Requires-Dist");
                    if std::fs::write(dir.join(&p.wheel), bytes).is_ok() {
                        found.insert(p.wheel.clone(), *p);
                    }
                    deps
                }
                None => Vec::new(),
            };
            let extras: BTreeSet<String> = req.extras.iter().cloned().collect();
            follow(&deps, &extras, &mut next);
            seen.insert(req.name, (extras, deps));
        }
        wave = next;
    }
    found
}

/// The dependencies needed with `extras` requested.
fn follow(deps: &[String], extras: &BTreeSet<String>, out: &mut Vec<Requirement>) {
    for dep in deps.iter().filter_map(|d| crate::parse_requirement(d)) {
        let wanted = dep.marker.as_deref().map(crate::marker_extras);
        if wanted.is_none_or(|w| w.is_empty() || w.iter().any(|e| extras.contains(e))) {
            out.push(dep);
        }
    }
}

enum Release {
    /// A release with a wheel: its metadata.
    Wheel(String),
    /// A release with only an sdist, and its placeholder wheel's bytes.
    Sdist(Box<Placeholder>, Vec<u8>),
}

/// The release of `req` pip would likely pick from `files`, and what it
/// declares.
async fn release(
    client: &PypiClient,
    files: Vec<DistFile>,
    req: &Requirement,
    min_age: SignedDuration,
    platform: &Platform,
) -> Option<Release> {
    let specifiers: pep440_rs::VersionSpecifiers = req.specifiers.parse().ok()?;
    let exact = req.specifiers.contains("==");
    let now = jiff::Timestamp::now();
    let (_, version) = files
        .iter()
        .filter(|f| {
            f.yanked.is_none()
                && (exact
                    || f.upload_time
                        .is_none_or(|t| now.duration_since(t) >= min_age))
        })
        .filter_map(|f| {
            let v: pep440_rs::Version = f.version.as_deref()?.parse().ok()?;
            (specifiers.contains(&v) && (exact || !v.any_prerelease()))
                .then(|| (v, f.version.clone().unwrap_or_default()))
        })
        .max_by(|a, b| a.0.cmp(&b.0))?;
    let of_version = || {
        files
            .iter()
            .filter(|f| f.version.as_ref() == Some(&version))
    };
    let label = format!("pypi:{}", req.name);
    // A release whose wheels are all for other platforms is, here, an sdist.
    let wheels: Vec<&DistFile> = of_version().filter(|f| f.kind == DistKind::Wheel).collect();
    let installable = !wheels.is_empty()
        && (Pick::has_pure_wheel(&wheels)
            || match platform.get().await {
                Some(tags) => Pick::Tags(tags).file(&wheels).is_some(),
                None => true,
            });
    if installable {
        let wheel = of_version().find(|f| f.kind == DistKind::Wheel && f.has_metadata_file)?;
        let url = RedactedUrl::parse(&format!("{}.metadata", wheel.url.expose())).ok()?;
        let body = client
            .http
            .get(&label, &url, "application/octet-stream", None)
            .await
            .ok()?
            .body;
        return Some(Release::Wheel(String::from_utf8_lossy(&body).into_owned()));
    }
    let sdist = of_version().find(|f| f.kind == DistKind::Sdist)?;
    let sha256 = sdist.hashes.get("sha256")?;
    let body = client
        .http
        .get(&label, &sdist.url, "application/octet-stream", None)
        .await
        .ok()?
        .body;
    if super::sha256_hex(&body) != *sha256 {
        return None;
    }
    let (metadata, _) = crate::sdist_metadata(&label, &body)?;
    // A PKG-INFO that names another release would only mislead the plan.
    let names_it = |field: &str, want: &str| {
        crate::field(&metadata, field)
            .first()
            .is_some_and(|v| normalize_name(v) == normalize_name(want))
    };
    if !(names_it("Name", &req.name) && names_it("Version", &version)) {
        return None;
    }
    let (wheel, bytes) = crate::placeholder_wheel(&metadata).ok()?;
    Some(Release::Sdist(
        Box::new(Placeholder {
            sdist: Planned {
                name: req.name.clone(),
                version,
                url: sdist.url.expose().to_string(),
                filename: sdist.filename.clone(),
                sha256: Some(sha256.clone()),
                requested: true,
                is_direct: false,
            },
            metadata,
            wheel,
        }),
        bytes,
    ))
}
