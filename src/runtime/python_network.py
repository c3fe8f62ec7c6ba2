# cortex-emu's network modules for the sandbox: `_socket`, `select` and `ssl`, so that `socket`,
# `http.client`, `urllib.request` (and what is built on them) import as in production.
#
# There are no real sockets. A socket is a virtual HTTP/1.1 connection: what the client sends is
# collected, and when it starts reading the answer, the request is parsed and handed to the host
# (`_host_fetch`), which applies the tool's network mode (replay from cassettes, record, live)
# and lists the exchange on the activation. TLS is the same object with `https` as its scheme.
import sys
import types
import json as _json

_os = sys.modules["os"]
if not hasattr(_os, "_get_exports_list"):
    _os._get_exports_list = lambda module: [n for n in dir(module) if n[0] != "_"]
_socket = types.ModuleType("_socket")
_socket.__file__ = "<cortex-emu sandbox>"
_CONSTANTS = dict(
    AF_UNSPEC=0, AF_UNIX=1, AF_INET=2, AF_INET6=10, SOCK_STREAM=1, SOCK_DGRAM=2, SOCK_RAW=3,
    SOCK_SEQPACKET=5, SOCK_NONBLOCK=2048, SOCK_CLOEXEC=524288, IPPROTO_IP=0, IPPROTO_TCP=6,
    IPPROTO_UDP=17, IPPROTO_IPV6=41, SOL_SOCKET=1, SO_REUSEADDR=2, SO_KEEPALIVE=9, SO_ERROR=4,
    SO_SNDBUF=7, SO_RCVBUF=8, SO_TYPE=3, SO_BROADCAST=6, SO_LINGER=13, SO_REUSEPORT=15,
    TCP_NODELAY=1, TCP_KEEPIDLE=4, TCP_KEEPINTVL=5, TCP_KEEPCNT=6, SOMAXCONN=4096,
    MSG_PEEK=2, MSG_DONTWAIT=64, MSG_WAITALL=256, SHUT_RD=0, SHUT_WR=1, SHUT_RDWR=2,
    AI_PASSIVE=1, AI_CANONNAME=2, AI_NUMERICHOST=4, AI_NUMERICSERV=1024, AI_ADDRCONFIG=32,
    NI_NUMERICHOST=1, NI_NUMERICSERV=2, NI_NAMEREQD=8, INADDR_ANY=0, INADDR_LOOPBACK=0x7f000001,
    EAI_NONAME=-2, EAI_AGAIN=-3, EAI_FAIL=-4,
)
for _k, _v in _CONSTANTS.items():
    setattr(_socket, _k, _v)
_socket.has_ipv6 = False
_socket.error = OSError
_socket.timeout = TimeoutError


class herror(OSError):
    pass


class gaierror(OSError):
    pass


_socket.herror = herror
_socket.gaierror = gaierror

_NO_RAW = ("raw sockets are not available in the emulator's sandbox: outbound HTTP goes through "
           "urllib.request, http.client or requests (README \"Outbound HTTP\")")


def _split_head(data):
    head, sep, rest = data.partition(b"\r\n\r\n")
    return (head, rest) if sep else (None, data)


def _dechunk(data):
    out = bytearray()
    while True:
        line, sep, data = data.partition(b"\r\n")
        if not sep:
            return bytes(out)
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return bytes(out)
        out += data[:size]
        data = data[size + 2:]


