function cortexone_handler(event, context) {
  if (!event.id) {
    return { statusCode: 400, body: { error: "id is required" } };
  }
  return { statusCode: 200, body: { ok: true, id: event.id } };
}
