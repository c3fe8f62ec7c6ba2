-- Decodes a JSON payload with the preloaded json module and summarizes it.
function cortexone_handler(event, context)
  if type(event.payload) ~= "string" then
    return {statusCode = 400, body = {error = "payload must be a JSON string"}}
  end
  local parsed = json.decode(event.payload)
  local numbers = parsed.numbers or {}
  local sum = 0
  for _, n in ipairs(numbers) do
    sum = sum + n
  end
  local mean = 0
  if #numbers > 0 then mean = sum / #numbers end
  return {statusCode = 200, body = {count = #numbers, sum = sum, mean = mean, encoded = json.encode({sum = sum})}}
end
