// An MCP tool: the handler receives a JSON-RPC 2.0 request and returns the response.
var TOOLS = [{
  name: "greet",
  description: "Greets someone by name.",
  inputSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] }
}];

function error(id, code, message) {
  return { jsonrpc: "2.0", id: id, error: { code: code, message: message } };
}

function cortexone_handler(event, context) {
  var id = event.id === undefined ? null : event.id;
  if (event.jsonrpc !== "2.0") return error(id, -32600, "Invalid request");
  if (event.method === "initialize") {
    return { jsonrpc: "2.0", id: id, result: {
      protocolVersion: "2025-06-18", capabilities: { tools: {} }, serverInfo: { name: "greeter", version: "1.0.0" } } };
  }
  if (event.method === "tools/list") return { jsonrpc: "2.0", id: id, result: { tools: TOOLS } };
  if (event.method === "tools/call") {
    var params = event.params || {};
    var args = params.arguments || {};
    if (params.name !== "greet" || typeof args.name !== "string") return error(id, -32602, "Invalid params");
    return { jsonrpc: "2.0", id: id, result: { content: [{ type: "text", text: "Hello, " + args.name + "!" }], isError: false } };
  }
  return error(id, -32601, "Method not found: " + event.method);
}