class socket:
    """A virtual connection: one HTTP exchange at a time, answered by the host."""

    # Slots without __weakref__, so `socket.socket` can declare its own as on CPython.
    __slots__ = ("_family", "_type", "_proto", "_timeout", "_peer", "_scheme", "_sent",
                 "_answer", "_at")

    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        self._family = 2 if family in (-1, None) else family
        self._type = 1 if type in (-1, None) else type
        self._proto = 0 if proto in (-1, None) else proto
        self._timeout = None
        self._peer = None
        self._scheme = "http"
        self._sent = bytearray()
        self._answer = None   # bytes of the current response, once asked for
        self._at = 0

    family = property(lambda self: self._family)
    type = property(lambda self: self._type)
    proto = property(lambda self: self._proto)

    def fileno(self):
        return -1

    def settimeout(self, t):
        self._timeout = t

    def gettimeout(self):
        return self._timeout

    def setblocking(self, flag):
        self._timeout = None if flag else 0.0

    def getblocking(self):
        return self._timeout != 0.0

    def setsockopt(self, *args):
        pass

    def getsockopt(self, *args):
        return 0

    def connect(self, address):
        if self._type != 1 or not isinstance(address, tuple):
            raise PermissionError(1, _NO_RAW)
        self._peer = (str(address[0]), int(address[1]))

    def connect_ex(self, address):
        self.connect(address)
        return 0

    def getpeername(self):
        if self._peer is None:
            raise OSError(107, "Transport endpoint is not connected")
        return self._peer

    def getsockname(self):
        return ("127.0.0.1", 0)

    def bind(self, address):
        raise PermissionError(1, _NO_RAW)

    def listen(self, *args):
        raise PermissionError(1, _NO_RAW)

    def accept(self):
        raise PermissionError(1, _NO_RAW)

    def _check(self):
        if self._peer is None:
            raise OSError(107, "Transport endpoint is not connected")

    def send(self, data, flags=0):
        self._check()
        if self._answer is not None:
            # A new request on a kept-alive connection.
            self._answer, self._at = None, 0
        self._sent += bytes(data)
        return len(data)

    def sendall(self, data, flags=0):
        self.send(data, flags)

    def _exchange(self):
        head, rest = _split_head(bytes(self._sent))
        if head is None:
            raise OSError(104, "the request was not a complete HTTP request")
        lines = head.decode("iso-8859-1").split("\r\n")
        method, target, _version = (lines[0].split(" ") + ["", ""])[:3]
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append([name.strip(), value.strip()])
        lower = {k.lower(): v for k, v in headers}
        if "chunked" in lower.get("transfer-encoding", "").lower():
            body = _dechunk(rest)
            headers = [h for h in headers if h[0].lower() != "transfer-encoding"]
        else:
            body = rest[:int(lower.get("content-length", "0") or 0)]
        if target.startswith("http://") or target.startswith("https://"):
            url = target
        else:
            host = lower.get("host") or "%s:%d" % self._peer
            url = "%s://%s%s" % (self._scheme, host, target)
        request = {"method": method, "url": url, "headers": headers,
                   "body": body.decode("utf-8", "replace") if body else None}
        answer = _json.loads(_host_fetch(_json.dumps(request)))
        self._sent = bytearray()
        if "error" in answer:
            raise ConnectionRefusedError(111, answer["error"])
        r = answer["ok"]
        payload = r["body"].encode("utf-8")
        out = ["HTTP/1.1 %d %s" % (r["status"], r["statusText"] or "")]
        for k, v in r["headers"]:
            if k in ("content-length", "transfer-encoding", "connection"):
                continue
            out.append("%s: %s" % (k, v))
        out.append("content-length: %d" % len(payload))
        out.append("connection: keep-alive")
        self._answer = ("\r\n".join(out) + "\r\n\r\n").encode("utf-8") + payload
        self._at = 0

    def recv_into(self, buffer, nbytes=0, flags=0):
        self._check()
        if self._answer is None:
            self._exchange()
        n = nbytes or len(buffer)
        chunk = self._answer[self._at:self._at + n]
        buffer[:len(chunk)] = chunk
        self._at += len(chunk)
        return len(chunk)

    def recv(self, n, flags=0):
        buf = bytearray(n)
        got = self.recv_into(buf, n)
        return bytes(buf[:got])

    def shutdown(self, how):
        pass

    # What TLS clients (http.client, urllib3) ask of a wrapped socket: the host verified the
    # certificate, so the peer is the host that was asked for.
    def getpeercert(self, binary_form=False):
        if binary_form:
            return b""
        host = self._peer[0] if self._peer else ""
        return {"subject": ((("commonName", host),),), "subjectAltName": (("DNS", host),)}

    def version(self):
        return "TLSv1.3" if self._scheme == "https" else None

    def cipher(self):
        return ("TLS_AES_128_GCM_SHA256", "TLSv1.3", 128)

    def selected_alpn_protocol(self):
        return "http/1.1"

    def pending(self):
        return 0 if self._answer is None else len(self._answer) - self._at

    def close(self):
        self._peer = None

    def detach(self):
        self.close()
        return -1

    def dup(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()


_socket.socket = socket
_socket.SocketType = socket


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    if host is None:
        host = "localhost"
    if isinstance(host, bytes):
        host = host.decode()
    if isinstance(port, str):
        port = int(port) if port.isdigit() else {"http": 80, "https": 443}.get(port, 0)
    # Not resolved: the host name travels with the request (the host resolves it, live).
    return [(2, 1, 6, "", (host, int(port or 0)))]


_socket.getaddrinfo = getaddrinfo
_socket.gethostname = lambda: "localhost"
_socket.gethostbyname = lambda name: "127.0.0.1" if name in ("localhost",) else name
_socket.gethostbyaddr = lambda addr: (addr, [], [addr])
_socket.getfqdn = lambda name="": name or "localhost"
_socket.getnameinfo = lambda sockaddr, flags: (str(sockaddr[0]), str(sockaddr[1]))
_socket.getdefaulttimeout = lambda: None
_socket.setdefaulttimeout = lambda t: None
_socket.getservbyname = lambda name, proto=None: {"http": 80, "https": 443}.get(name, 0)
_socket.htons = lambda x: ((x & 0xFF) << 8) | ((x >> 8) & 0xFF)
_socket.ntohs = _socket.htons
_socket.htonl = lambda x: int.from_bytes(int(x).to_bytes(4, "little"), "big")
_socket.ntohl = _socket.htonl


def _inet_aton(s):
    parts = [int(p) for p in s.split(".")]
    if len(parts) != 4 or any(p < 0 or p > 255 for p in parts):
        raise OSError("illegal IP address string passed to inet_aton")
    return bytes(parts)


_socket.inet_aton = _inet_aton
_socket.inet_ntoa = lambda b: ".".join(str(x) for x in bytes(b))


def _inet_pton(family, s):
    if family == 2:
        return _inet_aton(s)
    raise OSError("illegal IP address string passed to inet_pton")


_socket.inet_pton = _inet_pton
_socket.inet_ntop = lambda family, b: _socket.inet_ntoa(b)
_socket.CAPI = None
sys.modules["_socket"] = _socket

# `select`: nothing to wait for on a virtual connection, so everything is always ready. Under
# CPython (`_CPYTHON`, set by cpython_driver.py) the real module stays for real descriptors
# (pipes of a subprocess) and only a call that includes a virtual socket is answered here.
_CPYTHON = globals().get("_CPYTHON", False)
if _CPYTHON:
    import select as _select
    _real_select = _select.select

    def _select_any(r, w, x, timeout=None):
        if any(isinstance(s, socket) for s in list(r) + list(w) + list(x)):
            return ([s for s in r if isinstance(s, socket)],
                    [s for s in w if isinstance(s, socket)], [])
        return _real_select(r, w, x, timeout)
    _select.select = _select_any
else:
    _select = types.ModuleType("select")
    _select.error = OSError
    _select.select = lambda r, w, x, timeout=None: (list(r), list(w), [])
    sys.modules["select"] = _select

# `ssl`: TLS is the host's business; a context only marks the connection as https.
_ssl = types.ModuleType("ssl")
_ssl.__file__ = "<cortex-emu sandbox>"


class SSLError(OSError):
    pass


class SSLCertVerificationError(SSLError, ValueError):
    pass


class _Enum(int):
    pass


for _name, _value in dict(
    PROTOCOL_TLS=2, PROTOCOL_TLS_CLIENT=16, PROTOCOL_TLS_SERVER=17, PROTOCOL_SSLv23=2,
    CERT_NONE=0, CERT_OPTIONAL=1, CERT_REQUIRED=2, OP_ALL=0x80000054, OP_NO_SSLv2=0,
    OP_NO_SSLv3=0x2000000, OP_NO_TLSv1=0x4000000, OP_NO_TLSv1_1=0x10000000,
    OP_NO_COMPRESSION=0x20000, OP_NO_TICKET=0x4000, OP_NO_RENEGOTIATION=0x40000000,
    OP_CIPHER_SERVER_PREFERENCE=0x400000, OP_SINGLE_DH_USE=0, OP_SINGLE_ECDH_USE=0,
    VERIFY_DEFAULT=0, VERIFY_X509_STRICT=0x20, VERIFY_X509_PARTIAL_CHAIN=0x80000,
    VERIFY_X509_TRUSTED_FIRST=0x8000,
).items():
    setattr(_ssl, _name, _value)
_ssl.HAS_SNI = True
_ssl.HAS_ALPN = True
_ssl.HAS_NEVER_CHECK_COMMON_NAME = True
_ssl.HAS_TLSv1_3 = True
_ssl.OPENSSL_VERSION = "OpenSSL 3.0.0 (cortex-emu: TLS by the host)"
_ssl.OPENSSL_VERSION_INFO = (3, 0, 0, 0, 0)
_ssl.OPENSSL_VERSION_NUMBER = 0x30000000
_ssl.SSLError = SSLError
_ssl.SSLCertVerificationError = SSLCertVerificationError
_ssl.CertificateError = SSLCertVerificationError
_ssl.SSLZeroReturnError = SSLError
_ssl.SSLWantReadError = SSLError
_ssl.SSLWantWriteError = SSLError
_ssl.SSLSyscallError = SSLError
_ssl.SSLEOFError = SSLError


class TLSVersion:
    MINIMUM_SUPPORTED = 0x0301
    TLSv1 = 0x0301
    TLSv1_1 = 0x0302
    TLSv1_2 = 0x0303
    TLSv1_3 = 0x0304
    MAXIMUM_SUPPORTED = 0x0304


class Purpose:
    SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
    CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"


class SSLSocket(socket):
    __slots__ = ()


class SSLContext:
    def __init__(self, protocol=None, *args, **kwargs):
        self.protocol = protocol
        self.check_hostname = True
        self.verify_mode = 2
        self.verify_flags = 0
        self.options = 0
        self.minimum_version = TLSVersion.MINIMUM_SUPPORTED
        self.maximum_version = TLSVersion.MAXIMUM_SUPPORTED
        self.post_handshake_auth = None
        self.keylog_filename = None
        self.hostname_checks_common_name = False

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True,
                    suppress_ragged_eofs=True, server_hostname=None, session=None):
        sock._scheme = "https"
        return sock

    def _nothing(self, *args, **kwargs):
        return None

    load_verify_locations = load_cert_chain = load_default_certs = set_default_verify_paths = \
        set_ciphers = set_alpn_protocols = set_npn_protocols = set_servername_callback = \
        set_ecdh_curve = load_dh_params = _nothing

    def get_ca_certs(self, binary_form=False):
        return []

    def cert_store_stats(self):
        return {"x509": 0, "crl": 0, "x509_ca": 0}


