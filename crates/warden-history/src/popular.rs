//! The most-downloaded names of each ecosystem (`data/popular/`, made by
//! `data/popular/generate`), and how close another name comes to them.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use crate::Ecosystem;

const NPM: &str = include_str!("../../../data/popular/npm.txt");
const PYPI: &str = include_str!("../../../data/popular/pypi.txt");

struct Names {
    /// In list order: the name as listed, normalised, and without
    /// separators.
    list: Vec<Popular>,
    normalized: HashSet<String>,
    /// Which popular names (by list position) a name could imitate, by
    /// what both would share: the name without separators, the name
    /// without its scope, the name itself and each one-character deletion
    /// of it. A name is compared only with those, not the whole list.
    /// Keys are 64-bit digests ([`key`]): building the index is the larger
    /// part of a warm run's checks, and strings cost an allocation each.
    by_key: HashMap<u64, Vec<usize>>,
}

struct Popular {
    name: &'static str,
    normalized: String,
    squashed: String,
}

fn load(ecosystem: Ecosystem, text: &'static str) -> Names {
    let list: Vec<Popular> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|name| {
            let normalized = normalize(ecosystem, name);
            Popular {
                name,
                squashed: squash(&normalized),
                normalized,
            }
        })
        .collect();
    let normalized = list.iter().map(|p| p.normalized.clone()).collect();
    let mut by_key: HashMap<u64, Vec<usize>> = HashMap::with_capacity(list.len() * 12);
    for (i, p) in list.iter().enumerate() {
        let mut keys = vec![key(b's', &[&p.squashed]), key(b'n', &[&p.normalized])];
        if let Some((_, name)) = p.normalized.split_once('/') {
            keys.push(key(b'u', &[name]));
        }
        keys.extend(deletions(&p.normalized));
        for k in keys {
            by_key.entry(k).or_default().push(i);
        }
    }
    Names {
        list,
        normalized,
        by_key,
    }
}

/// The keys of the name and of each version of it with one character
/// deleted.
fn deletions(name: &str) -> impl Iterator<Item = u64> + '_ {
    std::iter::once(key(b'd', &[name])).chain(
        name.char_indices()
            .map(move |(i, c)| key(b'd', &[&name[..i], &name[i + c.len_utf8()..]])),
    )
}

/// FNV-1a over a tag byte and the concatenated `parts`. Not a security
/// boundary: a collision only adds a candidate, which the exact tests of
/// [`lookalike`] then reject.
fn key(tag: u8, parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in std::iter::once(tag).chain(parts.iter().flat_map(|p| p.bytes())) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The popular names `n` could imitate, in list order: a superset of the
/// ones [`lookalike`]'s tests accept.
fn candidates(names: &Names, n: &str, squashed: &str) -> BTreeSet<usize> {
    let mut keys = vec![key(b's', &[squashed])];
    if let Some((_, name)) = n.split_once('/') {
        keys.push(key(b'u', &[name]));
    }
    keys.extend(deletions(n));
    keys.extend(
        SUFFIXES
            .iter()
            .filter_map(|s| n.strip_suffix(s))
            .chain(PREFIXES.iter().filter_map(|s| n.strip_prefix(s)))
            .map(|p| key(b'n', &[p])),
    );
    keys.iter()
        .filter_map(|k| names.by_key.get(k))
        .flatten()
        .copied()
        .collect()
}

static NPM_NAMES: LazyLock<Names> = LazyLock::new(|| load(Ecosystem::Npm, NPM));
static PYPI_NAMES: LazyLock<Names> = LazyLock::new(|| load(Ecosystem::Pypi, PYPI));

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

fn squash(name: &str) -> String {
    name.replace(['-', '_', '.'], "")
}

pub fn is_popular(ecosystem: Ecosystem, name: &str) -> bool {
    names(ecosystem)
        .normalized
        .contains(&normalize(ecosystem, name))
}

/// Affixes squatters add to a popular name.
const SUFFIXES: &[&str] = &[
    "-js", ".js", "js", "-node", "-dev", "-cli", "-lib", "-py", "-python", "-api", "-utils",
    "-sdk", "2", "-core",
];
const PREFIXES: &[&str] = &["node-", "py-", "python-", "js-"];

/// The popular name `name` imitates and how, or `None`. Called for every
/// package of a plan: the popular names are normalised once, and nothing
/// is allocated per popular name.
pub fn lookalike(ecosystem: Ecosystem, name: &str) -> Option<(String, &'static str)> {
    let names = names(ecosystem);
    let n = normalize(ecosystem, name);
    if names.normalized.contains(&n) {
        return None;
    }
    let squashed = squash(&n);
    candidates(names, &n, &squashed)
        .into_iter()
        .map(|i| &names.list[i])
        .find_map(|p| imitates(&n, &squashed, p).map(|how| (p.name.to_owned(), how)))
}

/// How `n` (normalised; `squashed` without separators) imitates `popular`,
/// if it does.
fn imitates(n: &str, squashed: &str, popular: &Popular) -> Option<&'static str> {
    let p = popular.normalized.as_str();
    if p.len() < 4 {
        return None;
    }
    if squashed == popular.squashed {
        return Some("separator swap");
    }
    if let (Some((ns, nn)), Some((ps, pn))) = (n.split_once('/'), p.split_once('/')) {
        if nn == pn && ns != ps && edit_distance(ns, ps) <= 2 {
            return Some("scope swap");
        }
    }
    if p.len() >= 5 && n.len().abs_diff(p.len()) <= 1 && one_edit(n, p) {
        return Some("one edit");
    }
    if SUFFIXES.iter().any(|s| n.strip_suffix(s) == Some(p))
        || PREFIXES.iter().any(|s| n.strip_prefix(s) == Some(p))
    {
        return Some("added affix");
    }
    None
}

