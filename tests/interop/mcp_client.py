"""Interop check: the official Python MCP SDK client against cortex-emu.

Usage: mcp_client.py BASE_URL API_KEY. Connects to the marketplace gateway and to a sample MCP
tool over Streamable HTTP, lists and calls tools, and exits non-zero on any mismatch.
"""
import asyncio
import json
import logging
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client


async def marketplace(base, key):
    async with streamablehttp_client(f"{base}/api/v1/marketplace/mcp", headers={"Authorization": key}) as (r, w, _):
        async with ClientSession(r, w) as s:
            await s.initialize()
            names = [t.name for t in (await s.list_tools()).tools]
            assert names == ["search_tools", "get_tool_schema", "invoke_tool", "check_balance"], names
            found = json.loads((await s.call_tool("search_tools", {"query": "hello"})).content[0].text)
            assert any(t["id"] == "hello-lua" for t in found["tools"]), found
            ran = await s.call_tool("invoke_tool", {"tool_id": "hello-lua", "event": {"name": "Py"}})
            data = json.loads(ran.content[0].text)
            assert data["statusCode"] == 200 and data["body"] == '{"message": "Hello, Py!"}', data
            balance = json.loads((await s.call_tool("check_balance", {})).content[0].text)
            assert balance["organization"] == "acme", balance
    print("interop: marketplace gateway ok")


async def mcp_tool(base, key):
    url = f"{base}/mcp/mcp-python"
    async with streamablehttp_client(url, headers={"Authorization": f"Bearer {key}"}) as (r, w, _):
        async with ClientSession(r, w) as s:
            init = await s.initialize()
            assert init.serverInfo.name == "greeter", init
            tools = (await s.list_tools()).tools
            assert [t.name for t in tools] == ["greet"], tools
            res = await s.call_tool("greet", {"name": "Ada"})
            assert res.content[0].text == "Hello, Ada!", res
    print("interop: MCP tool ok")


class Warnings(logging.Handler):
    """Collects what the SDK logs at WARNING or above (e.g. `Session termination failed: 202`)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.seen = []

    def emit(self, record):
        self.seen.append(record.getMessage())


async def main():
    base, key = sys.argv[1], sys.argv[2]
    warnings = Warnings()
    logging.getLogger().addHandler(warnings)
    await marketplace(base, key)
    await mcp_tool(base, key)
    assert not warnings.seen, f"the SDK logged warnings: {warnings.seen}"
    print("interop: no SDK warnings")


asyncio.run(main())
