//! The schema files bundled into the binary (`schemas/kong/`), listed by name.
//! Generated from the directory listing; keep it sorted.

/// `(entity name, JSON)` for every file of `schemas/kong/entities/` (Kong OSS 3.9.3).
pub(crate) const ENTITIES: &[(&str, &str)] = &[
    ("acls", include_str!("../../../schemas/kong/entities/acls.json")),
    ("basicauth_credentials", include_str!("../../../schemas/kong/entities/basicauth_credentials.json")),
    ("ca_certificates", include_str!("../../../schemas/kong/entities/ca_certificates.json")),
    ("certificates", include_str!("../../../schemas/kong/entities/certificates.json")),
    ("consumers", include_str!("../../../schemas/kong/entities/consumers.json")),
    ("hmacauth_credentials", include_str!("../../../schemas/kong/entities/hmacauth_credentials.json")),
    ("jwt_secrets", include_str!("../../../schemas/kong/entities/jwt_secrets.json")),
    ("key_sets", include_str!("../../../schemas/kong/entities/key_sets.json")),
    ("keyauth_credentials", include_str!("../../../schemas/kong/entities/keyauth_credentials.json")),
    ("keys", include_str!("../../../schemas/kong/entities/keys.json")),
    ("oauth2_credentials", include_str!("../../../schemas/kong/entities/oauth2_credentials.json")),
    ("plugins", include_str!("../../../schemas/kong/entities/plugins.json")),
    ("routes", include_str!("../../../schemas/kong/entities/routes.json")),
    ("services", include_str!("../../../schemas/kong/entities/services.json")),
    ("snis", include_str!("../../../schemas/kong/entities/snis.json")),
    ("targets", include_str!("../../../schemas/kong/entities/targets.json")),
    ("upstreams", include_str!("../../../schemas/kong/entities/upstreams.json")),
    ("vaults", include_str!("../../../schemas/kong/entities/vaults.json")),
];

/// `(plugin name, JSON)` for every file of `schemas/kong/plugins/` (the 45 bundled plugins).
pub(crate) const PLUGINS: &[(&str, &str)] = &[
    ("acl", include_str!("../../../schemas/kong/plugins/acl.json")),
    ("acme", include_str!("../../../schemas/kong/plugins/acme.json")),
    ("ai-prompt-decorator", include_str!("../../../schemas/kong/plugins/ai-prompt-decorator.json")),
    ("ai-prompt-guard", include_str!("../../../schemas/kong/plugins/ai-prompt-guard.json")),
    ("ai-prompt-template", include_str!("../../../schemas/kong/plugins/ai-prompt-template.json")),
    ("ai-proxy", include_str!("../../../schemas/kong/plugins/ai-proxy.json")),
    ("ai-request-transformer", include_str!("../../../schemas/kong/plugins/ai-request-transformer.json")),
    ("ai-response-transformer", include_str!("../../../schemas/kong/plugins/ai-response-transformer.json")),
    ("aws-lambda", include_str!("../../../schemas/kong/plugins/aws-lambda.json")),
    ("azure-functions", include_str!("../../../schemas/kong/plugins/azure-functions.json")),
    ("basic-auth", include_str!("../../../schemas/kong/plugins/basic-auth.json")),
    ("bot-detection", include_str!("../../../schemas/kong/plugins/bot-detection.json")),
    ("correlation-id", include_str!("../../../schemas/kong/plugins/correlation-id.json")),
    ("cors", include_str!("../../../schemas/kong/plugins/cors.json")),
    ("datadog", include_str!("../../../schemas/kong/plugins/datadog.json")),
    ("file-log", include_str!("../../../schemas/kong/plugins/file-log.json")),
    ("grpc-gateway", include_str!("../../../schemas/kong/plugins/grpc-gateway.json")),
    ("grpc-web", include_str!("../../../schemas/kong/plugins/grpc-web.json")),
    ("hmac-auth", include_str!("../../../schemas/kong/plugins/hmac-auth.json")),
    ("http-log", include_str!("../../../schemas/kong/plugins/http-log.json")),
    ("ip-restriction", include_str!("../../../schemas/kong/plugins/ip-restriction.json")),
    ("jwt", include_str!("../../../schemas/kong/plugins/jwt.json")),
    ("key-auth", include_str!("../../../schemas/kong/plugins/key-auth.json")),
    ("ldap-auth", include_str!("../../../schemas/kong/plugins/ldap-auth.json")),
    ("loggly", include_str!("../../../schemas/kong/plugins/loggly.json")),
    ("oauth2", include_str!("../../../schemas/kong/plugins/oauth2.json")),
    ("opentelemetry", include_str!("../../../schemas/kong/plugins/opentelemetry.json")),
    ("post-function", include_str!("../../../schemas/kong/plugins/post-function.json")),
    ("pre-function", include_str!("../../../schemas/kong/plugins/pre-function.json")),
    ("prometheus", include_str!("../../../schemas/kong/plugins/prometheus.json")),
    ("proxy-cache", include_str!("../../../schemas/kong/plugins/proxy-cache.json")),
    ("rate-limiting", include_str!("../../../schemas/kong/plugins/rate-limiting.json")),
    ("redirect", include_str!("../../../schemas/kong/plugins/redirect.json")),
    ("request-size-limiting", include_str!("../../../schemas/kong/plugins/request-size-limiting.json")),
    ("request-termination", include_str!("../../../schemas/kong/plugins/request-termination.json")),
    ("request-transformer", include_str!("../../../schemas/kong/plugins/request-transformer.json")),
    ("response-ratelimiting", include_str!("../../../schemas/kong/plugins/response-ratelimiting.json")),
    ("response-transformer", include_str!("../../../schemas/kong/plugins/response-transformer.json")),
    ("session", include_str!("../../../schemas/kong/plugins/session.json")),
    ("standard-webhooks", include_str!("../../../schemas/kong/plugins/standard-webhooks.json")),
    ("statsd", include_str!("../../../schemas/kong/plugins/statsd.json")),
    ("syslog", include_str!("../../../schemas/kong/plugins/syslog.json")),
    ("tcp-log", include_str!("../../../schemas/kong/plugins/tcp-log.json")),
    ("udp-log", include_str!("../../../schemas/kong/plugins/udp-log.json")),
    ("zipkin", include_str!("../../../schemas/kong/plugins/zipkin.json")),
];

/// Enterprise-only entity schemas authored by gateform (`schemas/kong/enterprise/`).
pub(crate) const ENTERPRISE_ENTITIES: &[(&str, &str)] = &[
    ("consumer_group_consumers", include_str!("../../../schemas/kong/enterprise/consumer_group_consumers.json")),
    ("consumer_groups", include_str!("../../../schemas/kong/enterprise/consumer_groups.json")),
    ("mtls_auth_credentials", include_str!("../../../schemas/kong/enterprise/mtls_auth_credentials.json")),
];

/// The Enterprise `consumer_group` field of `plugins`, as a one-field object.
pub(crate) const PLUGIN_CONSUMER_GROUP_FIELD: &str =
    include_str!("../../../schemas/kong/enterprise/plugins.consumer_group.json");
