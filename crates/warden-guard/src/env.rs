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

/// The environment for approved code: the current one without secrets
/// (and without the policy's `hide-env`), keeping its `keep-env`.
pub fn approved_env(
    vars: &BTreeMap<String, String>,
    hide: &[String],
    keep: &[String],
) -> Vec<(String, String)> {
    vars.iter()
        .filter(|(k, _)| keep.contains(k) || (!is_secret_name(k) && !hide.contains(k)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hidden_from_approved_code() {
        let vars: BTreeMap<String, String> = [
            ("PATH", "/bin"),
            ("HOME", "/h"),
            ("NPM_TOKEN", "x"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
            ("MY_SERVICE_PASSWORD", "x"),
            ("CUSTOM", "x"),
            ("CI_DEPLOY_AUTH", "x"),
            ("npm_config_//r/:_authToken", "x"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let env = approved_env(&vars, &["CUSTOM".to_owned()], &[]);
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["HOME", "PATH"]);
        let env = approved_env(&vars, &[], &["NPM_TOKEN".to_owned()]);
        assert!(env.iter().any(|(k, _)| k == "NPM_TOKEN"));
    }
}
