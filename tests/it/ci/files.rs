//! The CI definitions this repository ships: `action.yml`, the GitHub workflows and the
//! GitLab template parse as YAML, have the keys their CI requires, refer only to inputs,
//! steps and jobs that exist, and run exactly the gateform commands the README documents,
//! with flags the CLI has.

use std::collections::BTreeSet;
use std::path::Path;

use clap::CommandFactory;
use serde_json::Value;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn yaml(rel: &str) -> Value {
    gateform::source::yaml::parse(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e:?}")).to_json()
}

/// A gateform invocation reduced to its subcommand and the flags it names.
type Signature = (String, BTreeSet<String>);

/// The gateform invocations of shell text: lines that start a `gateform SUBCOMMAND`,
/// up to a pipe, redirection, `||`, `;` or comment.
fn invocations(script: &str) -> Vec<Signature> {
    let mut out = Vec::new();
    for line in script.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("- ").or(Some(line)).and_then(|l| l.strip_prefix("gateform ")) else {
            continue;
        };
        let mut words = Vec::new();
        for w in rest.split_whitespace() {
            if matches!(w, "|" | "||" | ">" | ";" | "#" | "&&") || w.starts_with('#') {
                break;
            }
            words.push(w);
        }
        let Some(sub) = words.first() else { continue };
        if sub.starts_with('-') {
            continue; // gateform --version
        }
        let flags = words[1..].iter().filter(|w| w.starts_with("--")).map(|w| w.to_string()).collect();
        out.push((sub.to_string(), flags));
    }
    out
}

/// Every `run:` / `script:` text in a parsed CI file.
fn scripts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("run" | "script" | "before_script", Value::String(s)) => out.push(s.clone()),
                    ("script" | "before_script", Value::Array(items)) => {
                        out.extend(items.iter().filter_map(Value::as_str).map(str::to_owned))
                    }
                    _ => scripts(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| scripts(i, out)),
        _ => {}
    }
}

fn ci_invocations(rel: &str) -> BTreeSet<Signature> {
    let mut texts = Vec::new();
    scripts(&yaml(rel), &mut texts);
    texts.iter().flat_map(|t| invocations(t)).collect()
}

/// The commands of the README's "Both pipelines run exactly these commands" block.
fn readme_invocations() -> BTreeSet<Signature> {
    let readme = read("README.md");
    let section = readme.split("\n## CI: plans on pull requests").nth(1).expect("the README has a CI section");
    let block = section.split("run exactly these commands").nth(1).expect("the CI section lists its commands");
    let block = block.split("```sh").nth(1).and_then(|b| b.split("```").next()).expect("a sh block");
    invocations(block).into_iter().collect()
}

