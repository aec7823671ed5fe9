"""Drives the official MCP Python client (mcp==2.3.0) for the Rust integration tests.

Usage: python mcp_client.py --transport http|sse --url URL [--token TOKEN] < steps.json

Reads a JSON list of steps and runs them in one MCP session:
  {"op": "list_tools"}                       -> [{"name", "description", "input_schema"}]
  {"op": "call", "tool": NAME, "args": {...}} -> {"is_error": bool, "text": str}
Prints one JSON object: {"ok": true, "results": [...]} or, when the session fails (refused
connection, 401...), {"ok": false, "error": "...", "results": [what ran]}.
"""

import argparse
import asyncio
import json
import sys

import httpx2
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client


async def run_steps(session, steps, results):
    await session.initialize()
    for step in steps:
        if step["op"] == "list_tools":
            listed = await session.list_tools()
            results.append([
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in listed.tools
            ])
        elif step["op"] == "call":
            called = await session.call_tool(step["tool"], step.get("args", {}))
            text = "".join(getattr(c, "text", "") for c in called.content)
            results.append({"is_error": bool(called.is_error), "text": text})
        else:
            raise ValueError(f"unknown step {step!r}")


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--transport", choices=["http", "sse"], required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token")
    args = parser.parse_args()
    steps = json.load(sys.stdin)
    headers = {"Authorization": f"Bearer {args.token}"} if args.token is not None else {}
    results = []
    try:
        if args.transport == "http":
            async with httpx2.AsyncClient(headers=headers, timeout=20) as http:
                async with streamable_http_client(args.url, http_client=http) as (read, write, *_):
                    async with ClientSession(read, write) as session:
                        await asyncio.wait_for(run_steps(session, steps, results), 60)
        else:
            async with sse_client(args.url, headers=headers, timeout=20) as (read, write):
                async with ClientSession(read, write) as session:
                    await asyncio.wait_for(run_steps(session, steps, results), 60)
    except BaseException as e:  # noqa: BLE001 - the test wants to see any failure
        causes = []
        seen = e
        while seen is not None and len(causes) < 8:
            if isinstance(seen, BaseExceptionGroup):
                causes.extend(f"{type(x).__name__}: {x}" for x in seen.exceptions)
                seen = seen.exceptions[0]
            else:
                causes.append(f"{type(seen).__name__}: {seen}")
                seen = seen.__cause__ or seen.__context__
        print(json.dumps({"ok": False, "error": " | ".join(causes), "results": results}))
        return
    print(json.dumps({"ok": True, "results": results}))


asyncio.run(main())
