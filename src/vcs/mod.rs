//! Pull-request comments on GitHub and GitLab: where a CI job's pull request (or merge
//! request) is ([`PullRequest::resolve`], from the CI's own variables or flags), a REST
//! client for its comments ([`Client`]: list, create, update, delete, with retries and
//! explained refusals), and the sticky-comment protocol ([`sticky`]: one comment per
//! environment, found again by a hidden marker and edited in place, with continuation
//! pages that come and go as the plan grows and shrinks; Atlantis and tfcmt users' asks,
//! `gitops-anchors.md` §2).
//!
//! A front-end concern: the core never imports this module. It reads no process state
//! either: variables and files come through the lookups its callers pass.

mod client;
pub mod sticky;

pub use client::{Client, Comment};

use serde_json::Value;

/// The code forge hosting the pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Provider {
    /// GitHub (or GitHub Enterprise Server): pull-request comments through
    /// `/repos/{owner}/{repo}/issues/{number}/comments`.
    #[value(name = "github")]
    GitHub,
    /// GitLab (gitlab.com or self-managed): merge-request notes through
    /// `/projects/{id}/merge_requests/{iid}/notes`.
    #[value(name = "gitlab")]
    GitLab,
}

impl Provider {
    /// `GitHub` or `GitLab`, for messages.
    pub fn product(self) -> &'static str {
        match self {
            Provider::GitHub => "GitHub",
            Provider::GitLab => "GitLab",
        }
    }

    /// The variable the API token is read from: `GITHUB_TOKEN` or `GITLAB_TOKEN`.
    pub fn token_variable(self) -> &'static str {
        match self {
            Provider::GitHub => "GITHUB_TOKEN",
            Provider::GitLab => "GITLAB_TOKEN",
        }
    }

    /// The public API's base URL: `https://api.github.com`, `https://gitlab.com/api/v4`.
    pub fn default_api_url(self) -> &'static str {
        match self {
            Provider::GitHub => "https://api.github.com",
            Provider::GitLab => "https://gitlab.com/api/v4",
        }
    }

    /// "pull request" or "merge request".
    pub fn noun(self) -> &'static str {
        match self {
            Provider::GitHub => "pull request",
            Provider::GitLab => "merge request",
        }
    }
}

/// What the user gave on the command line; each one overrides the CI's variable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// The forge.
    pub provider: Option<Provider>,
    /// `owner/name` (GitHub); the project's numeric id or `group/project` path (GitLab).
    pub repository: Option<String>,
    /// The pull request's number (GitHub) or merge request's IID (GitLab).
    pub number: Option<u64>,
    /// The API's base URL (GitHub: the REST root; GitLab: the `/api/v4` root).
    pub api_url: Option<String>,
}

/// The pull request (or merge request) a comment goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// The forge.
    pub provider: Provider,
    /// The API's base URL, without a trailing `/`.
    pub api_url: String,
    /// `owner/name` (GitHub); the project's id or path (GitLab).
    pub repository: String,
    /// The pull request's number, the merge request's IID.
    pub number: u64,
}

