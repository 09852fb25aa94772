//! Every stable code the host can emit, with its meaning.
//!
//! Codes are part of the public contract: callers match on them, the audit
//! log records them, and the README's table is checked against [`ALL`] by a
//! test. Add a code here before emitting it anywhere.

/// A stable, machine-readable outcome code such as `limits.timeout`.
pub type Code = &'static str;

/// The code audit records carry for an allowed operation.
pub const OK: Code = "ok";

/// The input is larger than the input cap; the skill did not run.
pub const INPUT_TOO_LARGE: Code = "limits.input_too_large";
/// The input is not valid JSON; the skill did not run.
pub const INPUT_INVALID_JSON: Code = "input.invalid_json";
/// The skill used all its fuel (CPU budget) and was stopped.
pub const FUEL_EXHAUSTED: Code = "limits.fuel_exhausted";
/// The skill ran past its wall-clock deadline and was stopped.
pub const TIMEOUT: Code = "limits.timeout";
/// The skill tried to grow its memory (or a table) past the cap and was
/// stopped.
pub const MEMORY: Code = "limits.memory";
/// The skill's output is larger than the output cap; it was discarded.
pub const OUTPUT_TOO_LARGE: Code = "limits.output_too_large";
/// The invocation's outbound HTTP byte budget (`limits.egress_sent_bytes` or
/// `limits.egress_received_bytes`) is spent: a request that would pass it
/// was not sent, or a response that passed it was not returned.
pub const EGRESS_BYTES: Code = "limits.egress_bytes";
/// The skill returned something that is not JSON; it was discarded.
pub const OUTPUT_INVALID_JSON: Code = "output.invalid_json";
/// The skill trapped (panic, unreachable, stack overflow, ...); `trap` names
/// the kind.
pub const SKILL_TRAPPED: Code = "skill.trapped";
/// The skill returned its own error; its `skill_code` (only if it obeys the
/// skill-code grammar and is outside every host namespace) and message (control
/// characters escaped) are passed through, size-capped.
pub const SKILL_ERROR: Code = "skill.error";
/// The component targets a contract version this host does not support; both
/// are named.
pub const CONTRACT_VERSION_MISMATCH: Code = "contract.version_mismatch";
/// The file is not a valid skill component (not wasm, a core module, truncated,
/// wrong world, unknown imports).
pub const MODULE_INVALID: Code = "module.invalid";
/// An outbound request's URL could not be parsed; nothing was sent.
pub const EGRESS_BAD_URL: Code = "egress.bad_url";
/// An outbound request used a scheme other than http(s); nothing was sent.
pub const EGRESS_SCHEME_NOT_ALLOWED: Code = "egress.scheme_not_allowed";
/// An outbound request's destination is not granted to this skill; nothing was
/// sent.
pub const EGRESS_HOST_NOT_ALLOWED: Code = "egress.host_not_allowed";
/// The skill made more outbound requests than one invocation allows; nothing
/// was sent.
pub const EGRESS_TOO_MANY_REQUESTS: Code = "egress.too_many_requests";
/// An outbound request used a method outside GET, HEAD, POST, PUT, PATCH,
/// DELETE, OPTIONS; nothing was sent.
pub const EGRESS_BAD_METHOD: Code = "egress.bad_method";
/// An outbound request's URL carried user:password@; nothing was sent.
pub const EGRESS_USERINFO: Code = "egress.userinfo";
/// An outbound request's port is not the granted one; nothing was sent.
pub const EGRESS_PORT_NOT_ALLOWED: Code = "egress.port_not_allowed";
/// An outbound request's origin is granted, but no rule for it allows the
/// method; nothing was sent.
pub const EGRESS_METHOD_NOT_ALLOWED: Code = "egress.method_not_allowed";
/// An outbound request's origin and method are granted, but no such rule
/// allows the path (or the path cannot be matched safely: an encoded slash,
/// a backslash, a dot segment); nothing was sent.
pub const EGRESS_PATH_NOT_ALLOWED: Code = "egress.path_not_allowed";
/// A trial run (`skill trial`) refuses every outbound request before DNS;
/// the attempt was recorded for the owner's review.
pub const EGRESS_TRIAL: Code = "egress.trial";
/// The destination is, or resolves to, a loopback, private, link-local or other
/// special address; nothing was sent.
pub const EGRESS_PRIVATE_ADDRESS: Code = "egress.private_address";
/// An outbound request set a forbidden header (Host, hop-by-hop, proxy, a method or URL override), a
/// control character (CR, LF, NUL or any other but tab) in a name or value, or
/// too many or too large headers; nothing was sent.
pub const EGRESS_BAD_HEADER: Code = "egress.bad_header";
/// An outbound request's body is over the cap; nothing was sent.
pub const EGRESS_REQUEST_TOO_LARGE: Code = "egress.request_too_large";
/// The response body is over the cap; it was not returned.
pub const EGRESS_RESPONSE_TOO_LARGE: Code = "egress.response_too_large";
/// The request did not complete within its timeout or the invocation's
/// remaining time.
pub const EGRESS_TIMEOUT: Code = "egress.timeout";
/// The destination could not be resolved, reached, or spoken to over TLS.
pub const EGRESS_CONNECT_FAILED: Code = "egress.connect_failed";
/// The response used a content or transfer coding the host cannot decode
/// (unknown, or corrupt); the skill got no body.
pub const EGRESS_UNSUPPORTED_ENCODING: Code = "egress.unsupported_encoding";
/// No skill has this name.
pub const SKILL_NOT_FOUND: Code = "skill.not_found";
/// The skill has no approved version; a version waits for the owner's review.
pub const SKILL_PENDING: Code = "skill.pending";
/// The owner rejected the skill's latest version and none is approved.
pub const SKILL_REJECTED: Code = "skill.rejected";
/// The owner revoked the skill's approval.
pub const SKILL_REVOKED: Code = "skill.revoked";
/// The owner disabled the skill.
pub const SKILL_DISABLED: Code = "skill.disabled";
/// The module bytes on disk no longer hash to the approved digest; the skill
/// was not run.
pub const SKILL_DIGEST_MISMATCH: Code = "skill.digest_mismatch";
/// The approved module file is missing from the module store; the skill was not
/// run.
pub const SKILL_MODULE_MISSING: Code = "skill.module_missing";
/// A skill name has characters outside a-z, 0-9 and '-', or is empty or too
/// long.
pub const REGISTRY_INVALID_NAME: Code = "registry.invalid_name";
/// The digest given to an owner command is not a version of that skill.
pub const REGISTRY_WRONG_DIGEST: Code = "registry.wrong_digest";
/// The version is not in a state that allows this decision (e.g. approving a
/// rejected version).
pub const REGISTRY_INVALID_STATE: Code = "registry.invalid_state";
/// The owner tried to grant a permission the skill did not request.
pub const REGISTRY_GRANT_EXCEEDS_REQUEST: Code = "registry.grant_exceeds_request";
/// The skill's metadata is unacceptable (bad name, schema, or oversized
/// requests).
pub const REGISTRY_INVALID_METADATA: Code = "registry.invalid_metadata";
/// The registry database was written by a newer skillhost; it was not touched.
pub const REGISTRY_SCHEMA_TOO_NEW: Code = "registry.schema_too_new";
/// The registry database is corrupted or not a skillhost database; it was not
/// touched.
pub const REGISTRY_CORRUPT: Code = "registry.corrupt";
/// Another process held the registry for too long; nothing changed.
pub const REGISTRY_BUSY: Code = "registry.busy";
/// The registry database failed; the transaction was rolled back.
pub const REGISTRY_STORAGE: Code = "registry.storage";
/// The audit log cannot be written; the operation's result is withheld.
pub const AUDIT_UNAVAILABLE: Code = "audit.unavailable";
/// The caller's token is missing, malformed, unknown, wrong, expired or revoked
/// (one answer for all).
pub const AUTH_FAILURE: Code = "auth.failure";
/// The caller's token does not allow this: another skill than its scope, or an
/// owner operation.
pub const AUTH_FORBIDDEN: Code = "auth.forbidden";
/// A token name, role, scope or expiry given to `token create` is not
/// acceptable.
pub const AUTH_INVALID: Code = "auth.invalid";
/// No master key is configured (SKILLHOST_MASTER_KEY or the key file).
pub const SECRET_NO_KEY: Code = "secret.no_key";
/// The master key or key file is malformed or readable by group or others.
pub const SECRET_BAD_KEY: Code = "secret.bad_key";
/// A secret is encrypted under a different master key; nothing was changed.
pub const SECRET_WRONG_KEY: Code = "secret.wrong_key";
/// A secret failed authentication: tampered, or moved from another skill, name
/// or version.
pub const SECRET_DECRYPT_FAILED: Code = "secret.decrypt_failed";
/// The skill used a secret it did not request or the owner did not grant;
/// nothing was sent.
pub const SECRET_NOT_GRANTED: Code = "secret.not_granted";
/// The skill used a granted secret that has no value; nothing was sent.
pub const SECRET_NOT_SET: Code = "secret.not_set";
/// The secret is not bound to this destination, or the scheme is not https;
/// nothing was sent.
pub const SECRET_DESTINATION_NOT_ALLOWED: Code = "secret.destination_not_allowed";
/// A {{secret:NAME}} placeholder is malformed, nested, or outside a header
/// value; nothing was sent.
pub const SECRET_BAD_PLACEHOLDER: Code = "secret.bad_placeholder";
/// A secret placeholder appeared in a request body; nothing was sent.
pub const SECRET_PLACEHOLDER_IN_BODY: Code = "secret.placeholder_in_body";
/// A secret name, value or destination given to `secret set` is not acceptable.
pub const SECRET_INVALID: Code = "secret.invalid";
/// Audit only: a secret's value was found in what returned to or came out of a
/// skill, and was replaced.
pub const SECRET_REDACTED: Code = "secret.redacted";
/// An outbound request carried a granted secret (in some encoding) to a
/// destination the secret is not bound to; nothing was sent.
pub const SECRET_EXFILTRATION: Code = "secret.exfiltration";
/// `audit verify` found an edited, missing, reordered or truncated record.
pub const AUDIT_CHAIN_BROKEN: Code = "audit.chain_broken";
/// A rate limit (per caller, per skill or global) is exhausted;
/// `retry_after_secs` says when to retry.
pub const RATE_LIMITED: Code = "rate.limited";
/// The host is running its maximum number of concurrent invocations.
pub const RATE_BUSY: Code = "rate.busy";
/// The input does not match the skill's input schema; `errors` lists
/// JSON-pointer paths. The skill did not run.
pub const INPUT_SCHEMA_INVALID: Code = "input.schema_invalid";
/// The skill's output does not match its declared output schema; it was
/// discarded.
pub const OUTPUT_SCHEMA_INVALID: Code = "output.schema_invalid";
/// The host could not read or write a file it needs (input file, data dir).
pub const HOST_IO: Code = "host.io";
/// The host configuration is invalid.
pub const HOST_CONFIG: Code = "host.config";
/// An unexpected host failure; the skill's effects, if any, were discarded.
pub const HOST_INTERNAL: Code = "host.internal";
/// HTTP API: no such route.
pub const API_NOT_FOUND: Code = "api.not_found";
/// HTTP API: the route exists, but not for this method.
pub const API_METHOD_NOT_ALLOWED: Code = "api.method_not_allowed";
/// HTTP API: the request (query string or owner-endpoint body) is not what the
/// route expects; nothing was done.
pub const API_BAD_REQUEST: Code = "api.bad_request";
/// HTTP API: the request took longer than server.request_timeout_ms; an
/// invocation already started still finishes and is audited.
pub const API_TIMEOUT: Code = "api.timeout";
/// HTTP API: the request line, the headers or an owner-endpoint body is over
/// the server's limit (414, 431 or 413); nothing was done.
pub const API_TOO_LARGE: Code = "api.too_large";
/// MCP over HTTP: the POST body is not JSON (or nests too deeply); JSON-RPC
/// -32700, HTTP 400.
pub const MCP_PARSE_ERROR: Code = "mcp.parse_error";
/// MCP over HTTP: the request is not one this transport takes (not a JSON-RPC
/// message, no session id, a bad protocol-version header); JSON-RPC -32600,
/// HTTP 400.
pub const MCP_INVALID_REQUEST: Code = "mcp.invalid_request";
/// MCP over HTTP: Content-Type must be application/json, and Accept must take
/// application/json and text/event-stream (415 or 406).
pub const MCP_BAD_MEDIA_TYPE: Code = "mcp.bad_media_type";
/// MCP over HTTP: no such session for this token (it ended, expired, was never
/// opened, or belongs to another token); initialize a new one. HTTP 404.
pub const MCP_SESSION_UNKNOWN: Code = "mcp.session_unknown";
/// MCP over HTTP: the token (server.mcp_sessions_per_token) or the host
/// (server.mcp_sessions_total) has its maximum of sessions open. HTTP 429.
pub const MCP_SESSION_LIMIT: Code = "mcp.session_limit";
/// MCP over HTTP: the Host header is not in server.mcp_allowed_hosts
/// (DNS-rebinding protection). HTTP 403.
pub const MCP_HOST_NOT_ALLOWED: Code = "mcp.host_not_allowed";

