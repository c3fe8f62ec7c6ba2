"""An MCP tool: the handler receives a JSON-RPC 2.0 request and returns the response."""

TOOLS = [{
    "name": "greet",
    "description": "Greets someone by name.",
    "inputSchema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
}]


def error(req_id, code, message):
    return {"jsonrpc": "2.0", "id": req_id, "error": {"code": code, "message": message}}


def cortexone_handler(event, context):
    req_id = event.get("id")
    if event.get("jsonrpc") != "2.0":
        return error(req_id, -32600, "Invalid request")
    method = event.get("method")
    if method == "initialize":
        return {"jsonrpc": "2.0", "id": req_id, "result": {
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "greeter", "version": "1.0.0"}}}
    if method == "tools/list":
        return {"jsonrpc": "2.0", "id": req_id, "result": {"tools": TOOLS}}
    if method == "tools/call":
        params = event.get("params") or {}
        args = params.get("arguments") or {}
        if params.get("name") != "greet" or not isinstance(args.get("name"), str):
            return error(req_id, -32602, "Invalid params")
        text = "Hello, %s!" % args["name"]
        return {"jsonrpc": "2.0", "id": req_id, "result": {"content": [{"type": "text", "text": text}], "isError": False}}
    return error(req_id, -32601, "Method not found: %s" % method)
