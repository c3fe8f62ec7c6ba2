-- An MCP tool: the handler receives a JSON-RPC 2.0 request and returns the response.
local TOOLS = {{
  name = "greet",
  description = "Greets someone by name.",
  inputSchema = {type = "object", properties = {name = {type = "string"}}, required = {"name"}}
}}

local function err(id, code, message)
  return {jsonrpc = "2.0", id = id, error = {code = code, message = message}}
end

function cortexone_handler(event, context)
  local id = event.id
  if event.jsonrpc ~= "2.0" then return err(id, -32600, "Invalid request") end
  if event.method == "initialize" then
    return {jsonrpc = "2.0", id = id, result = {
      protocolVersion = "2025-06-18", capabilities = {tools = {["listChanged"] = false}},
      serverInfo = {name = "greeter", version = "1.0.0"}}}
  end
  if event.method == "tools/list" then return {jsonrpc = "2.0", id = id, result = {tools = TOOLS}} end
  if event.method == "tools/call" then
    local params = event.params or {}
    local args = params.arguments or {}
    if params.name ~= "greet" or type(args.name) ~= "string" then return err(id, -32602, "Invalid params") end
    return {jsonrpc = "2.0", id = id, result = {content = {{type = "text", text = "Hello, " .. args.name .. "!"}}, isError = false}}
  end
  return err(id, -32601, "Method not found: " .. tostring(event.method))
end