/// Every code with a one-line meaning, in the order the README lists them.
pub const ALL: &[(Code, &str)] = &[
    (
        INPUT_TOO_LARGE,
        "The input is larger than the input cap; the skill did not run.",
    ),
    (
        INPUT_INVALID_JSON,
        "The input is not valid JSON; the skill did not run.",
    ),
    (
        FUEL_EXHAUSTED,
        "The skill used all its fuel (CPU budget) and was stopped.",
    ),
    (
        TIMEOUT,
        "The skill ran past its wall-clock deadline and was stopped.",
    ),
    (
        MEMORY,
        "The skill tried to grow its memory (or a table) past the cap and was stopped.",
    ),
    (
        OUTPUT_TOO_LARGE,
        "The skill's output is larger than the output cap; it was discarded.",
    ),
    (
        EGRESS_BYTES,
        "The invocation's outbound HTTP byte budget (`limits.egress_sent_bytes` or `limits.egress_received_bytes`) is spent: a request that would pass it was not sent, or a response that passed it was not returned.",
    ),
    (
        OUTPUT_INVALID_JSON,
        "The skill returned something that is not JSON; it was discarded.",
    ),
    (
        SKILL_TRAPPED,
        "The skill trapped (panic, unreachable, stack overflow, ...); `trap` names the kind.",
    ),
    (
        SKILL_ERROR,
        "The skill returned its own error; its `skill_code` (only if it obeys the skill-code grammar and is outside every host namespace) and message (control characters escaped) are passed through, size-capped.",
    ),
    (
        CONTRACT_VERSION_MISMATCH,
        "The component targets a contract version this host does not support; both are named.",
    ),
    (
        MODULE_INVALID,
        "The file is not a valid skill component (not wasm, a core module, truncated, wrong world, unknown imports).",
    ),
    (
        EGRESS_BAD_URL,
        "An outbound request's URL could not be parsed; nothing was sent.",
    ),
    (
        EGRESS_SCHEME_NOT_ALLOWED,
        "An outbound request used a scheme other than http(s); nothing was sent.",
    ),
    (
        EGRESS_HOST_NOT_ALLOWED,
        "An outbound request's destination is not granted to this skill; nothing was sent.",
    ),
    (
        EGRESS_TOO_MANY_REQUESTS,
        "The skill made more outbound requests than one invocation allows; nothing was sent.",
    ),
    (
        EGRESS_BAD_METHOD,
        "An outbound request used a method outside GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS; nothing was sent.",
    ),
    (
        EGRESS_USERINFO,
        "An outbound request's URL carried user:password@; nothing was sent.",
    ),
    (
        EGRESS_PORT_NOT_ALLOWED,
        "An outbound request's port is not the granted one; nothing was sent.",
    ),
    (
        EGRESS_METHOD_NOT_ALLOWED,
        "An outbound request's origin is granted, but no rule for it allows the method; nothing was sent.",
    ),
    (
        EGRESS_PATH_NOT_ALLOWED,
        "An outbound request's origin and method are granted, but no such rule allows the path (or the path cannot be matched safely: an encoded slash, a backslash, a dot segment); nothing was sent.",
    ),
    (
        EGRESS_TRIAL,
        "A trial run (`skill trial`) refuses every outbound request before DNS; the attempt was recorded for the owner's review.",
    ),
    (
        EGRESS_PRIVATE_ADDRESS,
        "The destination is, or resolves to, a loopback, private, link-local or other special address; nothing was sent.",
    ),
    (
        EGRESS_BAD_HEADER,
        "An outbound request set a forbidden header (Host, hop-by-hop, proxy, a method or URL override), a control character (CR, LF, NUL or any other but tab) in a name or value, or too many or too large headers; nothing was sent.",
    ),
    (
        EGRESS_REQUEST_TOO_LARGE,
        "An outbound request's body is over the cap; nothing was sent.",
    ),
    (
        EGRESS_RESPONSE_TOO_LARGE,
        "The response body is over the cap; it was not returned.",
    ),
    (
        EGRESS_TIMEOUT,
        "The request did not complete within its timeout or the invocation's remaining time.",
    ),
    (
        EGRESS_CONNECT_FAILED,
        "The destination could not be resolved, reached, or spoken to over TLS.",
    ),
    (
        EGRESS_UNSUPPORTED_ENCODING,
        "The response used a content or transfer coding the host cannot decode (unknown, or corrupt); the skill got no body.",
    ),
    (SKILL_NOT_FOUND, "No skill has this name."),
    (
        SKILL_PENDING,
        "The skill has no approved version; a version waits for the owner's review.",
    ),
    (
        SKILL_REJECTED,
        "The owner rejected the skill's latest version and none is approved.",
    ),
    (SKILL_REVOKED, "The owner revoked the skill's approval."),
    (SKILL_DISABLED, "The owner disabled the skill."),
    (
        SKILL_DIGEST_MISMATCH,
        "The module bytes on disk no longer hash to the approved digest; the skill was not run.",
    ),
    (
        SKILL_MODULE_MISSING,
        "The approved module file is missing from the module store; the skill was not run.",
    ),
    (
        REGISTRY_INVALID_NAME,
        "A skill name has characters outside a-z, 0-9 and '-', or is empty or too long.",
    ),
    (
        REGISTRY_WRONG_DIGEST,
        "The digest given to an owner command is not a version of that skill.",
    ),
    (
        REGISTRY_INVALID_STATE,
        "The version is not in a state that allows this decision (e.g. approving a rejected version).",
    ),
    (
        REGISTRY_GRANT_EXCEEDS_REQUEST,
        "The owner tried to grant a permission the skill did not request.",
    ),
    (
        REGISTRY_INVALID_METADATA,
        "The skill's metadata is unacceptable (bad name, schema, or oversized requests).",
    ),
    (
        REGISTRY_SCHEMA_TOO_NEW,
        "The registry database was written by a newer skillhost; it was not touched.",
    ),
    (
        REGISTRY_CORRUPT,
        "The registry database is corrupted or not a skillhost database; it was not touched.",
    ),
    (
        REGISTRY_BUSY,
        "Another process held the registry for too long; nothing changed.",
    ),
    (
        REGISTRY_STORAGE,
        "The registry database failed; the transaction was rolled back.",
    ),
    (
        AUDIT_UNAVAILABLE,
        "The audit log cannot be written; the operation's result is withheld.",
    ),
    (
        AUTH_FAILURE,
        "The caller's token is missing, malformed, unknown, wrong, expired or revoked (one answer for all).",
    ),
    (
        AUTH_FORBIDDEN,
        "The caller's token does not allow this: another skill than its scope, or an owner operation.",
    ),
    (
        AUTH_INVALID,
        "A token name, role, scope or expiry given to `token create` is not acceptable.",
    ),
    (
        SECRET_NO_KEY,
        "No master key is configured (SKILLHOST_MASTER_KEY or the key file).",
    ),
    (
        SECRET_BAD_KEY,
        "The master key or key file is malformed or readable by group or others.",
    ),
    (
        SECRET_WRONG_KEY,
        "A secret is encrypted under a different master key; nothing was changed.",
    ),
    (
        SECRET_DECRYPT_FAILED,
        "A secret failed authentication: tampered, or moved from another skill, name or version.",
    ),
    (
        SECRET_NOT_GRANTED,
        "The skill used a secret it did not request or the owner did not grant; nothing was sent.",
    ),
    (
        SECRET_NOT_SET,
        "The skill used a granted secret that has no value; nothing was sent.",
    ),
    (
        SECRET_DESTINATION_NOT_ALLOWED,
        "The secret is not bound to this destination, or the scheme is not https; nothing was sent.",
    ),
    (
        SECRET_BAD_PLACEHOLDER,
        "A {{secret:NAME}} placeholder is malformed, nested, or outside a header value; nothing was sent.",
    ),
    (
        SECRET_PLACEHOLDER_IN_BODY,
        "A secret placeholder appeared in a request body; nothing was sent.",
    ),
    (
        SECRET_INVALID,
        "A secret name, value or destination given to `secret set` is not acceptable.",
    ),
    (
        SECRET_REDACTED,
        "Audit only: a secret's value was found in what returned to or came out of a skill, and was replaced.",
    ),
    (
        SECRET_EXFILTRATION,
        "An outbound request carried a granted secret (in some encoding) to a destination the secret is not bound to; nothing was sent.",
    ),
    (
        AUDIT_CHAIN_BROKEN,
        "`audit verify` found an edited, missing, reordered or truncated record.",
    ),
    (
        RATE_LIMITED,
        "A rate limit (per caller, per skill or global) is exhausted; `retry_after_secs` says when to retry.",
    ),
    (
        RATE_BUSY,
        "The host is running its maximum number of concurrent invocations.",
    ),
    (
        INPUT_SCHEMA_INVALID,
        "The input does not match the skill's input schema; `errors` lists JSON-pointer paths. The skill did not run.",
    ),
    (
        OUTPUT_SCHEMA_INVALID,
        "The skill's output does not match its declared output schema; it was discarded.",
    ),
    (
        HOST_IO,
        "The host could not read or write a file it needs (input file, data dir).",
    ),
    (HOST_CONFIG, "The host configuration is invalid."),
    (
        HOST_INTERNAL,
        "An unexpected host failure; the skill's effects, if any, were discarded.",
    ),
    (API_NOT_FOUND, "HTTP API: no such route."),
    (
        API_METHOD_NOT_ALLOWED,
        "HTTP API: the route exists, but not for this method.",
    ),
    (
        API_BAD_REQUEST,
        "HTTP API: the request (query string or owner-endpoint body) is not what the route expects; nothing was done.",
    ),
    (
        API_TIMEOUT,
        "HTTP API: the request took longer than server.request_timeout_ms; an invocation already started still finishes and is audited.",
    ),
    (
        API_TOO_LARGE,
        "HTTP API: the request line, the headers or an owner-endpoint body is over the server's limit (414, 431 or 413); nothing was done.",
    ),
    (
        MCP_PARSE_ERROR,
        "MCP over HTTP: the POST body is not JSON (or nests too deeply); JSON-RPC -32700, HTTP 400.",
    ),
    (
        MCP_INVALID_REQUEST,
        "MCP over HTTP: the request is not one this transport takes (not a JSON-RPC message, no session id, a bad protocol-version header); JSON-RPC -32600, HTTP 400.",
    ),
    (
        MCP_BAD_MEDIA_TYPE,
        "MCP over HTTP: Content-Type must be application/json, and Accept must take application/json and text/event-stream (415 or 406).",
    ),
    (
        MCP_SESSION_UNKNOWN,
        "MCP over HTTP: no such session for this token (it ended, expired, was never opened, or belongs to another token); initialize a new one. HTTP 404.",
    ),
    (
        MCP_SESSION_LIMIT,
        "MCP over HTTP: the token (server.mcp_sessions_per_token) or the host (server.mcp_sessions_total) has its maximum of sessions open. HTTP 429.",
    ),
    (
        MCP_HOST_NOT_ALLOWED,
        "MCP over HTTP: the Host header is not in server.mcp_allowed_hosts (DNS-rebinding protection). HTTP 403.",
    ),
];

/// The meaning of a code, if it is one of ours.
pub fn describe(code: &str) -> Option<&'static str> {
    ALL.iter().find(|(c, _)| *c == code).map(|(_, d)| *d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_constant_is_listed() {
        let source = include_str!("codes.rs");
        let body = source.split("pub const ALL").next().unwrap();
        for line in body
            .lines()
            .filter(|l| l.starts_with("pub const ") && l.contains(": Code = "))
        {
            let value = line.split('"').nth(1).unwrap();
            if value != OK {
                assert!(
                    describe(value).is_some(),
                    "{value} is declared but not in ALL"
                );
            }
        }
    }

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for (code, meaning) in ALL {
            assert!(seen.insert(*code), "duplicate code {code}");
            let (area, name) = code.split_once('.').expect("codes are area.name");
            assert!(!area.is_empty() && !name.is_empty(), "{code}");
            assert!(
                code.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
                "{code} must be lower-case ascii"
            );
            assert!(!meaning.is_empty());
        }
    }
}
