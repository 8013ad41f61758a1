//! Fetching one version's archive and reading it: shared by `inspect` and
//! `diff`.

use warden_archive::{ArtifactKind, Expected, Limits};
use warden_registry::npm::Packument;
use warden_registry::pypi::{DistFile, DistKind, SimpleProject, wheel_tags};
use warden_registry::{NpmClient, PypiClient};
use warden_rules::Analysis;

use crate::Error;
use crate::cache::{ArchiveVerdict, judge_artifact, read_verdict, verdict_path};

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

/// The verdict on `version`'s tarball: from the cache when these bytes
/// were read before, else downloaded, verified against the published
/// digest, read and kept.
pub async fn npm_verdict(
    client: &NpmClient,
    doc: &Packument,
    version: &str,
) -> Result<ArchiveVerdict, Error> {
    let label = format!("npm:{}@{version}", doc.name);
    let dist = doc
        .versions
        .get(version)
        .and_then(|m| m.dist.clone())
        .unwrap_or_default();
    let expected = Expected::npm(dist.integrity.as_deref(), dist.shasum.as_deref())
        .ok_or_else(|| Error::unavailable(format!("{label}: the registry publishes no digest")))?;
    let cache_dir = client.http.options().cache_dir.clone();
    if let Some(v) = cached(cache_dir.as_deref(), &expected) {
        return Ok(v);
    }
    let url = doc
        .tarball_url(version)
        .ok_or_else(|| Error::unavailable(format!("{label}: the registry lists no tarball")))?;
    let response = client
        .get(&doc.name, &url, "application/octet-stream")
        .await?;
    Ok(judge_artifact(
        &label,
        &response.body,
        Some(&expected),
        ArtifactKind::NpmPackage,
        cache_dir.as_deref(),
    )?)
}

/// Which file of a release to read.
#[derive(Debug, Clone, Copy)]
pub enum Pick<'a> {
    /// What pip prefers on some platform: a pure wheel, else any wheel,
    /// else the sdist.
    Any,
    /// What pip installs here: the wheel whose tag comes first in these
    /// (pip's own order, most preferred first), else the sdist.
    Tags(&'a [String]),
}

impl Pick<'_> {
    /// The file of `files` pip would install, if any.
    pub fn file<'f>(&self, files: &[&'f DistFile]) -> Option<&'f DistFile> {
        let sdist = || files.iter().find(|f| f.kind == DistKind::Sdist).copied();
        match self {
            Self::Any => files
                .iter()
                .find(|f| f.kind == DistKind::Wheel && f.filename.contains("-none-any"))
                .or_else(|| files.iter().find(|f| f.kind == DistKind::Wheel))
                .copied()
                .or_else(sdist),
            Self::Tags(tags) => {
                let rank: std::collections::HashMap<&str, usize> = tags
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (t.as_str(), i))
                    .collect();
                files
                    .iter()
                    .filter(|f| f.kind == DistKind::Wheel)
                    .filter_map(|f| {
                        let best = wheel_tags(&f.filename)
                            .iter()
                            .filter_map(|t| rank.get(t.as_str()).copied())
                            .min()?;
                        Some((best, *f))
                    })
                    .min_by_key(|(best, _)| *best)
                    .map(|(_, f)| f)
                    .or_else(sdist)
            }
        }
    }

    /// Whether the choice among `files` depends on the platform: not when
    /// there is one file, or a wheel every Python 3 installs.
    pub fn depends_on_platform(files: &[&DistFile]) -> bool {
        files.len() > 1 && !Self::has_pure_wheel(files)
    }

    /// Whether one of `files` is a wheel every Python 3 installs.
    pub fn has_pure_wheel(files: &[&DistFile]) -> bool {
        files
            .iter()
            .any(|f| wheel_tags(&f.filename).iter().any(|t| t == "py3-none-any"))
    }
}

/// The verdict on the file of `version` that `pick` chooses: from the
/// cache when these bytes were read before, else downloaded, verified,
/// read and kept.
pub async fn pypi_verdict(
    client: &PypiClient,
    project: &SimpleProject,
    version: &str,
    pick: Pick<'_>,
) -> Result<ArchiveVerdict, Error> {
    let (label, file, expected) = pypi_file(project, version, pick)?;
    let cache_dir = client.http.options().cache_dir.clone();
    if let Some(v) = cached(cache_dir.as_deref(), &expected) {
        return Ok(v);
    }
    let body = download(client, project, file).await?;
    Ok(judge_artifact(
        &label,
        &body,
        Some(&expected),
        file_kind(file),
        cache_dir.as_deref(),
    )?)
}

