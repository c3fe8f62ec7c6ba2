// Workers-style globals for fold functions, evaluated as a classic Script in every fresh Boa
// context before the user's module (see workers_module.rs). Boa has ECMAScript only, so the web
// APIs a Cloudflare Workers handler uses are written here in plain JavaScript: Headers,
// URLSearchParams, URL, TextEncoder/TextDecoder, atob/btoa, DOMException, Request/Response,
// structuredClone, queueMicrotask, crypto, performance. Behaviour follows the WHATWG URL, Fetch
// and Encoding standards, checked against Node 20; where Workers differ, Workers win (noted).
// No timers: setTimeout/setInterval are deliberately absent (the platform runs none). No streams:
// `body` is a one-chunk stand-in.
//
// Host hooks (called by Rust, captured right after this script runs):
//   __cortexRequest(json) -> Request    __cortexEnv(json) -> env    __cortexCtx() -> ctx
//   __cortexRespond(value) -> Promise of the Response as JSON
//   __cortexWaitUntil: the promises handed to ctx.waitUntil
// Bindings call the native __cortexBinding(name, op, argsJson), installed by Rust afterwards.
(function () {
  'use strict';

  // Internal state of every object made here, keyed by the object: user code cannot reach it,
  // and the host hooks can tell a genuine Response from a look-alike.
  const STATE = new WeakMap();
  const stateOf = (obj, kind) => {
    const s = obj !== null && (typeof obj === 'object' || typeof obj === 'function') ? STATE.get(obj) : undefined;
    return s !== undefined && s.kind === kind ? s : null;
  };
  const internals = (obj, kind) => {
    const s = stateOf(obj, kind);
    if (s === null) throw new TypeError('Illegal invocation');
    return s;
  };
  const make = (cls, state) => { const o = Object.create(cls.prototype); STATE.set(o, state); return o; };
  const define = (target, name, value) => Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
  const tag = (cls, name) => Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: name, configurable: true });
  const callbackError = () => new TypeError('The "callback" argument must be of type function');
  // Read-only accessors on cls.prototype for fields of the internal state.
  const fields = (cls, kind, names) => {
    for (const n of names) Object.defineProperty(cls.prototype, n, { configurable: true, get() { return internals(this, kind)[n]; } });
  };

  // ---------------------------------------------------------------- UTF-8
  const isLead = (c) => c >= 0xd800 && c <= 0xdbff;
  const isTrail = (c) => c >= 0xdc00 && c <= 0xdfff;

  // USVString conversion: lone surrogates become U+FFFD.
  function toUSV(v) {
    const s = String(v);
    if (!/[\uD800-\uDFFF]/.test(s)) return s;
    let out = '';
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (isLead(c) && isTrail(s.charCodeAt(i + 1))) out += s[i] + s[++i];
      else out += isLead(c) || isTrail(c) ? '\uFFFD' : s[i];
    }
    return out;
  }

  function utf8Encode(str) {
    const buf = new Uint8Array(str.length * 3); // no UTF-16 unit needs more than 3 bytes
    let n = 0;
    for (let i = 0; i < str.length; i++) {
      let c = str.charCodeAt(i);
      if (isLead(c) && isTrail(str.charCodeAt(i + 1))) c = 0x10000 + ((c - 0xd800) << 10) + (str.charCodeAt(++i) - 0xdc00);
      else if (isLead(c) || isTrail(c)) c = 0xfffd;
      if (c < 0x80) buf[n++] = c;
      else if (c < 0x800) { buf[n++] = 0xc0 | (c >> 6); buf[n++] = 0x80 | (c & 63); }
      else if (c < 0x10000) { buf[n++] = 0xe0 | (c >> 12); buf[n++] = 0x80 | ((c >> 6) & 63); buf[n++] = 0x80 | (c & 63); }
      else { buf[n++] = 0xf0 | (c >> 18); buf[n++] = 0x80 | ((c >> 12) & 63); buf[n++] = 0x80 | ((c >> 6) & 63); buf[n++] = 0x80 | (c & 63); }
    }
    return buf.slice(0, n);
  }

  // WHATWG UTF-8 decode: each maximal invalid subpart becomes one U+FFFD (or throws if fatal).
  function utf8Decode(bytes, fatal, keepBOM) {
    const len = bytes.length;
    let i = !keepBOM && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    let out = '', units = [];
    const push = (cp) => {
      if (cp >= 0x10000) { cp -= 0x10000; units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff)); } else units.push(cp);
      if (units.length > 8000) { out += String.fromCharCode.apply(null, units); units = []; }
    };
    const bad = () => {
      if (fatal) throw new TypeError('The encoded data was not valid for encoding utf-8');
      push(0xfffd);
    };
    while (i < len) {
      const b = bytes[i];
      if (b < 0x80) { push(b); i++; continue; }
      let need, cp, lower = 0x80, upper = 0xbf;
      if (b >= 0xc2 && b <= 0xdf) { need = 1; cp = b & 0x1f; }
      else if (b >= 0xe0 && b <= 0xef) { need = 2; cp = b & 0xf; if (b === 0xe0) lower = 0xa0; if (b === 0xed) upper = 0x9f; }
      else if (b >= 0xf0 && b <= 0xf4) { need = 3; cp = b & 7; if (b === 0xf0) lower = 0x90; if (b === 0xf4) upper = 0x8f; }
      else { bad(); i++; continue; }
      let j = i + 1, ok = true;
      for (let k = 0; k < need; k++, j++) {
        if (j >= len || bytes[j] < lower || bytes[j] > upper) { ok = false; break; }
        lower = 0x80; upper = 0xbf;
        cp = (cp << 6) | (bytes[j] & 0x3f);
      }
      if (ok) push(cp); else bad(); // the offending byte (at j) starts the next sequence
      i = j;
    }
    return out + String.fromCharCode.apply(null, units);
  }

  // The bytes of an ArrayBuffer or ArrayBufferView (same memory), or null for anything else.
  function bytesOf(v) {
    if (v instanceof ArrayBuffer) return new Uint8Array(v);
    if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    return null;
  }

  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input) { return utf8Encode(toUSV(input === undefined ? '' : input)); }
  }

  // UTF-8 only; `{ stream: true }` is accepted but nothing is buffered across calls.
  class TextDecoder {
    constructor(label, options) {
      const l = label === undefined ? 'utf-8' : String(label).trim().toLowerCase();
      if (l !== 'utf-8' && l !== 'utf8' && l !== 'unicode-1-1-utf-8') throw new RangeError(`The "${label}" encoding is not supported`);
      STATE.set(this, { kind: 'TextDecoder', fatal: !!(options && options.fatal), ignoreBOM: !!(options && options.ignoreBOM) });
    }
    get encoding() { return 'utf-8'; }
    decode(input) {
      const s = internals(this, 'TextDecoder');
      if (input === undefined) return '';
      const b = bytesOf(input);
      if (b === null) throw new TypeError('The "input" argument must be an instance of ArrayBuffer or ArrayBufferView');
      return utf8Decode(b, s.fatal, s.ignoreBOM);
    }
  }
  fields(TextDecoder, 'TextDecoder', ['fatal', 'ignoreBOM']);

  // ---------------------------------------------------------------- DOMException, base64
  const CODES = { IndexSizeError: 1, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11, SyntaxError: 12, InvalidCharacterError: 5, AbortError: 20, QuotaExceededError: 22, DataCloneError: 25 };
  class DOMException extends Error {
    constructor(message, name) {
      super(message === undefined ? '' : String(message));
      define(this, 'name', name === undefined ? 'Error' : String(name));
      define(this, 'code', CODES[this.name] || 0);
    }
  }

  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const invalidChar = (message) => new DOMException(message || 'Invalid character', 'InvalidCharacterError');
  function btoa(data) {
    if (arguments.length === 0) throw new TypeError('The "data" argument must be specified');
    const s = String(data);
    let out = '';
    for (let i = 0; i < s.length; i += 3) {
      const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
      if (a > 255 || b > 255 || c > 255) throw invalidChar();
      const n = (a << 16) | ((b || 0) << 8) | (c || 0);
      out += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < s.length ? B64[(n >> 6) & 63] : '=') + (i + 2 < s.length ? B64[n & 63] : '=');
    }
    return out;
  }
  function atob(data) {
    if (arguments.length === 0) throw new TypeError('The "data" argument must be specified');
    let s = String(data).replace(/[\t\n\f\r ]/g, '');
    if (s.length % 4 === 0) s = s.replace(/==?$/, '');
    if (/[^A-Za-z0-9+/]/.test(s)) throw invalidChar();
    if (s.length % 4 === 1) throw invalidChar('The string to be decoded is not correctly encoded.');
    let out = '', bits = 0, acc = 0;
    for (let i = 0; i < s.length; i++) {
      acc = ((acc << 6) | B64.indexOf(s[i])) & 0xffffff;
      bits += 6;
      if (bits >= 8) { bits -= 8; out += String.fromCharCode((acc >> bits) & 255); }
    }
    return out;
  }

  // ---------------------------------------------------------------- percent-encoding
  // Percent-encode sets as 128-entry tables (everything above U+007E is always encoded).
  function encodeSet(chars, parent) {
    const t = parent ? parent.slice() : new Array(128).fill(false).map((_, c) => c < 0x20 || c === 0x7f);
    for (const ch of chars) t[ch.charCodeAt(0)] = true;
    return t;
  }
  const C0 = encodeSet('');
  const FRAGMENT = encodeSet(' "<>`', C0);
  const QUERY = encodeSet(' "#<>', C0);
  const SPECIAL_QUERY = encodeSet("'", QUERY);
  const PATH = encodeSet('?`{}', QUERY);
  const USERINFO = encodeSet('/:;=@[\\]^|', PATH);
  const FORM = encodeSet("$%&+,!'()~", USERINFO); // application/x-www-form-urlencoded
  const HEX = '0123456789ABCDEF';
  const pct = (b) => '%' + HEX[b >> 4] + HEX[b & 15];

  function pctEncode(str, table, spaceAsPlus) {
    let out = '';
    for (let i = 0; i < str.length; i++) {
      const c = str.charCodeAt(i);
      if (c >= 0x80) {
        const ch = isLead(c) && isTrail(str.charCodeAt(i + 1)) ? str[i] + str[++i] : str[i];
        for (const b of utf8Encode(ch)) out += pct(b);
      } else if (spaceAsPlus && c === 0x20) out += '+';
      else out += table[c] ? pct(c) : str[i];
    }
    return out;
  }

  function pctDecode(str) {
    if (str.indexOf('%') < 0) return str;
    const b = utf8Encode(str), out = new Uint8Array(b.length);
    const hex = (x) => (x >= 48 && x <= 57) || (x >= 65 && x <= 70) || (x >= 97 && x <= 102);
    let n = 0;
    for (let i = 0; i < b.length; i++) {
      if (b[i] === 0x25 && hex(b[i + 1]) && hex(b[i + 2])) { out[n++] = parseInt(String.fromCharCode(b[i + 1], b[i + 2]), 16); i += 2; }
      else out[n++] = b[i];
    }
    return utf8Decode(out.subarray(0, n), false, true);
  }

  // ---------------------------------------------------------------- URLSearchParams
  function parseForm(str) {
    const list = [];
    for (const part of str.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq), value = eq < 0 ? '' : part.slice(eq + 1);
      list.push([pctDecode(name.replace(/\+/g, ' ')), pctDecode(value.replace(/\+/g, ' '))]);
    }
    return list;
  }
  const serializeForm = (list) => list.map(([n, v]) => pctEncode(n, FORM, true) + '=' + pctEncode(v, FORM, true)).join('&');

  // Live iterators (they see entries added while iterating), like the standard's.
  function* iterate(s, pick) {
    for (let i = 0; i < s.list.length; i++) yield pick(s.list[i]);
  }
  // Replaces the first entry named n with [n, v] and drops the others (URLSearchParams and Headers set()).
  function setFirst(list, n, v) {
    const i = list.findIndex((p) => p[0] === n);
    if (i < 0) return list.concat([[n, v]]);
    return list.filter((p, j) => j <= i || p[0] !== n).map((p, j) => (j === i ? [n, v] : p));
  }

  class URLSearchParams {
    constructor(init) {
      const s = { kind: 'URLSearchParams', list: [], url: null };
      STATE.set(this, s);
      if (init === undefined) return;
      if (init !== null && (typeof init === 'object' || typeof init === 'function')) {
        if (typeof init[Symbol.iterator] === 'function') {
          for (const pair of init) {
            const p = typeof pair === 'string' ? [] : Array.from(pair);
            if (p.length !== 2) throw new TypeError('Each query pair must be an iterable [name, value] tuple');
            s.list.push([toUSV(p[0]), toUSV(p[1])]);
          }
        } else for (const k of Object.keys(init)) s.list.push([toUSV(k), toUSV(init[k])]);
      } else { const str = toUSV(init); s.list = parseForm(str[0] === '?' ? str.slice(1) : str); }
    }
    get size() { return internals(this, 'URLSearchParams').list.length; }
    append(name, value) { const s = internals(this, 'URLSearchParams'); s.list.push([toUSV(name), toUSV(value)]); updateURL(s); }
    delete(name, value) {
      const s = internals(this, 'URLSearchParams');
      const n = toUSV(name), v = value === undefined ? undefined : toUSV(value);
      s.list = s.list.filter((p) => !(p[0] === n && (v === undefined || p[1] === v)));
      updateURL(s);
    }
    get(name) { const n = toUSV(name), p = internals(this, 'URLSearchParams').list.find((e) => e[0] === n); return p ? p[1] : null; }
    getAll(name) { const n = toUSV(name); return internals(this, 'URLSearchParams').list.filter((e) => e[0] === n).map((e) => e[1]); }
    has(name, value) {
      const n = toUSV(name), v = value === undefined ? undefined : toUSV(value);
      return internals(this, 'URLSearchParams').list.some((p) => p[0] === n && (v === undefined || p[1] === v));
    }
    set(name, value) { const s = internals(this, 'URLSearchParams'); s.list = setFirst(s.list, toUSV(name), toUSV(value)); updateURL(s); }
    sort() {
      // Stable, by UTF-16 code units, as the standard says.
      const s = internals(this, 'URLSearchParams');
      s.list = s.list.map((p, i) => [p, i]).sort((a, b) => (a[0][0] < b[0][0] ? -1 : a[0][0] > b[0][0] ? 1 : a[1] - b[1])).map((e) => e[0]);
      updateURL(s);
    }
    forEach(callback, thisArg) {
      if (typeof callback !== 'function') throw callbackError();
      const s = internals(this, 'URLSearchParams');
      for (let i = 0; i < s.list.length; i++) callback.call(thisArg, s.list[i][1], s.list[i][0], this);
    }
    entries() { return iterate(internals(this, 'URLSearchParams'), (p) => [p[0], p[1]]); }
    keys() { return iterate(internals(this, 'URLSearchParams'), (p) => p[0]); }
    values() { return iterate(internals(this, 'URLSearchParams'), (p) => p[1]); }
    toString() { return serializeForm(internals(this, 'URLSearchParams').list); }
  }
  URLSearchParams.prototype[Symbol.iterator] = URLSearchParams.prototype.entries;

  // A URL's searchParams write their list back into the URL's query ("" means no query).
  function updateURL(s) {
    if (s.url !== null) { const q = serializeForm(s.list); s.url.query = q === '' ? null : q; }
  }

  // ---------------------------------------------------------------- URL parsing (WHATWG)
  // A URL record: { scheme, username, password, host (null | string), port (null | number),
  // path (array of segments, or a string for an opaque path like mailto:), query, fragment }.
  // The parser follows the standard's state machine, one function per group of states.
  const DEFAULT_PORT = { ftp: 21, file: null, http: 80, https: 443, ws: 80, wss: 443 };
  const isSpecial = (scheme) => Object.prototype.hasOwnProperty.call(DEFAULT_PORT, scheme);
  const isSlash = (url, ch) => ch === '/' || (ch === '\\' && isSpecial(url.scheme));
  const authorityEnd = (url) => (isSpecial(url.scheme) ? /[\/\\?#]/ : /[\/?#]/);
  const stripSlashes = (s) => s.replace(/^[\/\\]*/, '');

  function parseURL(input, base) {
    input = input.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, '');
    const url = { scheme: '', username: '', password: '', host: null, port: null, path: [], query: null, fragment: null };
    const m = /^([a-zA-Z][a-zA-Z0-9+.\-]*):/.exec(input);
    if (m) {
      url.scheme = m[1].toLowerCase();
      const rest = input.slice(m[0].length);
      if (url.scheme === 'file') return parseFile(url, rest, base && base.scheme === 'file' ? base : null);
      if (isSpecial(url.scheme)) return base && base.scheme === url.scheme ? parseRelative(url, rest, base) : parseAuthority(url, stripSlashes(rest));
      if (rest.slice(0, 2) === '//') return parseAuthority(url, rest.slice(2));
      if (rest[0] === '/') return parseTail(url, rest);
      const cut = rest.search(/[?#]/); // an opaque path: mailto:, data:, urn:
      parseTail(url, cut < 0 ? '' : rest.slice(cut), true);
      url.path = pctEncode(cut < 0 ? rest : rest.slice(0, cut), C0);
      return url;
    }
    if (!base) return null;
    if (typeof base.path === 'string') {
      // Only a fragment resolves against a URL with an opaque path.
      if (input[0] !== '#') return null;
      return Object.assign(url, base, { fragment: pctEncode(input.slice(1), FRAGMENT) });
    }
    url.scheme = base.scheme;
    return base.scheme === 'file' ? parseFile(url, input, base) : parseRelative(url, input, base);
  }

  // Resolves `rest` against `base` from its path on: everything but a new authority comes from base.
  function fromBase(url, rest, base) {
    url.path = base.path.slice();
    if (rest === '' || rest[0] === '#') url.query = base.query;
    if (rest === '') return url;
    const tailOnly = rest[0] === '?' || rest[0] === '#';
    if (!tailOnly) shorten(url);
    return parseTail(url, rest, tailOnly);
  }

  function parseRelative(url, rest, base) {
    if (isSlash(url, rest[0]) && isSlash(url, rest[1])) return parseAuthority(url, isSpecial(url.scheme) ? stripSlashes(rest) : rest.slice(2));
    url.username = base.username; url.password = base.password; url.host = base.host; url.port = base.port;
    return isSlash(url, rest[0]) ? parseTail(url, rest) : fromBase(url, rest, base);
  }

  function parseFile(url, rest, base) {
    url.host = '';
    if (isSlash(url, rest[0]) && isSlash(url, rest[1])) {
      rest = rest.slice(2);
      const end = rest.search(/[\/\\?#]/);
      const hostText = end < 0 ? rest : rest.slice(0, end);
      if (/^[a-zA-Z][:|]$/.test(hostText)) return parseTail(url, rest); // file://C:/x: a drive, not a host
      if (hostText !== '') {
        const host = parseHost(hostText, false);
        if (host === null) return null;
        url.host = host === 'localhost' ? '' : host;
      }
      return parseTail(url, end < 0 ? '' : rest.slice(end));
    }
    if (!base) return parseTail(url, rest);
    url.host = base.host;
    return isSlash(url, rest[0]) ? parseTail(url, rest) : fromBase(url, rest, base);
  }

  function parseAuthority(url, s) {
    const end = s.search(authorityEnd(url));
    const auth = end < 0 ? s : s.slice(0, end);
    const at = auth.lastIndexOf('@');
    if (at >= 0) {
      const info = auth.slice(0, at), colon = info.indexOf(':');
      url.username = pctEncode(colon < 0 ? info : info.slice(0, colon), USERINFO);
      url.password = colon < 0 ? '' : pctEncode(info.slice(colon + 1), USERINFO);
      if (at === auth.length - 1) return null; // credentials but no host
    }
    if (!setHostAndPort(url, auth.slice(at + 1), true)) return null;
    return parseTail(url, end < 0 ? '' : s.slice(end));
  }

  // Sets host, and port when `hp` has one; false (url untouched) when either is invalid.
  function setHostAndPort(url, hp, portAllowed) {
    let inBrackets = false, colon = -1;
    for (let i = 0; i < hp.length && colon < 0; i++) {
      if (hp[i] === '[') inBrackets = true;
      else if (hp[i] === ']') inBrackets = false;
      else if (hp[i] === ':' && !inBrackets) colon = i;
    }
    const hostText = colon < 0 ? hp : hp.slice(0, colon);
    if ((hostText === '' && (colon >= 0 || isSpecial(url.scheme))) || (colon >= 0 && !portAllowed)) return false;
    const host = parseHost(hostText, !isSpecial(url.scheme));
    if (host === null) return false;
    let port = url.port;
    if (colon >= 0) {
      const text = hp.slice(colon + 1);
      if (!/^[0-9]*$/.test(text)) return false;
      if (text !== '') {
        port = parseInt(text, 10);
        if (port > 65535) return false;
        if (DEFAULT_PORT[url.scheme] === port) port = null;
      }
    }
    url.host = host;
    url.port = port;
    return true;
  }

  // Path, query and fragment; `keepPath` when a relative reference starts at its query or fragment.
  function parseTail(url, s, keepPath) {
    const hash = s.indexOf('#');
    if (hash >= 0) { url.fragment = pctEncode(s.slice(hash + 1), FRAGMENT); s = s.slice(0, hash); }
    const q = s.indexOf('?');
    if (q >= 0) { url.query = pctEncode(s.slice(q + 1), isSpecial(url.scheme) ? SPECIAL_QUERY : QUERY); s = s.slice(0, q); }
    if (!keepPath) parsePath(url, s);
    return url;
  }

  // Appends the segments of `p` to url.path, resolving `.` and `..` (also when percent-encoded).
  function parsePath(url, p) {
    const special = isSpecial(url.scheme);
    if (p === '' && !special) return;
    if (isSlash(url, p[0])) p = p.slice(1);
    const segments = p.split(special ? /[\/\\]/ : '/');
    segments.forEach((raw, i) => {
      const last = i === segments.length - 1;
      const seg = pctEncode(raw, PATH), low = seg.toLowerCase();
      if (low === '..' || low === '.%2e' || low === '%2e.' || low === '%2e%2e') {
        shorten(url);
        if (last) url.path.push('');
      } else if (low === '.' || low === '%2e') {
        if (last) url.path.push('');
      } else if (url.scheme === 'file' && url.path.length === 0 && /^[a-zA-Z][:|]$/.test(seg)) {
        url.path.push(seg[0] + ':'); // file:///C|/x is file:///C:/x
      } else url.path.push(seg);
    });
  }

  function shorten(url) {
    if (url.scheme === 'file' && url.path.length === 1 && /^[a-zA-Z]:$/.test(url.path[0])) return;
    url.path.pop();
  }

  // Deliberate deviation: no IDNA/punycode. Domains are percent-decoded and lower-cased;
  // non-ASCII domains are kept as written instead of becoming xn-- labels.
  function parseHost(input, opaque) {
    if (input[0] === '[') {
      if (input[input.length - 1] !== ']') return null;
      const v6 = parseIPv6(input.slice(1, -1));
      return v6 === null ? null : '[' + v6 + ']';
    }
    if (opaque) return /[\u0000\t\n\r #\/:<>?@\[\\\]^|]/.test(input) ? null : pctEncode(input, C0);
    const domain = pctDecode(input).toLowerCase();
    if (domain === '' || /[\u0000-\u0020#%\/:<>?@\[\\\]^|\u007f]/.test(domain)) return null;
    const parts = domain.split('.');
    if (parts[parts.length - 1] === '' && parts.length > 1) parts.pop();
    const last = parts[parts.length - 1];
    return /^[0-9]+$/.test(last) || /^0x[0-9a-f]*$/.test(last) ? parseIPv4(parts) : domain;
  }

  // Dotted parts in decimal, octal (leading 0) or hex (0x); the last part fills the rest.
  function parseIPv4(parts) {
    if (parts.length > 4) return null;
    const nums = [];
    for (let p of parts) {
      let radix = 10;
      if (/^0x/.test(p)) { p = p.slice(2); radix = 16; } else if (p.length > 1 && p[0] === '0') { p = p.slice(1); radix = 8; }
      if (!(radix === 16 ? /^[0-9a-f]*$/ : radix === 8 ? /^[0-7]*$/ : /^[0-9]+$/).test(p)) return null;
      nums.push(p === '' ? 0 : parseInt(p, radix));
    }
    const n = nums.length;
    if (nums.slice(0, n - 1).some((x) => x > 255) || nums[n - 1] >= Math.pow(256, 5 - n)) return null;
    let v = nums[n - 1];
    for (let i = 0; i < n - 1; i++) v += nums[i] * Math.pow(256, 3 - i);
    return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
  }

  // An IPv6 address (with optional "::", and IPv4 in the last 32 bits) in canonical form:
  // lower-case hex pieces, the first longest run of two or more zero pieces written "::".
  function parseIPv6(input) {
    let text = input.toLowerCase();
    const v4 = /^(.*:)([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)$/.exec(text);
    if (v4) {
      const o = v4.slice(2).map(Number);
      if (v4.slice(2).some((d, k) => o[k] > 255 || (d.length > 1 && d[0] === '0'))) return null;
      text = v4[1] + ((o[0] << 8) | o[1]).toString(16) + ':' + ((o[2] << 8) | o[3]).toString(16);
    }
    const halves = text.split('::');
    if (halves.length > 2) return null;
    const head = halves[0] === '' ? [] : halves[0].split(':');
    const tail = halves.length < 2 || halves[1] === '' ? [] : halves[1].split(':');
    const missing = 8 - head.length - tail.length;
    if (head.concat(tail).some((g) => !/^[0-9a-f]{1,4}$/.test(g)) || (halves.length === 2 ? missing < 1 : missing !== 0)) return null;
    const a = head.concat(new Array(missing).fill('0'), tail).map((g) => parseInt(g, 16));
    let best = -1, bestLen = 1;
    for (let k = 0, e; k < 8; k = Math.max(e, k + 1)) {
      for (e = k; e < 8 && a[e] === 0;) e++;
      if (e - k > bestLen) { best = k; bestLen = e - k; }
    }
    if (best < 0) return a.map((x) => x.toString(16)).join(':');
    const hex = (xs) => xs.map((x) => x.toString(16)).join(':');
    return hex(a.slice(0, best)) + '::' + hex(a.slice(best + bestLen));
  }

  const pathname = (u) => (typeof u.path === 'string' ? u.path : u.path.map((s) => '/' + s).join(''));
  function serializeURL(u) {
    let out = u.scheme + ':';
    if (u.host !== null) {
      out += '//';
      if (u.username !== '' || u.password !== '') out += u.username + (u.password !== '' ? ':' + u.password : '') + '@';
      out += u.host + (u.port !== null ? ':' + u.port : '');
    } else if (typeof u.path !== 'string' && u.path.length > 1 && u.path[0] === '') out += '/.';
    return out + pathname(u) + (u.query !== null ? '?' + u.query : '') + (u.fragment !== null ? '#' + u.fragment : '');
  }
  function origin(u) {
    if (u.scheme === 'blob') {
      const inner = typeof u.path === 'string' ? parseURL(u.path, null) : null;
      return inner && (inner.scheme === 'http' || inner.scheme === 'https') ? origin(inner) : 'null';
    }
    if (!isSpecial(u.scheme) || u.scheme === 'file') return 'null';
    return u.scheme + '://' + u.host + (u.port !== null ? ':' + u.port : '');
  }

  function invalidURL(input) {
    const e = new TypeError('Invalid URL'); // Node's wording, with its code and input
    define(e, 'code', 'ERR_INVALID_URL');
    define(e, 'input', input);
    return e;
  }
  function parseWithBase(url, base) {
    let b = null;
    if (base !== undefined && (b = parseURL(toUSV(base), null)) === null) return null;
    return parseURL(toUSV(url), b);
  }

  class URL {
    constructor(url, base) {
      if (arguments.length === 0) throw new TypeError('The "url" argument must be specified');
      const record = parseWithBase(url, base);
      if (record === null) throw invalidURL(String(url));
      const params = new URLSearchParams(record.query || '');
      STATE.get(params).url = record;
      STATE.set(this, { kind: 'URL', url: record, params });
    }
    static canParse(url, base) { return parseWithBase(url, base) !== null; }
    static parse(url, base) { const r = parseWithBase(url, base); return r === null ? null : new URL(serializeURL(r)); }
    get href() { return serializeURL(internals(this, 'URL').url); }
    set href(v) {
      const s = internals(this, 'URL'), r = parseURL(toUSV(v), null);
      if (r === null) throw invalidURL(String(v));
      Object.assign(s.url, r);
      STATE.get(s.params).list = parseForm(r.query || '');
    }
    get origin() { return origin(internals(this, 'URL').url); }
    get protocol() { return internals(this, 'URL').url.scheme + ':'; }
    set protocol(v) {
      const u = internals(this, 'URL').url, m = /^([a-zA-Z][a-zA-Z0-9+.\-]*):/.exec(toUSV(v) + ':');
      if (!m) return;
      const scheme = m[1].toLowerCase();
      // As the standard says: no switching between special and other schemes, and file: has no
      // credentials or port.
      if (isSpecial(scheme) !== isSpecial(u.scheme)) return;
      if (scheme === 'file' && (u.username !== '' || u.password !== '' || u.port !== null)) return;
      if (u.scheme === 'file' && u.host === '') return;
      u.scheme = scheme;
      if (u.port === DEFAULT_PORT[scheme]) u.port = null;
    }
    get username() { return internals(this, 'URL').url.username; }
    set username(v) { const u = internals(this, 'URL').url; if (hasCredentials(u)) u.username = pctEncode(toUSV(v), USERINFO); }
    get password() { return internals(this, 'URL').url.password; }
    set password(v) { const u = internals(this, 'URL').url; if (hasCredentials(u)) u.password = pctEncode(toUSV(v), USERINFO); }
    get host() { const u = internals(this, 'URL').url; return u.host === null ? '' : u.host + (u.port !== null ? ':' + u.port : ''); }
    set host(v) { setHost(internals(this, 'URL').url, toUSV(v), true); }
    get hostname() { const u = internals(this, 'URL').url; return u.host === null ? '' : u.host; }
    set hostname(v) { setHost(internals(this, 'URL').url, toUSV(v), false); } // "a:1" is ignored, like Node
    get port() { const u = internals(this, 'URL').url; return u.port === null ? '' : String(u.port); }
    set port(v) {
      const u = internals(this, 'URL').url, text = toUSV(v);
      if (!hasCredentials(u)) return;
      if (text === '') { u.port = null; return; }
      const digits = /^[0-9]*/.exec(text)[0]; // "8080abc" sets 8080, as the standard says
      if (digits === '' || parseInt(digits, 10) > 65535) return;
      u.port = parseInt(digits, 10) === DEFAULT_PORT[u.scheme] ? null : parseInt(digits, 10);
    }
    get pathname() { return pathname(internals(this, 'URL').url); }
    set pathname(v) {
      const u = internals(this, 'URL').url;
      if (typeof u.path !== 'string') { u.path = []; parsePath(u, toUSV(v)); }
    }
    get search() { const q = internals(this, 'URL').url.query; return q === null || q === '' ? '' : '?' + q; }
    set search(v) {
      const s = internals(this, 'URL'), raw = toUSV(v), text = raw[0] === '?' ? raw.slice(1) : raw;
      // "" removes the query; "?" leaves an empty one (the href ends in "?").
      s.url.query = raw === '' ? null : pctEncode(text, isSpecial(s.url.scheme) ? SPECIAL_QUERY : QUERY);
      STATE.get(s.params).list = parseForm(text);
    }
    get searchParams() { return internals(this, 'URL').params; }
    get hash() { const f = internals(this, 'URL').url.fragment; return f === null || f === '' ? '' : '#' + f; }
    set hash(v) {
      const u = internals(this, 'URL'), raw = toUSV(v);
      u.url.fragment = raw === '' ? null : pctEncode(raw[0] === '#' ? raw.slice(1) : raw, FRAGMENT);
    }
    toString() { return this.href; }
    toJSON() { return this.href; }
  }

  // Whether the URL can carry a username, password and port.
  const hasCredentials = (u) => u.host !== null && u.host !== '' && u.scheme !== 'file';

  function setHost(u, value, portAllowed) {
    if (typeof u.path === 'string') return;
    const end = value.search(authorityEnd(u));
    const hp = end < 0 ? value : value.slice(0, end);
    if (u.scheme === 'file') {
      const host = hp === '' ? '' : hp.indexOf(':') >= 0 ? null : parseHost(hp, false);
      if (host !== null) u.host = host === 'localhost' ? '' : host;
      return;
    }
    const copy = Object.assign({}, u);
    if (setHostAndPort(copy, hp, portAllowed)) { u.host = copy.host; u.port = copy.port; }
  }

  // ---------------------------------------------------------------- Headers
  const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const IMMUTABLE = "Can't modify immutable headers."; // Workers' wording

  function headerName(name, method) {
    const n = String(name);
    if (!TOKEN.test(n)) throw new TypeError(`Headers.${method}: "${n}" is an invalid header name.`);
    return n.toLowerCase();
  }
  function headerValue(value, method) {
    const raw = String(value), wide = raw.search(/[^\u0000-\u00ff]/); // values are ByteStrings
    if (wide >= 0) throw new TypeError(`Cannot convert argument to a ByteString because the character at index ${wide} has a value of ${raw.charCodeAt(wide)} which is greater than 255.`);
    const v = raw.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
    if (/[\u0000\n\r]/.test(v)) throw new TypeError(`Headers.${method}: "${raw}" is an invalid header value.`);
    return v;
  }
  function mutable(headers) {
    const s = internals(headers, 'Headers');
    if (s.guard === 'immutable') throw new TypeError(IMMUTABLE);
    return s;
  }

  class Headers {
    constructor(init) {
      STATE.set(this, { kind: 'Headers', list: [], guard: 'none' });
      if (init === undefined || init === null) return;
      if (typeof init !== 'object' && typeof init !== 'function') {
        throw new TypeError("Failed to construct 'Headers': The provided value is not of type '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'.");
      }
      if (typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          const p = Array.from(pair);
          if (p.length !== 2) throw new TypeError(`Headers constructor: expected name/value pair to be length 2, found ${p.length}.`);
          this.append(p[0], p[1]);
        }
      } else for (const k of Object.keys(init)) this.append(k, init[k]);
    }
    append(name, value) {
      const n = headerName(name, 'append'), v = headerValue(value, 'append');
      mutable(this).list.push([n, v]);
    }
    delete(name) { const n = headerName(name, 'delete'), s = mutable(this); s.list = s.list.filter((p) => p[0] !== n); }
    get(name) {
      const n = headerName(name, 'get'), values = internals(this, 'Headers').list.filter((p) => p[0] === n).map((p) => p[1]);
      return values.length === 0 ? null : values.join(', ');
    }
    getSetCookie() { return internals(this, 'Headers').list.filter((p) => p[0] === 'set-cookie').map((p) => p[1]); }
    has(name) { const n = headerName(name, 'has'); return internals(this, 'Headers').list.some((p) => p[0] === n); }
    set(name, value) {
      const n = headerName(name, 'set'), v = headerValue(value, 'set'), s = mutable(this);
      s.list = setFirst(s.list, n, v);
    }
    forEach(callback, thisArg) {
      if (typeof callback !== 'function') throw callbackError();
      for (const [n, v] of sortAndCombine(internals(this, 'Headers').list)) callback.call(thisArg, v, n, this);
    }
    entries() { return sortAndCombine(internals(this, 'Headers').list)[Symbol.iterator](); }
    keys() { return sortAndCombine(internals(this, 'Headers').list).map((p) => p[0])[Symbol.iterator](); }
    values() { return sortAndCombine(internals(this, 'Headers').list).map((p) => p[1])[Symbol.iterator](); }
  }
  Headers.prototype[Symbol.iterator] = Headers.prototype.entries;

  // Sorted by (lower-case) name; one name's values joined by ", ", except set-cookie: one each.
  function sortAndCombine(list) {
    const out = [];
    for (const n of Array.from(new Set(list.map((p) => p[0]))).sort()) {
      const values = list.filter((p) => p[0] === n).map((p) => p[1]);
      if (n === 'set-cookie') for (const v of values) out.push([n, v]);
      else out.push([n, values.join(', ')]);
    }
    return out;
  }
  const makeHeaders = (list, guard) => make(Headers, { kind: 'Headers', list: list.map((p) => [p[0], p[1]]), guard });
  const copyHeaders = (h) => { const s = STATE.get(h); return makeHeaders(s.list, s.guard); };

  // ---------------------------------------------------------------- bodies
  // A body is { source: string | Uint8Array, used, stream }; no body is null.
  const USED = 'Body has already been used';
  const newBody = (source) => ({ source, used: false, stream: null });

  // -> { body, type }: the body and the content-type it implies (null for none).
  function extractBody(init) {
    if (init instanceof URLSearchParams) return { body: newBody(init.toString()), type: 'application/x-www-form-urlencoded;charset=UTF-8' };
    const bytes = bytesOf(init);
    if (bytes !== null) return { body: newBody(bytes.slice()), type: null };
    const stream = stateOf(init, 'BodyStream');
    if (stream !== null) {
      // Another message's body handed on (proxying): the new body takes its bytes.
      if (stream.body.used) throw new TypeError('This ReadableStream is disturbed (has already been read from), and cannot be used as a body.');
      stream.body.used = true;
      return { body: newBody(stream.body.source), type: null };
    }
    // Anything else becomes a string, as WebIDL does (`new Response({})` is "[object Object]").
    return { body: newBody(toUSV(init)), type: 'text/plain;charset=UTF-8' };
  }
  function take(body) {
    if (body === null) return new Uint8Array(0);
    if (body.used) throw new TypeError(USED);
    body.used = true;
    return typeof body.source === 'string' ? utf8Encode(body.source) : body.source.slice();
  }
  function takeText(body) {
    if (body !== null && !body.used && typeof body.source === 'string') { body.used = true; return body.source; }
    return utf8Decode(take(body), false, false);
  }
  function cloneBody(body) {
    if (body !== null && body.used) throw new TypeError(USED);
    return body === null ? null : newBody(body.source);
  }

  // A stand-in for ReadableStream: one chunk with all the bytes, then done. Enough for
  // getReader().read() loops, `for await (const chunk of body)`, and passing a body on.
  class BodyStream {
    get locked() { return internals(this, 'BodyStream').locked; }
    getReader() {
      const s = internals(this, 'BodyStream');
      if (s.locked) throw new TypeError('ReadableStream is locked');
      s.locked = true;
      let chunk, failure = null;
      try { chunk = take(s.body); } catch (e) { failure = e; }
      return {
        read() {
          if (failure !== null) return Promise.reject(failure);
          const value = chunk;
          chunk = undefined;
          return Promise.resolve(value === undefined || value.length === 0 ? { value: undefined, done: true } : { value, done: false });
        },
        releaseLock() { s.locked = false; },
        cancel() { chunk = undefined; return Promise.resolve(); },
        closed: Promise.resolve(undefined),
      };
    }
    cancel() { internals(this, 'BodyStream').body.used = true; return Promise.resolve(); }
    async *[Symbol.asyncIterator]() {
      const reader = this.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) yield r.value;
    }
  }

  // text(), json(), arrayBuffer(), bytes(), blob(), formData(), body and bodyUsed.
  function mixBody(cls, kind) {
    const read = (self, f) => {
      try { return Promise.resolve(f(internals(self, kind).body)); } catch (e) { return Promise.reject(e); }
    };
    const unsupported = (what, instead) => Promise.reject(new TypeError(`${kind}.${what}() is not supported in the emulator; use ${instead}`));
    const methods = {
      text() { return read(this, takeText); },
      json() { return read(this, (b) => JSON.parse(takeText(b))); },
      arrayBuffer() { return read(this, (b) => take(b).buffer); },
      bytes() { return read(this, take); },
      blob() { return unsupported('blob', 'arrayBuffer() or bytes()'); },
      formData() { return unsupported('formData', 'text() with URLSearchParams'); },
    };
    for (const name of Object.keys(methods)) define(cls.prototype, name, methods[name]);
    Object.defineProperty(cls.prototype, 'bodyUsed', { configurable: true, get() { const b = internals(this, kind).body; return b !== null && b.used; } });
    Object.defineProperty(cls.prototype, 'body', {
      configurable: true,
      get() {
        const b = internals(this, kind).body;
        if (b !== null && b.stream === null) b.stream = make(BodyStream, { kind: 'BodyStream', body: b, locked: false });
        return b === null ? null : b.stream;
      },
    });
  }
  const typeFor = (headers, type) => { if (type !== null && !headers.has('content-type')) headers.append('content-type', type); };

  // ---------------------------------------------------------------- Request
  const METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'];
  function normalizeMethod(m) {
    const text = String(m), upper = text.toUpperCase();
    if (!TOKEN.test(text)) throw new TypeError(`'${text}' is not a valid HTTP method.`);
    if (upper === 'CONNECT' || upper === 'TRACE' || upper === 'TRACK') throw new TypeError(`'${text}' HTTP method is unsupported.`);
    // Only the standard methods are upper-cased ("patch" stays "patch"), as the Fetch standard says.
    return METHODS.indexOf(upper) >= 0 ? upper : text;
  }
  const pick = (init, src, key, fallback) => (init[key] !== undefined ? init[key] : src ? src[key] : fallback);

  class Request {
    constructor(input, init) {
      if (arguments.length === 0) throw new TypeError("Failed to construct 'Request': 1 argument required, but only 0 present.");
      init = init === undefined || init === null ? {} : init;
      const src = stateOf(input, 'Request');
      let url = src && src.url;
      if (src === null) {
        const r = parseURL(toUSV(input), null); // Workers have no base URL: relative URLs fail
        if (r === null) throw new TypeError(`Failed to parse URL from ${input}`);
        if (r.username !== '' || r.password !== '') throw new TypeError(`Request cannot be constructed from a URL that includes credentials: ${input}`);
        url = serializeURL(r);
      }
      const method = init.method !== undefined ? normalizeMethod(init.method) : src ? src.method : 'GET';
      const headers = new Headers(pick(init, src, 'headers', undefined));
      let body = null;
      if (init.body !== undefined && init.body !== null) {
        const extracted = extractBody(init.body);
        body = extracted.body;
        typeFor(headers, extracted.type);
      } else if (src && src.body !== null) {
        if (src.body.used) throw new TypeError('Cannot construct a Request with a Request object that has already been used.');
        body = newBody(src.body.source);
        src.body.used = true; // the new request takes the body, as the standard says
      }
      if (body !== null && (method === 'GET' || method === 'HEAD')) throw new TypeError('Request with GET/HEAD method cannot have body.');
      const redirect = String(pick(init, src, 'redirect', 'follow'));
      if (['follow', 'error', 'manual'].indexOf(redirect) < 0) {
        throw new TypeError(`Failed to construct 'Request': The provided value '${redirect}' is not a valid enum value of type RequestRedirect.`);
      }
      STATE.set(this, { kind: 'Request', url, method, headers, body, redirect, signal: pick(init, src, 'signal', null), cf: pick(init, src, 'cf', {}) });
    }
    get integrity() { return ''; }
    get keepalive() { return false; }
    clone() {
      const s = internals(this, 'Request');
      return make(Request, Object.assign({}, s, { body: cloneBody(s.body), headers: copyHeaders(s.headers) }));
    }
  }
  fields(Request, 'Request', ['method', 'url', 'headers', 'redirect', 'signal', 'cf']);
  mixBody(Request, 'Request');

  // ---------------------------------------------------------------- Response
  const NULL_BODY = [101, 204, 205, 304];
  const REDIRECTS = [301, 302, 303, 307, 308];
  function toUint16(v) { // WebIDL `unsigned short`
    const n = Number(v);
    if (!isFinite(n)) return 0;
    const m = Math.trunc(n) % 65536;
    return m < 0 ? m + 65536 : m;
  }
  const makeResponse = (s) => make(Response, Object.assign({ kind: 'Response', type: 'default', status: 200, statusText: '', url: '', body: null }, s));

  class Response {
    constructor(body, init) {
      init = init === undefined || init === null ? {} : init;
      const status = init.status === undefined ? 200 : toUint16(init.status);
      // Chrome's wording (Node's differs: `init["status"] must be in the range of 200 to 599, inclusive.`).
      if (status < 200 || status > 599) throw new RangeError(`Failed to construct 'Response': The status provided (${status}) is outside the range [200, 599].`);
      const statusText = init.statusText === undefined ? '' : String(init.statusText);
      if (!/^[\t\u0020-\u007e\u0080-\u00ff]*$/.test(statusText)) throw new TypeError("Failed to construct 'Response': Invalid statusText");
      const headers = new Headers(init.headers);
      let b = null;
      if (body !== undefined && body !== null) {
        if (NULL_BODY.indexOf(status) >= 0) throw new TypeError('Response with null body status cannot have body');
        const extracted = extractBody(body);
        b = extracted.body;
        typeFor(headers, extracted.type);
      }
      STATE.set(this, { kind: 'Response', type: 'default', status, statusText, headers, body: b, url: '' });
    }
    static json(data, init) {
      const text = JSON.stringify(data);
      if (text === undefined) throw new TypeError('Value is not JSON serializable');
      init = init === undefined || init === null ? {} : init;
      const headers = new Headers(init.headers);
      typeFor(headers, 'application/json');
      return new Response(text, { status: init.status, statusText: init.statusText, headers });
    }
    static redirect(url, status) {
      const r = parseURL(toUSV(url), null);
      if (r === null) throw new TypeError(`Failed to parse URL from ${url}`);
      const code = status === undefined ? 302 : toUint16(status);
      if (REDIRECTS.indexOf(code) < 0) throw new RangeError(`Failed to execute 'redirect' on 'Response': Invalid status code ${code}`);
      return makeResponse({ status: code, headers: makeHeaders([['location', serializeURL(r)]], 'immutable') });
    }
    static error() { return makeResponse({ type: 'error', status: 0, headers: makeHeaders([], 'immutable') }); }
    get ok() { const s = internals(this, 'Response').status; return s >= 200 && s <= 299; }
    get redirected() { return false; }
    get webSocket() { return null; }
    clone() {
      const s = internals(this, 'Response');
      return makeResponse(Object.assign({}, s, { body: cloneBody(s.body), headers: copyHeaders(s.headers) }));
    }
  }
  fields(Response, 'Response', ['status', 'statusText', 'headers', 'type', 'url']);
  mixBody(Response, 'Response');

  // ---------------------------------------------------------------- small globals
  // Structured clone of data: primitives, arrays, plain objects, Date, RegExp, Map, Set, Error,
  // ArrayBuffer and typed arrays, keeping shared references and cycles. Functions and symbols
  // throw DataCloneError; class instances come back as plain objects.
  function structuredClone(value) {
    const seen = new Map();
    const clone = (v) => {
      if (typeof v === 'function' || typeof v === 'symbol') throw new DOMException(`${String(v)} could not be cloned.`, 'DataCloneError');
      if (v === null || typeof v !== 'object') return v;
      if (seen.has(v)) return seen.get(v);
      const out = v instanceof Date ? new Date(v.getTime()) : v instanceof RegExp ? new RegExp(v.source, v.flags)
        : v instanceof ArrayBuffer ? v.slice(0) : ArrayBuffer.isView(v) ? new v.constructor(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength))
        : v instanceof Error ? new Error(v.message) : v instanceof Map ? new Map() : v instanceof Set ? new Set() : Array.isArray(v) ? [] : {};
      seen.set(v, out);
      if (v instanceof Error) define(out, 'name', v.name);
      else if (v instanceof Map) v.forEach((x, k) => out.set(clone(k), clone(x)));
      else if (v instanceof Set) v.forEach((x) => out.add(clone(x)));
      else if (Array.isArray(v) || Object.prototype.toString.call(out) === '[object Object]') for (const k of Object.keys(v)) out[k] = clone(v[k]);
      return out;
    };
    return clone(value);
  }

  function queueMicrotask(callback) {
    if (typeof callback !== 'function') throw callbackError();
    Promise.resolve().then(() => callback());
  }

  // NOT cryptographic: Math.random is all Boa offers, and the emulator is offline. The values have
  // the right shape (v4 UUIDs, filled arrays) but must not protect anything. No crypto.subtle.
  const crypto = {
    getRandomValues(array) {
      const integer = ArrayBuffer.isView(array) && !(array instanceof DataView || array instanceof Float32Array || array instanceof Float64Array);
      if (!integer) throw new DOMException('The data argument must be an integer-type TypedArray', 'TypeMismatchError');
      const b = bytesOf(array);
      if (b.length > 65536) throw new DOMException(`The ArrayBufferView's byte length (${b.length}) exceeds the number of bytes of entropy available via this API (65536)`, 'QuotaExceededError');
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(Math.random() * 256);
      return array;
    },
    randomUUID() {
      const b = crypto.getRandomValues(new Uint8Array(16));
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      const h = Array.from(b, (x) => (x < 16 ? '0' : '') + x.toString(16)).join('');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
  };

  const timeOrigin = Date.now();
  const performance = { timeOrigin, now() { return Date.now() - timeOrigin; } };

  const classes = { Headers, URLSearchParams, URL, TextEncoder, TextDecoder, DOMException, Request, Response, BodyStream };
  for (const name of Object.keys(classes)) tag(classes[name], name === 'BodyStream' ? 'ReadableStream' : name);
  delete classes.BodyStream; // not a global: there is no ReadableStream constructor
  const globals = Object.assign(classes, { atob, btoa, structuredClone, queueMicrotask, crypto, performance, navigator: { userAgent: 'Cloudflare-Workers' } });
  for (const name of Object.keys(globals)) define(globalThis, name, globals[name]);
  define(globalThis, 'self', globalThis);

  // ---------------------------------------------------------------- fetch (subrequests)
  // Workers' `fetch(input, init)`: a Promise of a Response. The request goes to the host's
  // synchronous `fetch` (the network mode, cassettes and the activation's subrequests).
  const hostFetch = globalThis.fetch;
  define(globalThis, 'fetch', async function fetch(input, init) {
    const request = new Request(input, init);
    const s = internals(request, 'Request');
    const headers = {};
    for (const [k, v] of STATE.get(s.headers).list) headers[k] = v;
    const body = s.body === null ? undefined : takeText(s.body);
    const r = hostFetch(s.url, { method: s.method, headers, body });
    const list = [];
    for (const k of Object.keys(r.headers)) list.push([k, r.headers[k]]);
    const nullBody = NULL_BODY.indexOf(r.status) >= 0;
    const response = new Response(nullBody ? null : r.body, { status: r.status, statusText: r.statusText, headers: list });
    internals(response, 'Response').url = r.url;
    return response;
  });

  // ---------------------------------------------------------------- bindings
  // Calls the host synchronously (looked up now: Rust installs it after this script) and settles
  // a Promise with the answer, as the real bindings are asynchronous.
  function callBinding(name, op, args) {
    return new Promise((resolve, reject) => {
      const native = globalThis.__cortexBinding;
      if (typeof native !== 'function') throw new Error('bindings are not available outside a request');
      const reply = JSON.parse(native(name, op, JSON.stringify(args)));
      if (reply !== null && typeof reply === 'object' && 'error' in reply) reject(new Error(String(reply.error)));
      else resolve(reply.ok === undefined ? null : reply.ok);
    });
  }
  const rejecting = (f) => function () { try { return f.apply(this, arguments); } catch (e) { return Promise.reject(e); } };

  const KV_TYPES = ['text', 'json', 'arrayBuffer', 'stream'];
  function keyValueBinding(name) {
    const get = rejecting((key, typeOrOptions) => {
      const type = typeof typeOrOptions === 'string' ? typeOrOptions : (typeOrOptions && typeOrOptions.type) || 'text';
      if (KV_TYPES.indexOf(type) < 0) throw new TypeError('Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".');
      return callBinding(name, 'get', { key: String(key) }).then((v) => {
        if (v === null || type === 'text') return v;
        if (type === 'json') return JSON.parse(v);
        return type === 'arrayBuffer' ? utf8Encode(v).buffer : new Response(v).body;
      });
    });
    return {
      get,
      getWithMetadata(key, type) { return get(key, type).then((value) => ({ value, metadata: null })); },
      // Options (expiration, expirationTtl, metadata) are accepted and ignored: the emulator's
      // store keeps values only, so getWithMetadata's metadata is always null.
      put: rejecting((key, value, options) => {
        const bytes = bytesOf(value), stream = stateOf(value, 'BodyStream');
        let text;
        if (typeof value === 'string') text = value;
        else if (bytes !== null) text = utf8Decode(bytes, false, true);
        else if (stream !== null) text = utf8Decode(take(stream.body), false, true);
        else throw new TypeError('KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.');
        return callBinding(name, 'put', { key: String(key), value: text }).then(() => undefined);
      }),
      delete(key) { return callBinding(name, 'delete', { key: String(key) }).then(() => undefined); },
      list(options) {
        const args = {};
        for (const k of ['prefix', 'limit', 'cursor']) if (options && options[k] !== undefined && options[k] !== null) args[k] = options[k];
        return callBinding(name, 'list', args);
      },
    };
  }

  // D1's bind rules: numbers, strings and null as they are; booleans as 1/0; buffers as byte
  // arrays; undefined, functions, symbols and bigints refused (at bind time, as D1 does); other
  // objects go to the host as JSON.
  function d1Value(v) {
    const t = typeof v;
    if (t === 'boolean') return v ? 1 : 0;
    if (t === 'undefined' || t === 'function' || t === 'symbol' || t === 'bigint') {
      throw new TypeError(`D1_TYPE_ERROR: Type '${t}' not supported for value '${t === 'symbol' ? v.toString() : v}'`);
    }
    const bytes = bytesOf(v);
    return bytes !== null ? Array.from(bytes) : v;
  }

  const statement = (name, sql, params) => make(D1PreparedStatement, { kind: 'D1PreparedStatement', name, sql, params });
  const query = rejecting((stmt, mode) => {
    const s = internals(stmt, 'D1PreparedStatement');
    return callBinding(s.name, 'query', { sql: s.sql, params: s.params, mode });
  });
  class D1PreparedStatement {
    bind(...values) { const s = internals(this, 'D1PreparedStatement'); return statement(s.name, s.sql, values.map(d1Value)); }
    all() { return query(this, 'all'); }
    run() { return query(this, 'run'); }
    raw(options) { return query(this, options && options.columnNames ? 'raw_columns' : 'raw'); }
    first(column) {
      return query(this, 'first').then((row) => {
        if (column === undefined || row === null) return row;
        if (!Object.prototype.hasOwnProperty.call(row, column)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
        return row[column];
      });
    }
  }
  tag(D1PreparedStatement, 'D1PreparedStatement');

  function databaseBinding(name) {
    return {
      prepare(sql) { return statement(name, String(sql), []); },
      exec(sql) { return callBinding(name, 'exec', { sql: String(sql) }); },
      batch: rejecting((statements) => {
        const list = Array.from(statements, (st) => {
          const s = stateOf(st, 'D1PreparedStatement');
          if (s === null) throw new TypeError('D1_BATCH_ERROR: batch() takes an array of prepared statements');
          return { sql: s.sql, params: s.params };
        });
        return callBinding(name, 'batch', { statements: list });
      }),
      dump() { return Promise.reject(new Error('D1 dump() is not supported in the emulator')); },
    };
  }

  // ---------------------------------------------------------------- host hooks
  const hook = (name, value) => Object.defineProperty(globalThis, name, { value, writable: false, configurable: false, enumerable: false });

  hook('__cortexRequest', function (json) {
    const o = JSON.parse(json);
    const method = normalizeMethod(o.method || 'GET');
    const r = parseURL(String(o.url), null);
    if (r === null) throw invalidURL(String(o.url));
    const hasBody = o.body !== null && o.body !== undefined && method !== 'GET' && method !== 'HEAD'; // a GET body is dropped
    return make(Request, {
      kind: 'Request', url: serializeURL(r), method, redirect: 'manual', signal: null, cf: {},
      // Names come from the host's HTTP parser and are taken as sent. The headers of an incoming
      // request are immutable, as in Workers (new Request(request) gives a mutable copy).
      headers: makeHeaders((o.headers || []).map((p) => [String(p[0]).toLowerCase(), String(p[1])]), 'immutable'),
      body: hasBody ? newBody(String(o.body)) : null,
    });
  });

  hook('__cortexEnv', function (json) {
    const env = {};
    for (const b of JSON.parse(json)) {
      const binding = b.kind === 'key-value' ? keyValueBinding(b.name) : b.kind === 'database' ? databaseBinding(b.name) : {};
      env[b.name] = binding;
      // The UPPER_SNAKE alias is not enumerable, so Object.keys(env) lists each binding once.
      const alias = b.name.replace(/-/g, '_').toUpperCase();
      if (!(alias in env)) define(env, alias, binding);
    }
    return env;
  });

  const waitUntil = [];
  hook('__cortexWaitUntil', waitUntil);
  hook('__cortexCtx', function () {
    return { waitUntil(promise) { waitUntil.push(Promise.resolve(promise)); }, passThroughOnException() {}, props: {} };
  });

  hook('__cortexRespond', function (value) {
    return new Promise((resolve) => {
      const s = stateOf(value, 'Response');
      if (!(value instanceof Response) || s === null) {
        throw new TypeError('The handler did not return a Response: fetch() must return a Response or a Promise of one');
      }
      if (s.type === 'error') throw new TypeError('Return value from serve handler must not be an error response (like Response.error()).');
      const body = takeText(s.body); // binary bodies are decoded as UTF-8, with U+FFFD for bad bytes
      resolve(JSON.stringify({ status: s.status, statusText: s.statusText, headers: sortAndCombine(STATE.get(s.headers).list), body }));
    });
  });
})();
