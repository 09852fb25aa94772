// An independent MCP client for skillhost's end-to-end tests, built on the
// official TypeScript SDK (`@modelcontextprotocol/sdk` from npm, pinned in
// package.json / package-lock.json) - code we did not write. It talks to
// `skillhost mcp` (stdio) or `/mcp` on `skillhost serve` (Streamable HTTP)
// and prints one JSON object with what it saw; the Rust test asserts on it.
//
// usage:
//   node client.mjs stdio  SKILLHOST_BIN DATA_DIR TOKEN [OWNER_CMD...]
//   node client.mjs http   URL               TOKEN [OWNER_CMD...]
//
// The calls to make come from $MCP_CALLS, a JSON array of
// {"name": TOOL, "arguments": {...}}; without it, the same four calls as
// client.py (word-stats ok, word-stats bad input, echo, no-such-skill).
//
// Report (stdout, one JSON object):
//   server, version, protocol      from initialize
//   tools                          sorted tool names        } or "list_error":
//   schemas / output_schemas /     per tool name            }  the message
//   descriptions                                            }  listTools threw
//   calls                          one entry per call, in order:
//                                    {name, is_error, text[], structured, meta}
//                                  or {name, threw: {code, message, data}}
//   owner_cmd                      {status, stdout, stderr} of OWNER_CMD
//   list_changed                   notifications/tools/list_changed seen
//                                  within 15 s after OWNER_CMD
//   tools_after (or list_after_error)  the listing after that
//   terminate (http only)          "ok", or {code, message} if the DELETE
//                                  of the session failed
//   http_probes (http only)        raw requests the SDK does not make on its
//                                  own, with the token, each {status,
//                                  content_type, json (parsed body or null),
//                                  text}: delete_unknown_session,
//                                  post_unknown_session, post_no_session,
//                                  get_no_session, post_bad_json,
//                                  post_wrong_accept, post_wrong_content_type,
//                                  post_bad_protocol_version
//   warnings                       every console.warn / process warning
//                                  (ajv reports `unknown format "uint"
//                                  ignored in schema at path "..."` this way
//                                  while compiling output schemas in listTools)
//   console_errors                 every console.error (SDK/transport noise)
//   transport_errors               every transport/client onerror message
//   server_stderr (stdio only)     what the server wrote on stderr
// Exit status 0 when the report is complete (tool errors, thrown calls and
// list errors are data, not failures); 1 with {"fatal": ...} merged into the
// report if the session itself failed (connect, initialize); 3 if OWNER_CMD
// failed.

import { spawnSync } from "node:child_process";
import { format } from "node:util";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const out = { warnings: [], console_errors: [], transport_errors: [] };

// Capture what the SDK (and ajv inside it) prints, before anything loads a
// schema. Nothing of ours goes to the console except the final report.
console.warn = (...args) => out.warnings.push(format(...args));
console.error = (...args) => out.console_errors.push(format(...args));
console.log = (...args) => out.console_errors.push("log: " + format(...args));
console.info = (...args) => out.console_errors.push("info: " + format(...args));
console.debug = () => {};
process.on("warning", (w) => out.warnings.push(`${w.name}: ${w.message}`));

const DEFAULT_CALLS = [
  { name: "word-stats", arguments: { text: "one two two" } },
  { name: "word-stats", arguments: { wrong: 1 } },
  { name: "echo", arguments: { x: 1 } },
  { name: "no-such-skill", arguments: {} },
];

function errorJson(e) {
  const r = {
    code: typeof e?.code === "number" || typeof e?.code === "string" ? e.code : null,
    message: String(e?.message ?? e),
  };
  if (e?.data !== undefined) r.data = e.data;
  return r;
}

function resultJson(result) {
  return {
    is_error: Boolean(result.isError),
    text: (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text),
    structured: result.structuredContent ?? null,
    meta: result._meta ?? null,
  };
}

// Every tool, following nextCursor page by page as the spec asks.
async function listAll(client) {
  const tools = [];
  let cursor;
  let pages = 0;
  do {
    const page = await client.listTools(cursor ? { cursor } : undefined);
    pages += 1;
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor && pages <= 1000);
  return { tools, pages };
}

async function listing(client, prefix) {
  try {
    const { tools, pages } = await listAll(client);
    const by = (f) => Object.fromEntries(tools.map((t) => [t.name, f(t) ?? null]));
    return {
      [prefix]: tools.map((t) => t.name).sort(),
      [`${prefix}_pages`]: pages,
      [`${prefix === "tools" ? "" : prefix + "_"}schemas`]: by((t) => t.inputSchema),
      [`${prefix === "tools" ? "" : prefix + "_"}output_schemas`]: by((t) => t.outputSchema),
      [`${prefix === "tools" ? "" : prefix + "_"}descriptions`]: by((t) => t.description),
    };
  } catch (e) {
    return { [prefix === "tools" ? "list_error" : "list_after_error"]: String(e?.message ?? e) };
  }
}