impl PullRequest {
    /// Works out the pull request from `overrides`, then the CI's variables (`env`):
    ///
    /// * forge: `GITHUB_ACTIONS=true` → GitHub, `GITLAB_CI=true` → GitLab;
    /// * GitHub: `GITHUB_REPOSITORY`; the number from `GITHUB_REF` (`refs/pull/N/merge`),
    ///   else from the event payload at `GITHUB_EVENT_PATH` (`pull_request.number`, read
    ///   with `read_file`); `GITHUB_API_URL`, else `https://api.github.com`;
    /// * GitLab: `CI_PROJECT_ID` (else `CI_PROJECT_PATH`), `CI_MERGE_REQUEST_IID`,
    ///   `CI_API_V4_URL`, else `https://gitlab.com/api/v4`.
    ///
    /// Errors say which flag or variable is missing.
    pub fn resolve(
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
        read_file: &dyn Fn(&str) -> Option<String>,
    ) -> Result<PullRequest, String> {
        let var = |name: &str| env(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let provider = match overrides.provider {
            Some(p) => p,
            None if var("GITHUB_ACTIONS").as_deref() == Some("true") => Provider::GitHub,
            None if var("GITLAB_CI").as_deref() == Some("true") => Provider::GitLab,
            None => {
                return Err("cannot tell where to comment: not in GitHub Actions (GITHUB_ACTIONS) nor GitLab CI \
                            (GITLAB_CI); give --comment-provider github|gitlab"
                    .into());
            }
        };
        let (repo_vars, number_var, api_var): (&[&str], &str, &str) = match provider {
            Provider::GitHub => (&["GITHUB_REPOSITORY"], "GITHUB_REF", "GITHUB_API_URL"),
            Provider::GitLab => (&["CI_PROJECT_ID", "CI_PROJECT_PATH"], "CI_MERGE_REQUEST_IID", "CI_API_V4_URL"),
        };
        let repository =
            overrides.repository.clone().or_else(|| repo_vars.iter().find_map(|v| var(v))).ok_or_else(|| {
                format!("no repository to comment on: give --comment-repository or set {}", repo_vars.join(" or "))
            })?;
        let number = match (overrides.number, provider) {
            (Some(n), _) => Some(n),
            (None, Provider::GitHub) => var(number_var)
                .as_deref()
                .and_then(github_ref_number)
                .or_else(|| var("GITHUB_EVENT_PATH").and_then(|p| read_file(&p)).and_then(|t| event_number(&t))),
            (None, Provider::GitLab) => var(number_var).and_then(|n| n.parse().ok()),
        };
        let Some(number) = number else {
            return Err(format!(
                "no {} to comment on: give --comment-pr N, or run on {} (this job's {} says none)",
                provider.noun(),
                match provider {
                    Provider::GitHub => "a pull_request event",
                    Provider::GitLab => "a merge request pipeline",
                },
                match provider {
                    Provider::GitHub => "GITHUB_REF / GITHUB_EVENT_PATH",
                    Provider::GitLab => "CI_MERGE_REQUEST_IID",
                },
            ));
        };
        let api_url = overrides
            .api_url
            .clone()
            .or_else(|| var(api_var))
            .unwrap_or_else(|| provider.default_api_url().to_owned())
            .trim_end_matches('/')
            .to_owned();
        url::Url::parse(&api_url).map_err(|e| format!("invalid API URL `{api_url}`: {e}"))?;
        Ok(PullRequest { provider, api_url, repository, number })
    }

    /// `owner/name#12` or `group/project!12`, for messages.
    pub fn label(&self) -> String {
        let sep = if self.provider == Provider::GitHub { '#' } else { '!' };
        format!("{}{sep}{}", self.repository, self.number)
    }
}

/// `N` of `refs/pull/N/merge` (or `/head`).
fn github_ref_number(r: &str) -> Option<u64> {
    let rest = r.strip_prefix("refs/pull/")?;
    rest.split('/').next()?.parse().ok()
}

/// The pull request's number in a GitHub event payload.
fn event_number(text: &str) -> Option<u64> {
    let v: Value = serde_json::from_str(text).ok()?;
    v.pointer("/pull_request/number").or_else(|| v.pointer("/issue/number")).and_then(Value::as_u64)
}

/// Why a comment could not be posted, explained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VcsError {
    /// The client could not be built (a bad URL or token).
    #[error("{0}")]
    Config(String),
    /// The forge refused a request; the text says what the status means and what to do.
    #[error("{0}")]
    Refused(String),
    /// No answer after the retries, or a rate limit longer than gateform waits.
    #[error("{0}")]
    Unavailable(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn resolve(vars: &[(&str, &str)], files: &[(&str, &str)], o: &Overrides) -> Result<PullRequest, String> {
        let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let files: BTreeMap<String, String> = files.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        PullRequest::resolve(o, &|k| vars.get(k).cloned(), &|p| files.get(p).cloned())
    }

    #[test]
    fn github_actions_variables() {
        let base = [("GITHUB_ACTIONS", "true"), ("GITHUB_REPOSITORY", "acme/gw")];
        let pr = resolve(&[base[0], base[1], ("GITHUB_REF", "refs/pull/42/merge")], &[], &Overrides::default());
        assert_eq!(
            pr.unwrap(),
            PullRequest {
                provider: Provider::GitHub,
                api_url: "https://api.github.com".into(),
                repository: "acme/gw".into(),
                number: 42
            }
        );
        // pull_request_target: GITHUB_REF is the base branch; the payload has the number.
        let vars = [base[0], base[1], ("GITHUB_REF", "refs/heads/main"), ("GITHUB_EVENT_PATH", "/ev.json")];
        let pr = resolve(&vars, &[("/ev.json", r#"{"pull_request": {"number": 7}}"#)], &Overrides::default());
        assert_eq!(pr.unwrap().number, 7);
        let e = resolve(&[base[0], base[1], ("GITHUB_REF", "refs/heads/main")], &[], &Overrides::default());
        assert!(e.unwrap_err().contains("give --comment-pr N"));
        let o = Overrides { number: Some(3), api_url: Some("http://127.0.0.1:1/api/".into()), ..Overrides::default() };
        let pr = resolve(&base, &[], &o).unwrap();
        assert_eq!((pr.number, pr.api_url.as_str(), pr.label()), (3, "http://127.0.0.1:1/api", "acme/gw#3".into()));
    }

    #[test]
    fn gitlab_ci_variables() {
        let vars = [
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_ID", "1234"),
            ("CI_MERGE_REQUEST_IID", "9"),
            ("CI_API_V4_URL", "https://gitlab.example/api/v4"),
        ];
        let pr = resolve(&vars, &[], &Overrides::default()).unwrap();
        assert_eq!(pr.provider, Provider::GitLab);
        assert_eq!((pr.repository.as_str(), pr.number, pr.label()), ("1234", 9, "1234!9".into()));
        assert_eq!(pr.api_url, "https://gitlab.example/api/v4");
        let e = resolve(&vars[..2], &[], &Overrides::default()).unwrap_err();
        assert!(e.contains("no merge request") && e.contains("CI_MERGE_REQUEST_IID"), "{e}");
    }

    #[test]
    fn outside_ci_the_flags_are_needed() {
        let e = resolve(&[], &[], &Overrides::default()).unwrap_err();
        assert!(e.contains("--comment-provider"), "{e}");
        let o = Overrides { provider: Some(Provider::GitHub), ..Overrides::default() };
        assert!(resolve(&[], &[], &o).unwrap_err().contains("--comment-repository"));
    }
}
