//! Serves scenarios on the loopback registry until interrupted, for trying
//! warden by hand and for benchmarks:
//!
//! ```text
//! cargo run -p warden-testkit -- serve realism
//! cargo run -p warden-testkit -- serve large:huge-doc:30
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(("serve", names)) = args.split_first().map(|(c, rest)| (c.as_str(), rest)) else {
        eprintln!(
            "usage: warden-testkit serve <scenario | large:<name>:<MB> | bench-npm:<count> | bench-npm-attested:<count> | bench-pypi:<count> | max-age:<seconds> | no-validators>..."
        );
        std::process::exit(64);
    };
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    // `large:<name>:<MB>` serves a generated document of that size.
    let no_validators = names.contains(&"no-validators");
    let (generated, scenarios): (Vec<&str>, Vec<&str>) = names
        .iter()
        .filter(|n| **n != "no-validators")
        .partition(|n| n.contains(':'));
    let (large, bench): (Vec<&str>, Vec<&str>) =
        generated.iter().partition(|n| n.starts_with("large:"));
    let mut registry = warden_testkit::TestRegistry::with_scenarios(&scenarios);
    // `bench-npm:<count>` / `bench-pypi:<count>`: generated projects for benchmarks.
    // `max-age:<seconds>`: documents carry `Cache-Control: max-age`.
    for spec in bench {
        let (kind, count) = spec.split_once(':').unwrap_or((spec, "0"));
        let count: usize = count.parse().unwrap_or(0);
        let root = match kind {
            "max-age" => {
                registry.set_max_age(count as u64);
                println!("documents carry Cache-Control: public, max-age={count}");
                continue;
            }
            "bench-npm" => registry.add_bench_npm(count),
            "bench-pypi" => registry.add_bench_pypi(count),
            "bench-npm-attested" => registry.add_bench_npm_named("bench-att", count, true),
            _ => {
                eprintln!("unknown generator `{kind}`");
                std::process::exit(64);
            }
        };
        println!("generated {count} packages, root {root}");
    }
    for spec in large {
        let mut parts = spec.split(':').skip(1);
        let (Some(name), Some(mb)) = (parts.next(), parts.next().and_then(|m| m.parse().ok()))
        else {
            eprintln!("write `large:<name>:<megabytes>`");
            std::process::exit(64);
        };
        let bytes = registry.serve_large_packument(name, mb);
        println!("serving npm:{name}, a {bytes}-byte document");
    }
    if no_validators {
        registry.set_no_validators(true);
        println!("documents carry no ETag, Last-Modified or Cache-Control");
    }
    println!("npm registry: {}", registry.npm_url());
    println!("index-url:    {}", registry.simple_url());
    // Its provenance verifies only against the testkit's own trusted root.
    let root =
        std::env::temp_dir().join(format!("warden-testkit-root-{}.json", std::process::id()));
    match std::fs::write(
        &root,
        warden_testkit::sigstore::world().trusted_root().to_string(),
    ) {
        Ok(()) => println!("trust-root:   {}", root.display()),
        Err(e) => eprintln!("writing the trusted root: {e}"),
    }
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
