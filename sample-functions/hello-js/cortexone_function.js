function cortexone_handler(event, context) {
  var name = event.name || "World";
  return { statusCode: 200, body: { message: "Hello, " + name + "!" } };
}
