//! URLs that cannot leak credentials.
//!
//! Index URLs carry passwords (`https://user:secret@host/simple`) and some
//! mirrors put a token in the user name. Every URL warden prints, logs or
//! stores in an error goes through [`RedactedUrl`], whose `Display` and
//! `Debug` hide the user-info part. The raw URL is only reachable through
//! [`RedactedUrl::expose`], which the HTTP layer calls when it sends.

use std::fmt;

use url::Url;

/// A URL whose user name and password never appear when it is formatted.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RedactedUrl(Box<Url>);

impl RedactedUrl {
    pub fn parse(s: &str) -> Result<Self, url::ParseError> {
        Url::parse(s).map(|u| Self(Box::new(u)))
    }

    pub fn new(url: Url) -> Self {
        Self(Box::new(url))
    }

    /// The real URL, credentials included. Only for sending a request.
    pub fn expose(&self) -> &Url {
        &self.0
    }

    /// The credentials embedded in the URL, if any.
    pub fn credentials(&self) -> Option<(String, Option<String>)> {
        if self.0.username().is_empty() && self.0.password().is_none() {
            return None;
        }
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        Some((decode(self.0.username()), self.0.password().map(decode)))
    }

    /// The same URL with user-info removed, safe to store and compare.
    pub fn without_credentials(&self) -> Url {
        let mut url = (*self.0).clone();
        // Setting these fails only for URLs that cannot have credentials,
        // which then have none to remove.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url
    }

    /// Resolves `reference` (absolute or relative, as mirrors serve file
    /// links) against this URL.
    pub fn join(&self, reference: &str) -> Result<Self, url::ParseError> {
        self.0.join(reference).map(Self::new)
    }

    /// This URL as a directory: with exactly one trailing slash, so that
    /// joining a name appends to it instead of replacing the last segment.
    pub fn as_directory(&self) -> Self {
        let mut url = self.0.clone();
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Self(url)
    }

    pub fn host_str(&self) -> Option<&str> {
        self.0.host_str()
    }

    pub fn scheme(&self) -> &str {
        self.0.scheme()
    }

    pub fn path(&self) -> &str {
        self.0.path()
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.username().is_empty() && self.0.password().is_none() {
            return f.write_str(self.0.as_str());
        }
        let mut shown = (*self.0).clone();
        let _ = shown.set_username("****");
        if self.0.password().is_some() {
            let _ = shown.set_password(Some("****"));
        }
        f.write_str(shown.as_str())
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedactedUrl({self})")
    }
}

impl serde::Serialize for RedactedUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Replaces every occurrence of each secret in `text` with `****`.
///
/// For text that did not come from a [`RedactedUrl`]: messages from a
/// package manager or an HTTP library that may quote a token.
pub fn redact_secrets(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret.as_str(), "****");
    }
    out
}

/// `text` with every URL's user name and password replaced by `****`, and
/// the value of every credential setting (`//host/:_authToken=…`,
/// `:_auth=`, `:_password=`, `:username=`) too: for command lines and
/// messages of other tools, which may carry credentials anywhere.
pub fn redact_text(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(redact_word)
        .collect()
}

fn redact_word(word: &str) -> String {
    const SECRET_KEYS: &[&str] = &[":_authToken=", ":_auth=", ":_password=", ":username="];
    let (body, space) = word.split_at(word.trim_end().len());
    if let Some(at) = SECRET_KEYS
        .iter()
        .find_map(|k| body.find(k).map(|i| i + k.len()))
    {
        return format!("{}****{space}", &body[..at]);
    }
    let Some(i) = body.find("://") else {
        return word.to_owned();
    };
    let start = body[..i]
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+.-".contains(c)))
        .map_or(0, |j| j + 1);
    let end = body[i..]
        .find(|c: char| "\"'<>`".contains(c))
        .map_or(body.len(), |j| i + j);
    match RedactedUrl::parse(&body[start..end]) {
        Ok(url) if url.credentials().is_some() => {
            format!("{}{url}{}{space}", &body[..start], &body[end..])
        }
        _ => word.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_anywhere_in_text_are_hidden() {
        let text = "npm install --registry=http://user:pw@r.test/npm/ --//r.test/npm/:_authToken=abc123\n\
                    pkg @ https://u:secret@h.test/p.whl and 'https://x:y@q.test/a' http://plain.test/";
        let shown = redact_text(text);
        for secret in ["pw@", "abc123", "secret", "x:y@"] {
            assert!(!shown.contains(secret), "{secret}: {shown}");
        }
        assert!(shown.contains("--//r.test/npm/:_authToken=****"), "{shown}");
        assert!(shown.contains("http://plain.test/"), "{shown}");
        assert!(shown.contains("\n"), "line breaks kept: {shown}");
    }

    #[test]
    fn hides_password_and_user() {
        let url = RedactedUrl::parse("https://alice:s3cret@mirror.example.org/simple/").unwrap();
        let shown = url.to_string();
        assert_eq!(shown, "https://****:****@mirror.example.org/simple/");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert!(!format!("{url:?}").contains("alice"));
        assert!(!serde_json::to_string(&url).unwrap().contains("s3cret"));
        assert_eq!(
            url.credentials(),
            Some(("alice".to_owned(), Some("s3cret".to_owned())))
        );
    }

    #[test]
    fn hides_token_in_user_name() {
        let url = RedactedUrl::parse("https://tok_abcdef@mirror.example.org/simple/").unwrap();
        assert_eq!(url.to_string(), "https://****@mirror.example.org/simple/");
    }

    #[test]
    fn plain_url_unchanged() {
        let url = RedactedUrl::parse("http://127.0.0.1:8080/npm/").unwrap();
        assert_eq!(url.to_string(), "http://127.0.0.1:8080/npm/");
        assert_eq!(url.credentials(), None);
    }

    #[test]
    fn percent_encoded_credentials_are_decoded_for_sending() {
        let url = RedactedUrl::parse("https://u%40x:p%2Fw@mirror.example.org/").unwrap();
        assert_eq!(
            url.credentials(),
            Some(("u@x".to_owned(), Some("p/w".to_owned())))
        );
    }

    #[test]
    fn joins_relative_file_links() {
        let page = RedactedUrl::parse("http://127.0.0.1:1/simple/demo/").unwrap();
        assert_eq!(
            page.join("../../files/demo-1.0.tar.gz")
                .unwrap()
                .to_string(),
            "http://127.0.0.1:1/files/demo-1.0.tar.gz"
        );
        let dir = RedactedUrl::parse("http://127.0.0.1:1/npm")
            .unwrap()
            .as_directory();
        assert_eq!(dir.join("left-pad").unwrap().path(), "/npm/left-pad");
    }

    #[test]
    fn redacts_free_text() {
        let text = "npm error 401 for token npm_abcdef1234";
        assert_eq!(
            redact_secrets(text, &["npm_abcdef1234".to_owned()]),
            "npm error 401 for token ****"
        );
    }
}
