//! Publisher history: a per-version timeline built from registry metadata,
//! and findings that judge the version about to be installed against the
//! one before it — who published it, how, and what changed.

mod judge;
pub mod popular;
mod timeline;

pub use judge::{
    CHANGES_WITH_TIME, CODES, Context, DependencyFacts, Finding, Judgement, Level, Unknown,
    is_non_registry, judge,
};
pub use timeline::{Ecosystem, Source, Timeline, Trust, VersionFacts};
