// A fold function: a Workers-style module. Save this file and it is deployed again at once;
// try it at http://acme.localhost:8787/hello?name=you
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const name = url.searchParams.get("name") ?? "world";
    return Response.json({ message: `Hello, ${name}!`, method: request.method });
  },
};
