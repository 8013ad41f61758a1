//! pip's reports, requirements files and command lines, mutated: no parser
//! may panic.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use warden_testkit::fuzz;

#[test]
fn reports_and_requirements() {
    let report = br#"{"version":"1","install":[{"download_info":{"url":"http://i/files/a-1.0-py3-none-any.whl","archive_info":{"hashes":{"sha256":"00"}}},"is_direct":false,"requested":true,"metadata":{"name":"a","version":"1.0"}}]}"#;
    let requirements = b"-i http://i/simple\n--extra-index-url http://x/simple\nFoo_Bar==1.0 \\\n    --hash=sha256:AA --hash=sha256:bb\nbaz[extra]>=2; python_version > \"3\"  # c\n-r other.txt\n./local.tar.gz\ngit+https://h/r.git@abc#egg=r\n-e ./proj\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("requirements.txt");
    fuzz::run(&[report, requirements], fuzz::iterations(1500), |b| {
        let _ = warden_pip::parse_report(b);
        let text = String::from_utf8_lossy(b);
        for line in text.lines() {
            let _ = warden_pip::parse_requirement(line);
        }
        std::fs::write(&file, b).unwrap();
        let args: Vec<String> = ["install", "-r", "requirements.txt"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let r = warden_pip::PipRequest::parse(&["pip".to_owned()], &args, dir.path());
        let _ = warden_pip::requirement_lines(&args, dir.path());
        let _ = warden_pip::resolver_args(&r.args);
        let words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
        let _ = warden_pip::resolver_args(&words);
        let _ = warden_pip::install_flags(&words);
        let _ = warden_pip::classify(&words);
        let _ = warden_pip::wheel_tags(&text);
    });
}
