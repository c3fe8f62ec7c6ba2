function cortexone_handler(event, context)
  local name = event.name or "World"
  return {statusCode = 200, body = {message = "Hello, " .. name .. "!"}}
end
