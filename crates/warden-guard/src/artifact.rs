//! Fetching one version's archive and reading it: shared by `inspect` and
//! `diff`.

use warden_archive::{ArtifactKind, Expected, Limits};
use warden_registry::npm::Packument;
use warden_registry::pypi::{DistKind, SimpleProject};
use warden_registry::{NpmClient, PypiClient};
use warden_rules::Analysis;

use crate::Error;

/// Downloads the tarball of `version`, checks it against the published
/// digest, and reads its install surface.
pub async fn npm(client: &NpmClient, doc: &Packument, version: &str) -> Result<Analysis, Error> {
    let label = format!("npm:{}@{version}", doc.name);
    let manifest = doc.versions.get(version).ok_or_else(|| {
        Error::from(warden_registry::Error::NoSuchVersion {
            package: format!("npm:{}", doc.name),
            requested: version.to_owned(),
        })
    })?;
    let url = doc
        .tarball_url(version)
        .ok_or_else(|| Error::unavailable(format!("{label}: the registry lists no tarball")))?;
    let dist = manifest.dist.clone().unwrap_or_default();
    let expected =
        Expected::npm(dist.integrity.as_deref(), dist.shasum.as_deref()).ok_or_else(|| {
            Error::unavailable(format!(
                "{label}: the registry publishes no digest for its tarball"
            ))
            .with_hint("warden does not read archives it cannot verify")
        })?;
    let response = client
        .get(&doc.name, &url, "application/octet-stream")
        .await?;
    let analysis = warden_rules::analyze(
        &label,
        &response.body,
        Some(&expected),
        Some(ArtifactKind::NpmPackage),
        &Limits::default(),
    )?;
    Ok(analysis)
}

/// Reads one file of `version`: a wheel when there is one (what pip
/// prefers), else the sdist.
pub async fn pypi(
    client: &PypiClient,
    project: &SimpleProject,
    version: &str,
) -> Result<(String, Analysis), Error> {
    let files = project.files_of(version);
    let file = files
        .iter()
        .find(|f| f.kind == DistKind::Wheel && f.filename.contains("-none-any"))
        .or_else(|| files.iter().find(|f| f.kind == DistKind::Wheel))
        .or_else(|| files.iter().find(|f| f.kind == DistKind::Sdist))
        .ok_or_else(|| {
            Error::from(warden_registry::Error::NoSuchVersion {
                package: format!("pypi:{}", project.name),
                requested: version.to_owned(),
            })
        })?;
    let label = format!("pypi:{}=={version} ({})", project.name, file.filename);
    let expected = file
        .hashes
        .get("sha256")
        .map(|h| Expected::Sha256Hex(h.clone()))
        .ok_or_else(|| {
            Error::unavailable(format!("{label}: the index publishes no sha256 for it"))
                .with_hint("warden does not read archives it cannot verify")
        })?;
    let response = client
        .http
        .get(
            &format!("pypi:{}", project.name),
            &file.url,
            "application/octet-stream",
            None,
        )
        .await?;
    let hint = match file.kind {
        DistKind::Wheel => ArtifactKind::Wheel,
        _ => ArtifactKind::Sdist,
    };
    let analysis = warden_rules::analyze(
        &label,
        &response.body,
        Some(&expected),
        Some(hint),
        &Limits::default(),
    )?;
    Ok((file.filename.clone(), analysis))
}
