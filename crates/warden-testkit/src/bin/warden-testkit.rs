//! Serves scenarios on the loopback registry until interrupted, for trying
//! warden by hand and for benchmarks:
//!
//! ```text
//! cargo run -p warden-testkit -- serve realism
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(("serve", names)) = args.split_first().map(|(c, rest)| (c.as_str(), rest)) else {
        eprintln!("usage: warden-testkit serve <scenario>...   (names under testdata/scenarios)");
        std::process::exit(64);
    };
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let registry = warden_testkit::TestRegistry::with_scenarios(&names);
    println!("npm registry: {}", registry.npm_url());
    println!("index-url:    {}", registry.simple_url());
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