#[test]
fn action_yml_is_a_composite_action_with_its_inputs_and_steps() {
    let text = read("action.yml");
    let a = yaml("action.yml");
    for key in ["name", "description"] {
        assert!(a[key].as_str().is_some_and(|s| !s.is_empty()), "action.yml needs `{key}`");
    }
    assert_eq!(a["runs"]["using"], "composite");
    let steps = a["runs"]["steps"].as_array().expect("runs.steps");
    assert!(steps.len() >= 5);
    let inputs = a["inputs"].as_object().expect("inputs");
    assert_eq!(inputs["environment"]["required"], Value::Bool(true));
    for (name, input) in inputs {
        assert!(input["description"].is_string(), "input {name} has no description");
    }
    for (name, output) in a["outputs"].as_object().expect("outputs") {
        assert!(output["value"].is_string(), "output {name} has no value");
    }
    let ids: BTreeSet<&str> = steps.iter().filter_map(|s| s["id"].as_str()).collect();
    for s in steps {
        assert!(s["run"].is_string() ^ s["uses"].is_string(), "a step runs or uses: {s}");
        if s["run"].is_string() {
            assert!(s["shell"].is_string(), "a composite run step needs `shell`: {s}");
        }
    }
    // Every ${{ inputs.X }} is an input, every steps.ID a step.
    for (prefix, known) in [("inputs.", inputs.keys().map(String::as_str).collect::<BTreeSet<_>>()), ("steps.", ids)] {
        for (i, _) in text.match_indices(prefix) {
            let name: String = text[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            assert!(known.contains(name.as_str()), "action.yml names {prefix}{name}, which does not exist");
        }
    }
    let commands: BTreeSet<String> = ci_invocations("action.yml").into_iter().map(|(s, _)| s).collect();
    assert_eq!(commands, ["apply", "drift", "plan", "validate"].map(String::from).into());
}

#[test]
fn the_gitlab_template_has_stages_jobs_and_rules() {
    let t = yaml("ci/gitlab/gateform.gitlab-ci.yml");
    let stages: Vec<&str> = t["stages"].as_array().expect("stages").iter().filter_map(Value::as_str).collect();
    let top = t.as_object().unwrap();
    let reserved = ["variables", "stages", "include", "default", "workflow"];
    let jobs: Vec<(&String, &Value)> =
        top.iter().filter(|(k, _)| !k.starts_with('.') && !reserved.contains(&k.as_str())).collect();
    assert_eq!(jobs.len(), 4, "validate, plan, apply, drift");
    for (name, job) in &jobs {
        let base = job["extends"].as_str().map(|e| &t[e]);
        assert!(base.is_none_or(Value::is_object), "{name} extends a job that does not exist");
        assert!(stages.contains(&job["stage"].as_str().unwrap_or("")), "{name}: its stage is not in `stages`");
        assert!(job["script"].as_array().is_some_and(|s| !s.is_empty()), "{name} has no script");
        assert!(job["rules"].as_array().is_some_and(|r| !r.is_empty()), "{name} has no rules");
    }
    assert!(t["gateform:plan"]["script"][0].as_str().unwrap().contains("--comment"));
    assert!(t["gateform:drift"]["rules"][0]["if"].as_str().unwrap().contains("schedule"));
    assert_eq!(t["gateform:apply"]["resource_group"], "gateform-$GATEFORM_ENV");
}

#[test]
fn the_github_workflows_use_the_action() {
    for rel in ["ci/github/gateform.yml", "ci/github/drift.yml"] {
        let w = yaml(rel);
        assert!(w["on"].is_object(), "{rel}: `on` (YAML 1.2 keeps it a string key)");
        let jobs = w["jobs"].as_object().expect("jobs");
        for (name, job) in jobs {
            assert!(job["runs-on"].is_string(), "{rel}: {name} has no runs-on");
            let steps = job["steps"].as_array().expect("steps");
            assert!(steps.iter().any(|s| s["uses"].as_str() == Some("OWNER/gateform@main")), "{rel}: {name}");
            assert!(steps.iter().any(|s| s["with"]["environment"].is_string()));
        }
    }
    assert!(yaml("ci/github/drift.yml")["on"]["schedule"][0]["cron"].is_string());
}

#[test]
fn the_pipelines_run_the_commands_the_readme_documents() {
    let documented = readme_invocations();
    let mut run = ci_invocations("action.yml");
    run.extend(ci_invocations("ci/gitlab/gateform.gitlab-ci.yml"));
    assert_eq!(run, documented, "CI runs {run:?}; the README documents {documented:?}");
    // ... and every flag is one the CLI has.
    let cli = gateform::cli::Cli::command();
    for (sub, flags) in &run {
        let cmd = cli.find_subcommand(sub).unwrap_or_else(|| panic!("no command {sub}"));
        let longs: BTreeSet<String> =
            cmd.get_arguments().filter_map(|a| a.get_long()).map(|l| format!("--{l}")).collect();
        for f in flags {
            assert!(longs.contains(f), "gateform {sub} has no {f}");
        }
    }
}

/// The YAML block of the README's CI section whose first line is `# NAME`.
fn readme_yaml(name: &str) -> Value {
    let readme = read("README.md");
    let section = readme.split("\n## CI: plans on pull requests").nth(1).expect("the README has a CI section");
    let start = format!("```yaml\n# {name}\n");
    let block = section.split(&start).nth(1).and_then(|b| b.split("\n```").next());
    let block = block.unwrap_or_else(|| panic!("the README's CI section has no {name} example"));
    gateform::source::yaml::parse(block).unwrap_or_else(|e| panic!("the README's {name}: {e:?}")).to_json()
}

#[test]
fn the_readme_examples_are_the_files_shipped() {
    // The GitHub workflow to copy is the one the repository ships (and init writes).
    assert_eq!(readme_yaml(".github/workflows/gateform.yml"), yaml("ci/github/gateform.yml"));
    // The GitLab include names the template where it is, and the variables it reads.
    let gitlab = readme_yaml(".gitlab-ci.yml");
    let include = &gitlab["include"][0];
    assert_eq!(include["file"], "ci/gitlab/gateform.gitlab-ci.yml");
    assert!(include["project"].is_string() && include["ref"].is_string(), "{include}");
    let template = yaml("ci/gitlab/gateform.gitlab-ci.yml");
    for (var, _) in gitlab["variables"].as_object().expect("variables") {
        assert!(template["variables"][var].is_string(), "the template does not read {var}");
    }
}
