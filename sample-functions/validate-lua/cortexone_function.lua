function cortexone_handler(event, context)
  if not event.id then
    return {statusCode = 400, body = {error = "id is required"}}
  end
  return {statusCode = 200, body = {ok = true, id = event.id}}
end
