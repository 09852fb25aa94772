"""An independent MCP client for skillhost's end-to-end tests.

Uses the official Python SDK (`mcp` from PyPI) - code we did not write - to
talk to `skillhost mcp` (stdio) or `/mcp` on `skillhost serve` (Streamable
HTTP). Prints one JSON object with what it saw; the Rust test asserts on it.

usage:
  client.py stdio  SKILLHOST_BIN DATA_DIR TOKEN OWNER_CMD...
  client.py http   URL               TOKEN OWNER_CMD...

OWNER_CMD is run (as a subprocess) after the first listing; the client then
waits up to 15 s for notifications/tools/list_changed and lists again.
"""

import json
import subprocess
import sys

import anyio
from mcp import types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def result_json(result):
    return {
        "is_error": bool(getattr(result, "is_error", False) or getattr(result, "isError", False)),
        "text": [c.text for c in result.content if getattr(c, "type", "") == "text"],
        "structured": getattr(result, "structured_content", None)
        if hasattr(result, "structured_content")
        else getattr(result, "structuredContent", None),
        "meta": getattr(result, "meta", None),
    }


async def list_all(session, out, key):
    """Every tool, following the cursor page by page as the spec asks; the
    number of pages goes to out[key + "_pages"]."""
    tools, cursor, pages = [], None, 0
    while True:
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        pages += 1
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor or pages > 1000:
            break
    out[key + "_pages"] = pages
    return tools


async def exercise(read, write, owner_cmd):
    changed = anyio.Event()

    async def on_message(message):
        if isinstance(message, types.ServerNotification):
            message = message.root if hasattr(message, "root") else message
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    out = {}
    async with ClientSession(read, write, message_handler=on_message) as session:
        init = await session.initialize()
        out["server"] = init.server_info.name
        out["protocol"] = init.protocol_version
        tools = await list_all(session, out, "tools")
        out["tools"] = sorted(t.name for t in tools)
        out["schemas"] = {t.name: t.input_schema for t in tools}
        out["descriptions"] = {t.name: t.description for t in tools}
        out["call_ok"] = result_json(await session.call_tool("word-stats", {"text": "one two two"}))
        out["call_schema"] = result_json(await session.call_tool("word-stats", {"wrong": 1}))
        out["call_forbidden"] = result_json(await session.call_tool("echo", {"x": 1}))
        out["call_unknown"] = result_json(await session.call_tool("no-such-skill", {}))
        subprocess.run(owner_cmd, check=True, capture_output=True)
        with anyio.move_on_after(15):
            await changed.wait()
        out["list_changed"] = changed.is_set()
        out["tools_after"] = sorted(t.name for t in await list_all(session, out, "tools_after"))
    return out


async def main(argv):
    mode = argv[1]
    if mode == "stdio":
        binary, data_dir, token = argv[2], argv[3], argv[4]
        owner_cmd = argv[5:]
        params = StdioServerParameters(
            command=binary,
            args=["--data-dir", data_dir, "mcp"],
            env={"SKILLHOST_TOKEN": token},
        )
        async with stdio_client(params) as (read, write):
            out = await exercise(read, write, owner_cmd)
    else:
        url, token = argv[2], argv[3]
        owner_cmd = argv[4:]
        client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
        async with client:
            async with streamable_http_client(url, http_client=client) as streams:
                read, write = streams[0], streams[1]
                out = await exercise(read, write, owner_cmd)
    print(json.dumps(out))


if __name__ == "__main__":
    anyio.run(main, sys.argv)
