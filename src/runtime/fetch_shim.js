// The platform's synchronous `fetch(url, {method, headers, body})` for tools (PLATFORM.md §2.1):
// the answer is `{status, statusText, ok, headers, body, url}` with `text()` and `json()`.
// The request crosses to the host as JSON (`host`), which applies the network mode.
// Evaluated to a function of the host's hook, on a run's first call of `fetch` (javascript.rs).
(function (host) {
  function pairs(headers) {
    const out = [];
    if (headers == null) return out;
    if (typeof headers.forEach === "function" && !Array.isArray(headers)) {
      headers.forEach((v, k) => out.push([String(k), String(v)]));
    } else if (Array.isArray(headers)) {
      for (const [k, v] of headers) out.push([String(k), String(v)]);
    } else {
      for (const k of Object.keys(headers)) out.push([k, String(headers[k])]);
    }
    return out;
  }
  return function fetch(input, init) {
    init = init || {};
    const url = typeof input === "string" ? input : (input && input.url) || String(input);
    let body = init.body;
    if (body != null && typeof body !== "string") body = JSON.stringify(body);
    const answer = JSON.parse(host(JSON.stringify({
      method: String(init.method || "GET").toUpperCase(),
      url: String(url),
      headers: pairs(init.headers),
      body: body == null ? null : body,
    })));
    if (answer.error !== undefined) throw new TypeError("fetch failed: " + answer.error);
    const r = answer.ok;
    const headers = {};
    for (const [k, v] of r.headers) headers[k] = headers[k] === undefined ? v : headers[k] + ", " + v;
    Object.defineProperty(headers, "get", {
      value: (name) => { const v = headers[String(name).toLowerCase()]; return v === undefined ? null : v; },
    });
    Object.defineProperty(headers, "has", { value: (name) => headers[String(name).toLowerCase()] !== undefined });
    return {
      status: r.status,
      statusText: r.statusText,
      ok: r.status >= 200 && r.status < 300,
      headers,
      body: r.body,
      url: r.url,
      text() { return r.body; },
      json() { return JSON.parse(r.body); },
    };
  };
})
