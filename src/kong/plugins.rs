//! Which plugin names a configuration may use: offline, those Kong bundles and those
//! declared custom (`--custom-plugin NAME`, or the Kong option `custom_plugins` of an
//! environment in `gateform.toml`); against a gateway, only those its node can load
//! (`GET /` → `plugins.available_on_server`, `kong-admin-api.md` §3.1), so that a plan
//! never promises a create the gateway must refuse.

use std::collections::{BTreeMap, BTreeSet};

use super::schema::Schemas;

/// The Kong dialect's option naming custom plugins: names separated by commas or spaces.
pub const CUSTOM_PLUGINS_OPTION: &str = "custom_plugins";

/// The plugin names a configuration may use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginNames {
    /// Names declared custom: accepted offline without a schema (their `config` is not
    /// checked).
    pub custom: BTreeSet<String>,
    /// What the gateway can load, when a gateway was asked; then nothing else is accepted,
    /// bundled or not.
    pub available: Option<BTreeSet<String>>,
}

impl PluginNames {
    /// The names the Kong dialect's options declare. Errors: an option Kong does not have
    /// (its message names the ones it has).
    pub fn from_options(options: &BTreeMap<String, String>) -> Result<PluginNames, String> {
        if let Some(name) = options.keys().find(|k| k.as_str() != CUSTOM_PLUGINS_OPTION) {
            return Err(format!("the kong dialect has no option `{name}` (it has: {CUSTOM_PLUGINS_OPTION})"));
        }
        let custom = options
            .get(CUSTOM_PLUGINS_OPTION)
            .map(|v| v.split([',', ' ']).map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(PluginNames { custom, available: None })
    }

    /// These names, limited to what a gateway can load; an empty list (a gateway that does
    /// not say) limits nothing.
    pub fn on_gateway(mut self, available: &[String]) -> PluginNames {
        if !available.is_empty() {
            self.available = Some(available.iter().cloned().collect());
        }
        self
    }

    /// Why plugin `name` cannot be used, or `None` when it can.
    pub fn refusal(&self, name: &str, schemas: &Schemas) -> Option<String> {
        match &self.available {
            Some(available) if available.contains(name) => None,
            Some(available) => {
                let near = crate::source::suggest::nearest(name, available.iter().map(String::as_str))
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                Some(format!(
                    "plugin `{name}` is not available on the gateway ({} plugins are, in `GET /` → plugins.available_on_server); {near}a custom plugin must be installed and listed in the `plugins` setting of kong.conf",
                    available.len()
                ))
            }
            None if schemas.plugin(name).is_some() || self.custom.contains(name) => None,
            None => {
                let near = crate::source::suggest::nearest(name, schemas.plugin_names())
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                Some(format!(
                    "plugin `{name}` is neither bundled with Kong nor declared custom; {near}declare a custom one with `--custom-plugin {name}` or the option `{CUSTOM_PLUGINS_OPTION}` in gateform.toml"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn custom_names_are_split_on_commas_and_spaces() {
        let names = PluginNames::from_options(&options(&[("custom_plugins", "my-auth, my-log  extra")])).unwrap();
        assert_eq!(names.custom.iter().map(String::as_str).collect::<Vec<_>>(), ["extra", "my-auth", "my-log"]);
    }

    #[test]
    fn an_unknown_option_is_refused_by_name() {
        let e = PluginNames::from_options(&options(&[("reload", "group")])).unwrap_err();
        assert_eq!(e, "the kong dialect has no option `reload` (it has: custom_plugins)");
    }

    #[test]
    fn offline_bundled_and_declared_names_pass_and_others_are_refused_with_a_suggestion() {
        let schemas = Schemas::bundled();
        let names = PluginNames::from_options(&options(&[("custom_plugins", "my-auth")])).unwrap();
        assert_eq!(names.refusal("key-auth", schemas), None);
        assert_eq!(names.refusal("my-auth", schemas), None);
        let refused = names.refusal("key-auht", schemas).unwrap();
        assert!(refused.contains("did you mean `key-auth`?"), "{refused}");
        assert!(refused.contains("--custom-plugin key-auht"), "{refused}");
    }

    #[test]
    fn on_a_gateway_only_what_it_can_load_passes_even_when_bundled() {
        let schemas = Schemas::bundled();
        let names = PluginNames::default().on_gateway(&["key-auth".to_owned(), "my-auth".to_owned()]);
        assert_eq!(names.refusal("my-auth", schemas), None);
        let refused = names.refusal("rate-limiting", schemas).unwrap();
        assert!(
            refused.starts_with("plugin `rate-limiting` is not available on the gateway (2 plugins are"),
            "{refused}"
        );
        assert_eq!(PluginNames::default().on_gateway(&[]).available, None);
    }
}
