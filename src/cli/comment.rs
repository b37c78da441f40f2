//! `gateform plan --comment`: the plan as one sticky comment on the job's pull request
//! (GitHub) or merge request (GitLab), edited in place on every push ([`crate::vcs`]).
//!
//! The forge, repository and number come from the CI's variables (flags override them),
//! the token from `GITHUB_TOKEN` / `GITLAB_TOKEN` (never a flag, so it never reaches a
//! process list or the ledger). The body is the Markdown plan, split into pages of at most
//! `--comment-max-chars`; a plan without changes is one line; a plan that failed says why.
//! Every page is scrubbed with the run's redactor before it is sent.

use std::time::Duration;

use clap::Args;
use clap::builder::TypedValueParser as _;

use super::output::{errln, redactor, scrub};
use crate::plan::Plan;
use crate::render::markdown::{self, Header};
use crate::vcs::{Client, Overrides, Provider, PullRequest, sticky};

/// Room kept on every page for the marker and the note about pages not posted.
const PAGE_ROOM: usize = 400;

/// The comment's flags (of `gateform plan`).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Pull-request comment")]
pub struct CommentArgs {
    /// Post the plan as a sticky comment on the CI job's pull request (GitHub) or merge
    /// request (GitLab): one comment per environment, edited in place on every push. The
    /// token comes from GITHUB_TOKEN or GITLAB_TOKEN.
    #[arg(long)]
    pub comment: bool,
    /// The forge. Default: GitHub in GitHub Actions (GITHUB_ACTIONS), GitLab in GitLab CI
    /// (GITLAB_CI).
    #[arg(long, value_enum, value_name = "PROVIDER", requires = "comment")]
    pub comment_provider: Option<Provider>,
    /// GitHub's `owner/name`, or GitLab's project id or `group/project` path. Default:
    /// GITHUB_REPOSITORY; CI_PROJECT_ID.
    #[arg(long, value_name = "REPOSITORY", requires = "comment")]
    pub comment_repository: Option<String>,
    /// The pull request's number, or the merge request's IID. Default: from GITHUB_REF
    /// (refs/pull/N/merge) or the event payload; CI_MERGE_REQUEST_IID.
    #[arg(long, value_name = "N", requires = "comment")]
    pub comment_pr: Option<u64>,
    /// The API's base URL (GitHub Enterprise: https://HOST/api/v3; GitLab: https://HOST/api/v4).
    /// Default: GITHUB_API_URL, else https://api.github.com; CI_API_V4_URL, else
    /// https://gitlab.com/api/v4.
    #[arg(long, value_name = "URL", requires = "comment")]
    pub comment_api_url: Option<String>,
    /// The longest comment, in characters (GitHub takes 65,536; GitLab 1,000,000). A longer
    /// plan continues in further comments that follow the first.
    #[arg(long, value_name = "CHARS", default_value_t = markdown::COMMENT_LIMIT,
          value_parser = clap::value_parser!(u64).range(2000..=1_000_000).map(|v| v as usize))]
    pub comment_max_chars: usize,
    /// The most comments one plan takes; the last one says how much was left out.
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=100).map(|v| v as usize))]
    pub comment_max_pages: usize,
}

/// Posting to the forge failed (so a failed plan is not posted either).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct PostError(#[from] crate::vcs::VcsError);

/// Posts plans to one pull request.
pub struct Poster {
    client: Client,
    max_chars: usize,
    max_pages: usize,
}

impl CommentArgs {
    /// The poster `--comment` asks for, checked before anything is planned: the forge, the
    /// pull request and the token are known. `None` without `--comment`.
    pub fn poster(&self) -> anyhow::Result<Option<Poster>> {
        if !self.comment {
            return Ok(None);
        }
        let overrides = Overrides {
            provider: self.comment_provider,
            repository: self.comment_repository.clone(),
            number: self.comment_pr,
            api_url: self.comment_api_url.clone(),
        };
        let env = |name: &str| std::env::var(name).ok();
        let read = |path: &str| std::fs::read_to_string(path).ok();
        let pr = PullRequest::resolve(&overrides, &env, &read).map_err(anyhow::Error::msg)?;
        let var = pr.provider.token_variable();
        let Some(token) = env(var).filter(|t| !t.trim().is_empty()) else {
            anyhow::bail!(
                "--comment needs a token in {var}{}",
                match pr.provider {
                    Provider::GitHub => ": in GitHub Actions, `env: GITHUB_TOKEN: ${{ github.token }}`",
                    Provider::GitLab => ": a project or personal access token with the `api` scope",
                }
            );
        };
        redactor().add([token.clone()]);
        let client = Client::new(pr, token, Duration::from_secs(30))?;
        Ok(Some(Poster { client, max_chars: self.comment_max_chars, max_pages: self.comment_max_pages }))
    }
}

impl Poster {
    /// Posts `plan` as environment `header.environment`'s sticky comment.
    pub async fn post_plan(&self, plan: &Plan, header: &Header) -> anyhow::Result<()> {
        let key = comment_key(header.environment.as_deref());
        let bodies = if plan.is_empty() {
            vec![markdown::one_line(header)]
        } else {
            let limit = self.max_chars.saturating_sub(PAGE_ROOM);
            let mut pages = markdown::pages(plan, header, limit);
            if pages.len() > self.max_pages {
                let left = pages.len() - self.max_pages;
                pages.truncate(self.max_pages);
                if let Some(last) = pages.last_mut() {
                    last.push_str(&format!(
                        "\n> [!NOTE]\n> {left} more part{} of this plan {} not posted (--comment-max-pages {}): \
                         read the whole plan in the job's log or its saved plan.\n",
                        if left == 1 { "" } else { "s" },
                        if left == 1 { "is" } else { "are" },
                        self.max_pages
                    ));
                }
            }
            pages
        };
        self.post(&key, bodies).await
    }

    async fn post(&self, key: &str, bodies: Vec<String>) -> anyhow::Result<()> {
        let pages: Vec<String> =
            bodies.iter().enumerate().map(|(i, b)| scrub(&format!("{}\n{b}", sticky::marker(key, i + 1)))).collect();
        let done = sticky::sync(&self.client, key, &pages).await.map_err(PostError::from)?;
        let pr = self.client.pull_request();
        errln(&format!(
            "Posted the plan to {} {}: {} page{} ({} new, {} edited, {} unchanged), {} old page{} removed.",
            pr.provider.noun(),
            pr.label(),
            pages.len(),
            if pages.len() == 1 { "" } else { "s" },
            done.created,
            done.updated,
            done.unchanged,
            done.deleted,
            if done.deleted == 1 { "" } else { "s" },
        ));
        Ok(())
    }
}

/// Posts that the plan of `environment` failed with `error`, so the sticky comment never
/// shows a plan that no longer holds; returns `error` (with the posting's own failure
/// added, if any). A failure to post is not posted again.
pub async fn post_failure(poster: &Poster, environment: Option<&str>, error: anyhow::Error) -> anyhow::Error {
    if error.is::<PostError>() {
        return error;
    }
    let header = Header { environment: environment.map(str::to_owned), ..Header::default() };
    let body = markdown::failure(&header, &scrub(&format!("Error: {error:#}")));
    match poster.post(&comment_key(environment), vec![body]).await {
        Ok(()) => error,
        Err(e) => anyhow::anyhow!("{error:#}\n(the failure could not be posted either: {e:#})"),
    }
}

/// The sticky comment's key: the environment, or `default` for runs without `--env`.
fn comment_key(environment: Option<&str>) -> String {
    environment.unwrap_or("default").to_owned()
}
