//! The environment approved code (install scripts, sdist builds) runs with.

use std::collections::BTreeMap;

/// Environment variables whose names look like secrets.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let exact = [
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "NPM_TOKEN",
        "NODE_AUTH_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_RUNTIME_URL",
        "SSH_AUTH_SOCK",
    ];
    exact.contains(&n.as_str())
        || [
            "TOKEN",
            "SECRET",
            "PASSWORD",
            "PASSWD",
            "CREDENTIAL",
            "PRIVATE_KEY",
            "API_KEY",
            "ACCESS_KEY",
            "AUTH",
        ]
        .iter()
        .any(|w| n.contains(w))
        || n.starts_with("AWS_")
        || n.starts_with("AZURE_")
        || n.starts_with("NPM_CONFIG_//")
        || n.starts_with("NPM_CONFIG__AUTH")
        || n.starts_with("TWINE_")
}

/// What builds and install scripts need, by name.
const PASSED: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "TZ",
    "LANG",
    "LANGUAGE",
    "TMPDIR",
    "TMP",
    "TEMP",
    "SOURCE_DATE_EPOCH",
    // Compilers, linkers and their flags.
    "CC",
    "CXX",
    "CPP",
    "LD",
    "AR",
    "NM",
    "RANLIB",
    "STRIP",
    "CFLAGS",
    "CXXFLAGS",
    "CPPFLAGS",
    "LDFLAGS",
    "LDLIBS",
    "MAKE",
    "MAKEFLAGS",
    "JOBS",
    "CMAKE_GENERATOR",
    "PKG_CONFIG",
    "PKG_CONFIG_PATH",
    "PKG_CONFIG_LIBDIR",
    "PKG_CONFIG_SYSROOT_DIR",
    // Toolchains builds call.
    "PYTHON",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "JAVA_HOME",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "GOPATH",
    "GOCACHE",
    // Certificates and proxies (without their passwords).
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
];

/// The same, by prefix: locale, npm's lifecycle and configuration, node,
/// node-gyp, pip's configuration, XDG directories.
const PASSED_PREFIXES: &[&str] = &[
    "LC_",
    "npm_config_",
    "npm_lifecycle_",
    "npm_package_",
    "npm_node_",
    "npm_execpath",
    "NODE_",
    "GYP_",
    "PIP_",
    "XDG_",
    "PYTHONPATH",
    "PYTHONHOME",
];

/// The environment approved code runs with, built from an allow-list:
/// what builds and install scripts need (`PATH`, `HOME`, locale, temp
/// directories, compilers and their flags, `pkg-config`, npm and node-gyp
/// settings, pip's settings, proxies), never a name that looks like a
/// secret, and every URL without its user name and password. The policy's
/// `keep-env` passes more, as they are; its `hide-env` takes any away.
pub fn approved_env(
    vars: &BTreeMap<String, String>,
    hide: &[String],
    keep: &[String],
) -> Vec<(String, String)> {
    vars.iter()
        .filter(|(k, _)| !hide.contains(k))
        .filter_map(|(k, v)| {
            if keep.contains(k) {
                return Some((k.clone(), v.clone()));
            }
            let passed =
                PASSED.contains(&k.as_str()) || PASSED_PREFIXES.iter().any(|p| k.starts_with(p));
            (passed && !is_secret_name(k)).then(|| (k.clone(), without_credentials(v)))
        })
        .collect()
}

/// A value with the user name and password taken out of any URL in it.
fn without_credentials(value: &str) -> String {
    value
        .split_inclusive([' ', ',', ';'])
        .map(|part| {
            let (word, sep) = part.split_at(part.trim_end_matches([' ', ',', ';']).len());
            match url::Url::parse(word) {
                Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
                    let _ = u.set_username("");
                    let _ = u.set_password(None);
                    format!("{u}{sep}")
                }
                _ => part.to_owned(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approved_code_gets_what_builds_need_and_no_secret() {
        let vars: BTreeMap<String, String> = [
            ("PATH", "/bin"),
            ("HOME", "/h"),
            ("LC_ALL", "C.UTF-8"),
            ("CFLAGS", "-O2"),
            ("npm_config_registry", "https://u:pw@mirror.test/npm/"),
            ("PIP_INDEX_URL", "https://u:pw@mirror.test/simple"),
            ("HTTPS_PROXY", "http://proxyuser:proxypw@proxy.test:3128"),
            (
                "PIP_EXTRA_INDEX_URL",
                "https://a:b@x.test/simple https://c.test/simple",
            ),
            ("NPM_TOKEN", "x"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
            ("CI_JOB_JWT", "x"),
            ("SENTRY_DSN", "https://key@sentry.test/1"),
            ("CUSTOM", "x"),
            ("npm_config_//r/:_authToken", "x"),
            ("npm_config__auth", "x"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let env: BTreeMap<String, String> = approved_env(&vars, &["CFLAGS".to_owned()], &[])
            .into_iter()
            .collect();
        let names: Vec<&str> = env.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "HOME",
                "HTTPS_PROXY",
                "LC_ALL",
                "PATH",
                "PIP_EXTRA_INDEX_URL",
                "PIP_INDEX_URL",
                "npm_config_registry"
            ]
        );
        assert_eq!(env["npm_config_registry"], "https://mirror.test/npm/");
        assert_eq!(env["PIP_INDEX_URL"], "https://mirror.test/simple");
        assert_eq!(env["HTTPS_PROXY"], "http://proxy.test:3128/");
        assert_eq!(
            env["PIP_EXTRA_INDEX_URL"],
            "https://x.test/simple https://c.test/simple"
        );
        // `keep-env` passes more, as it is.
        let env = approved_env(&vars, &[], &["SENTRY_DSN".to_owned()]);
        assert!(
            env.iter()
                .any(|(k, v)| k == "SENTRY_DSN" && v.contains("key@"))
        );
    }
}