def create_default_context(purpose=Purpose.SERVER_AUTH, *, cafile=None, capath=None, cadata=None):
    return SSLContext(16)


_ssl.TLSVersion = TLSVersion
_ssl.Purpose = Purpose
_ssl.SSLContext = SSLContext
_ssl.SSLSocket = SSLSocket
_ssl.SSLObject = SSLSocket
_ssl.create_default_context = create_default_context
_ssl._create_default_https_context = create_default_context
_ssl._create_unverified_context = create_default_context
_ssl.match_hostname = lambda cert, hostname: None
_ssl.get_default_verify_paths = lambda: None
_ssl.wrap_socket = lambda sock, *a, **k: SSLContext().wrap_socket(sock)
sys.modules["ssl"] = _ssl
sys.modules["_ssl"] = _ssl

# CPython has real `_signal` and `_posixsubprocess` (a native package may need them); the
# sandbox's stand-ins are for RustPython, which lacks them.
if not _CPYTHON:
    # `_signal`: handlers cannot receive signals in the sandbox; installing one is accepted and
    # never fires, so modules that set one up at import (unittest, asyncio, subprocess) load.
    _signal = types.ModuleType("_signal")
    for _name, _value in dict(SIGHUP=1, SIGINT=2, SIGQUIT=3, SIGILL=4, SIGTRAP=5, SIGABRT=6,
                              SIGBUS=7, SIGFPE=8, SIGKILL=9, SIGUSR1=10, SIGSEGV=11, SIGUSR2=12,
                              SIGPIPE=13, SIGALRM=14, SIGTERM=15, SIGCHLD=17, SIGCONT=18, SIGSTOP=19,
                              SIGTSTP=20, SIGTTIN=21, SIGTTOU=22, SIGURG=23, SIGXCPU=24, SIGXFSZ=25,
                              SIGVTALRM=26, SIGPROF=27, SIGWINCH=28, SIGIO=29, SIGPWR=30, SIGSYS=31,
                              SIG_DFL=0, SIG_IGN=1, NSIG=65, SIG_BLOCK=0, SIG_UNBLOCK=1,
                              SIG_SETMASK=2, ITIMER_REAL=0, ITIMER_VIRTUAL=1,
                              ITIMER_PROF=2).items():
        setattr(_signal, _name, _value)
    _signal_handlers = {}


    def _default_int_handler(signum, frame):
        raise KeyboardInterrupt


    def _set_signal(signum, handler):
        previous = _signal_handlers.get(signum, 0)
        _signal_handlers[signum] = handler
        return previous


    _signal.default_int_handler = _default_int_handler
    _signal.signal = _set_signal
    _signal.getsignal = lambda signum: _signal_handlers.get(signum, 0)
    _signal.set_wakeup_fd = lambda fd, warn_on_full_buffer=True: -1
    _signal.alarm = lambda seconds: 0
    _signal.pause = lambda: None
    _signal.siginterrupt = lambda signum, flag: None
    _signal.pthread_sigmask = lambda how, mask: set()
    _signal.pthread_kill = lambda thread_id, signum: None
    _signal.valid_signals = lambda: set(range(1, 65))
    _signal.strsignal = lambda signum: "Signal %d" % signum
    _signal.setitimer = lambda which, seconds, interval=0.0: (0.0, 0.0)
    _signal.getitimer = lambda which: (0.0, 0.0)


    def _raise_signal(signum):
        raise PermissionError(1, "Operation not permitted: signals are not available in the sandbox")


    _signal.raise_signal = _raise_signal
    sys.modules["_signal"] = _signal

    # `_posixsubprocess`: no processes in the sandbox; `subprocess` imports, starting one is refused.
    _posixsubprocess = types.ModuleType("_posixsubprocess")


    def _fork_exec(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted: subprocesses are not available in the sandbox")


    _posixsubprocess.fork_exec = _fork_exec
    sys.modules["_posixsubprocess"] = _posixsubprocess