/// `edit_distance(a, b) == 1` without building its table: one character
/// changed, added, removed, or two neighbours swapped.
fn one_edit(a: &str, b: &str) -> bool {
    if !(a.is_ascii() && b.is_ascii()) {
        return edit_distance(a, b) == 1;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let start = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        if start == short.len() {
            return false;
        }
        let (rest_a, rest_b) = (&short[start + 1..], &long[start + 1..]);
        rest_a == rest_b
            || (start + 1 < short.len()
                && short[start] == long[start + 1]
                && short[start + 1] == long[start]
                && short[start + 2..] == long[start + 2..])
    } else if long.len() == short.len() + 1 {
        short[start..] == long[start + 1..]
    } else {
        false
    }
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
        let top = names(Ecosystem::Npm).list[0].name;
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
    fn the_index_finds_what_comparing_with_every_name_finds() {
        for eco in [Ecosystem::Npm, Ecosystem::Pypi] {
            let names = names(eco);
            let scan = |name: &str| {
                let n = normalize(eco, name);
                if names.normalized.contains(&n) {
                    return None;
                }
                let squashed = squash(&n);
                names
                    .list
                    .iter()
                    .find_map(|p| imitates(&n, &squashed, p).map(|how| (p.name.to_owned(), how)))
            };
            // Every kind of imitation of the first 150 names, and names
            // that imitate nothing.
            let mut tried = 0;
            for p in names.list.iter().take(150) {
                let base = p.normalized.as_str();
                let mut variants = vec![
                    format!("{base}x"),
                    format!("x{base}"),
                    base.replacen('-', "_", 1),
                    format!("{base}-js"),
                    format!("node-{base}"),
                    format!("@other/{}", base.rsplit('/').next().unwrap_or(base)),
                ];
                let chars: Vec<char> = base.chars().collect();
                for i in 0..chars.len() {
                    let mut del = chars.clone();
                    del.remove(i);
                    variants.push(del.iter().collect());
                    let mut sub = chars.clone();
                    sub[i] = 'q';
                    variants.push(sub.iter().collect());
                    if i + 1 < chars.len() {
                        let mut swap = chars.clone();
                        swap.swap(i, i + 1);
                        variants.push(swap.iter().collect());
                    }
                }
                for v in variants {
                    tried += 1;
                    assert_eq!(lookalike(eco, &v), scan(&v), "{eco:?} {v}");
                }
            }
            assert!(tried > 1500);
        }
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("abcd", "abdc"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn one_edit_agrees_with_the_table() {
        let words = [
            "", "a", "ab", "ba", "abc", "acb", "bac", "abd", "abcd", "abdc", "bacd", "abce",
            "axcd", "abcde", "abde", "xabcd", "abcdx", "dcba", "aabb", "abab", "express",
            "expresss", "exprses", "lodash", "lodahs", "ldoash", "é", "éa", "aé",
        ];
        for a in words {
            for b in words {
                assert_eq!(
                    one_edit(a, b),
                    edit_distance(a, b) == 1,
                    "{a:?} against {b:?}"
                );
            }
        }
    }
}
