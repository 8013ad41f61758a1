//! The most-downloaded names of each ecosystem (`data/popular/`, made by
//! `data/popular/generate`), and how close another name comes to them.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::Ecosystem;

const NPM: &str = include_str!("../../../data/popular/npm.txt");
const PYPI: &str = include_str!("../../../data/popular/pypi.txt");

struct Names {
    list: Vec<&'static str>,
    set: HashSet<&'static str>,
}

fn load(text: &'static str) -> Names {
    let list: Vec<&'static str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let set = list.iter().copied().collect();
    Names { list, set }
}

static NPM_NAMES: LazyLock<Names> = LazyLock::new(|| load(NPM));
static PYPI_NAMES: LazyLock<Names> = LazyLock::new(|| load(PYPI));

fn names(ecosystem: Ecosystem) -> &'static Names {
    match ecosystem {
        Ecosystem::Npm => &NPM_NAMES,
        Ecosystem::Pypi => &PYPI_NAMES,
    }
}

fn normalize(ecosystem: Ecosystem, name: &str) -> String {
    match ecosystem {
        Ecosystem::Npm => name.to_owned(),
        Ecosystem::Pypi => warden_registry::pypi::normalize_name(name),
    }
}

pub fn is_popular(ecosystem: Ecosystem, name: &str) -> bool {
    let n = normalize(ecosystem, name);
    names(ecosystem).set.contains(n.as_str())
        || names(ecosystem)
            .list
            .iter()
            .any(|p| normalize(ecosystem, p) == n)
}

/// Affixes squatters add to a popular name.
const SUFFIXES: &[&str] = &[
    "-js", ".js", "js", "-node", "-dev", "-cli", "-lib", "-py", "-python", "-api", "-utils",
    "-sdk", "2", "-core",
];
const PREFIXES: &[&str] = &["node-", "py-", "python-", "js-"];

/// The popular name `name` imitates and how, or `None`.
pub fn lookalike(ecosystem: Ecosystem, name: &str) -> Option<(String, &'static str)> {
    if is_popular(ecosystem, name) {
        return None;
    }
    let n = normalize(ecosystem, name);
    let squash = |s: &str| s.replace(['-', '_', '.'], "");
    for popular in &names(ecosystem).list {
        let p = normalize(ecosystem, popular);
        if p.len() < 4 {
            continue;
        }
        if squash(&n) == squash(&p) {
            return Some(((*popular).to_owned(), "separator swap"));
        }
        if let (Some((ns, nn)), Some((ps, pn))) = (n.split_once('/'), p.split_once('/')) {
            if nn == pn && ns != ps && edit_distance(ns, ps) <= 2 {
                return Some(((*popular).to_owned(), "scope swap"));
            }
        }
        if p.len() >= 5 && n.len().abs_diff(p.len()) <= 1 && edit_distance(&n, &p) == 1 {
            return Some(((*popular).to_owned(), "one edit"));
        }
        if SUFFIXES
            .iter()
            .any(|s| n.strip_suffix(s) == Some(p.as_str()))
            || PREFIXES
                .iter()
                .any(|s| n.strip_prefix(s) == Some(p.as_str()))
        {
            return Some(((*popular).to_owned(), "added affix"));
        }
    }
    None
}

/// Damerau–Levenshtein (optimal string alignment) distance.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_load_and_popular_names_are_not_suspects() {
        assert!(names(Ecosystem::Npm).list.len() >= 1000);
        assert!(names(Ecosystem::Pypi).list.len() >= 1000);
        let top = names(Ecosystem::Npm).list[0];
        assert!(lookalike(Ecosystem::Npm, top).is_none());
        assert!(
            lookalike(Ecosystem::Pypi, "Requests").is_none(),
            "normalised names count as popular"
        );
    }

    #[test]
    fn imitations() {
        assert_eq!(
            lookalike(Ecosystem::Npm, "expresss").map(|x| x.1),
            Some("one edit")
        );
        assert_eq!(
            lookalike(Ecosystem::Npm, "lodahs").map(|x| x.1),
            Some("one edit")
        );
        assert_eq!(
            lookalike(Ecosystem::Pypi, "python-dateutil2")
                .map(|x| x.0)
                .as_deref(),
            Some("python-dateutil")
        );
        assert_eq!(
            lookalike(Ecosystem::Pypi, "requests-python").map(|x| x.1),
            Some("added affix")
        );
        assert_eq!(
            lookalike(Ecosystem::Npm, "cross_env").map(|x| x.1),
            Some("separator swap")
        );
        assert!(lookalike(Ecosystem::Npm, "zzqqxv-internal-tool").is_none());
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("abcd", "abdc"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