async function exercise(client, transport, ownerCmd) {
  let changed = false;
  let wake = () => {};
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    changed = true;
    wake();
  });
  client.onerror = (e) => out.transport_errors.push(String(e?.message ?? e));

  // The SDK hands the negotiated version to HTTP transports only; see it on both.
  const setVersion = transport.setProtocolVersion?.bind(transport);
  transport.setProtocolVersion = (v) => {
    out.protocol = v;
    setVersion?.(v);
  };
  await client.connect(transport); // initialize + notifications/initialized
  const info = client.getServerVersion();
  out.server = info?.name ?? null;
  out.version = info?.version ?? null;
  out.capabilities = client.getServerCapabilities() ?? null;
  out.instructions = client.getInstructions() ?? null;

  Object.assign(out, await listing(client, "tools"));

  const calls = process.env.MCP_CALLS ? JSON.parse(process.env.MCP_CALLS) : DEFAULT_CALLS;
  out.calls = [];
  for (const call of calls) {
    try {
      const result = await client.callTool({ name: call.name, arguments: call.arguments ?? {} });
      out.calls.push({ name: call.name, ...resultJson(result) });
    } catch (e) {
      out.calls.push({ name: call.name, threw: errorJson(e) });
    }
  }

  if (ownerCmd.length > 0) {
    const r = spawnSync(ownerCmd[0], ownerCmd.slice(1), { encoding: "utf8" });
    out.owner_cmd = { status: r.status, stdout: r.stdout, stderr: r.stderr };
    if (r.status !== 0) {
      out.owner_cmd.error = String(r.error ?? "non-zero exit");
      return 3;
    }
    if (!changed) {
      await new Promise((resolve) => {
        const t = setTimeout(resolve, 15000);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    out.list_changed = changed;
    Object.assign(out, await listing(client, "tools_after"));
  }
  return 0;
}

// Transport-level errors, as a plain fetch sees them (the spec's answers:
// 404 for an unknown session, 400 for a missing one, 400/-32700 for bad
// JSON, 406 for a bad Accept, 415 for a bad Content-Type, 400 for an
// unsupported MCP-Protocol-Version; JSON-RPC error bodies).
async function httpProbes(url, token) {
  const unknown = "00000000-0000-4000-8000-000000000000";
  const init = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "probe", version: "0" } },
  });
  const list = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" });
  const auth = { Authorization: `Bearer ${token}` };
  const both = { Accept: "application/json, text/event-stream", "Content-Type": "application/json" };
  const probes = {
    delete_unknown_session: { method: "DELETE", headers: { ...auth, "Mcp-Session-Id": unknown } },
    post_unknown_session: { method: "POST", headers: { ...auth, ...both, "Mcp-Session-Id": unknown }, body: list },
    post_no_session: { method: "POST", headers: { ...auth, ...both }, body: list },
    get_no_session: { method: "GET", headers: { ...auth, Accept: "text/event-stream" } },
    post_bad_json: { method: "POST", headers: { ...auth, ...both }, body: "{" },
    // Nesting deeper than any parser should follow: a parse error, not a
    // crash or a 415.
    post_too_deep_json: { method: "POST", headers: { ...auth, ...both }, body: "[".repeat(10000) + "]".repeat(10000) },
    post_wrong_accept: {
      method: "POST",
      headers: { ...auth, Accept: "text/plain", "Content-Type": "application/json" },
      body: init,
    },
    post_wrong_content_type: {
      method: "POST",
      headers: { ...auth, Accept: both.Accept, "Content-Type": "text/plain" },
      body: init,
    },
    post_bad_protocol_version: {
      method: "POST",
      headers: { ...auth, ...both, "MCP-Protocol-Version": "1999-01-01" },
      body: init,
    },
  };
  const out = {};
  for (const [name, req] of Object.entries(probes)) {
    try {
      const ctl = new AbortController();
      const t = setTimeout(() => ctl.abort(), 5000);
      const r = await fetch(url, { ...req, signal: ctl.signal });
      const ct = r.headers.get("content-type");
      // An SSE answer is left unread: only its status and type matter here.
      const text = ct?.includes("text/event-stream") ? null : await r.text();
      clearTimeout(t);
      ctl.abort();
      let json = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        // not JSON
      }
      out[name] = { status: r.status, content_type: ct, json, text };
    } catch (e) {
      out[name] = { error: String(e?.message ?? e) };
    }
  }
  return out;
}

async function main(argv) {
  const mode = argv[0];
  let transport;
  let ownerCmd;
  let stderrChunks = null;
  if (mode === "stdio") {
    const [binary, dataDir, token, ...rest] = argv.slice(1);
    ownerCmd = rest;
    transport = new StdioClientTransport({
      command: binary,
      args: ["--data-dir", dataDir, "mcp"],
      env: { SKILLHOST_TOKEN: token },
      stderr: "pipe",
    });
    stderrChunks = [];
    transport.stderr?.on("data", (d) => stderrChunks.push(d.toString()));
  } else if (mode === "http") {
    const [url, token, ...rest] = argv.slice(1);
    ownerCmd = rest;
    transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
  } else {
    process.stderr.write("usage: client.mjs stdio BIN DATA_DIR TOKEN [OWNER_CMD...] | http URL TOKEN [OWNER_CMD...]\n");
    return 2;
  }

  const client = new Client({ name: "skillhost-e2e-ts", version: "0.0.0" }, { capabilities: {} });
  let status;
  try {
    status = await exercise(client, transport, ownerCmd);
    if (mode === "http") {
      try {
        await transport.terminateSession();
        out.terminate = "ok";
      } catch (e) {
        out.terminate = errorJson(e);
      }
      out.http_probes = await httpProbes(argv[1], argv[2]);
    }
  } catch (e) {
    out.fatal = errorJson(e);
    status = 1;
  }
  try {
    await client.close();
  } catch (e) {
    out.transport_errors.push(`close: ${e?.message ?? e}`);
  }
  if (stderrChunks) out.server_stderr = stderrChunks.join("");
  return status;
}

const status = await main(process.argv.slice(2));
process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(status));