/// The file of `version` that `pick` chooses, its label and its digest.
fn pypi_file<'p>(
    project: &'p SimpleProject,
    version: &str,
    pick: Pick<'_>,
) -> Result<(String, &'p DistFile, Expected), Error> {
    let files = project.files_of(version);
    let file = pick.file(&files).ok_or_else(|| {
        Error::from(warden_registry::Error::NoSuchVersion {
            package: format!("pypi:{}", project.name),
            requested: format!("{version} (no file this Python installs)"),
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
    Ok((label, file, expected))
}

/// The verdict kept for these bytes, if any.
fn cached(cache_dir: Option<&std::path::Path>, expected: &Expected) -> Option<ArchiveVerdict> {
    verdict_path(cache_dir, expected)
        .as_deref()
        .and_then(read_verdict)
}

/// The bytes of one file of a project.
async fn download(
    client: &PypiClient,
    project: &SimpleProject,
    file: &DistFile,
) -> Result<Vec<u8>, Error> {
    let response = client
        .http
        .get(
            &format!("pypi:{}", project.name),
            &file.url,
            "application/octet-stream",
            None,
        )
        .await?;
    Ok(response.body)
}

fn file_kind(file: &DistFile) -> ArtifactKind {
    match file.kind {
        DistKind::Wheel => ArtifactKind::Wheel,
        _ => ArtifactKind::Sdist,
    }
}

/// Reads the file of `version` that `pick` chooses.
pub async fn pypi(
    client: &PypiClient,
    project: &SimpleProject,
    version: &str,
    pick: Pick<'_>,
) -> Result<(String, Analysis), Error> {
    let (label, file, expected) = pypi_file(project, version, pick)?;
    let body = download(client, project, file).await?;
    let analysis = warden_rules::analyze(
        &label,
        &body,
        Some(&expected),
        Some(file_kind(file)),
        &Limits::default(),
    )?;
    Ok((file.filename.clone(), analysis))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use warden_registry::RedactedUrl;

    use super::*;

    fn file(filename: &str) -> DistFile {
        DistFile {
            filename: filename.into(),
            url: RedactedUrl::parse(&format!("http://127.0.0.1:1/{filename}")).unwrap(),
            kind: if filename.ends_with(".whl") {
                DistKind::Wheel
            } else {
                DistKind::Sdist
            },
            version: Some("2.9.9".into()),
            hashes: BTreeMap::new(),
            requires_python: None,
            has_metadata_file: false,
            yanked: None,
            size: None,
            upload_time: None,
            provenance: None,
            provenance_listed: false,
        }
    }

    #[test]
    fn the_file_pip_installs_here() {
        let linux = [
            "cp311-cp311-manylinux_2_28_x86_64".to_owned(),
            "cp311-cp311-manylinux_2_17_x86_64".to_owned(),
            "cp311-abi3-manylinux_2_17_x86_64".to_owned(),
            "py3-none-any".to_owned(),
        ];
        let pick = |names: &[&str], p: Pick<'_>| {
            let files: Vec<DistFile> = names.iter().map(|n| file(n)).collect();
            let refs: Vec<&DistFile> = files.iter().collect();
            p.file(&refs).map(|f| f.filename.clone())
        };
        // psycopg2 2.9.9: Windows wheels and an sdist. Here: the sdist.
        let psycopg2 = [
            "psycopg2-2.9.9-cp311-cp311-win_amd64.whl",
            "psycopg2-2.9.9.tar.gz",
        ];
        assert_eq!(
            pick(&psycopg2, Pick::Tags(&linux)).as_deref(),
            Some("psycopg2-2.9.9.tar.gz")
        );
        assert_eq!(
            pick(&psycopg2, Pick::Any).as_deref(),
            Some("psycopg2-2.9.9-cp311-cp311-win_amd64.whl")
        );
        // The best-ranked tag wins, whatever the order of the listing.
        let numpy = [
            "n-2.9.9-cp311-abi3-manylinux_2_17_x86_64.whl",
            "n-2.9.9-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "n-2.9.9-cp311-cp311-macosx_11_0_arm64.whl",
            "n-2.9.9.tar.gz",
        ];
        assert_eq!(
            pick(&numpy, Pick::Tags(&linux)).as_deref(),
            Some("n-2.9.9-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
        );
        // Nothing installable here and no sdist: no file.
        assert_eq!(
            pick(&["n-2.9.9-cp311-cp311-win_amd64.whl"], Pick::Tags(&linux)),
            None
        );
        // Only a platform choice needs the tags.
        let refs = |names: &[&str]| names.iter().map(|n| file(n)).collect::<Vec<_>>();
        let pure = refs(&["a-1.0-py3-none-any.whl", "a-1.0.tar.gz"]);
        assert!(!Pick::depends_on_platform(&pure.iter().collect::<Vec<_>>()));
        let binary = refs(&psycopg2);
        assert!(Pick::depends_on_platform(
            &binary.iter().collect::<Vec<_>>()
        ));
    }
}
