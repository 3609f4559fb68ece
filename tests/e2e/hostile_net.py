"""Raw HTTP for the hostile-input and isolation tests (test_hostile.py,
test_isolation.py): requests sent byte for byte over a socket (no client
library normalising paths, refusing control characters or fixing bodies), the
Studio error-shape check, and the daemon's log lines."""
import http.client
import json
import socket

STATUS_CLASS = {400: "BadArgument", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                405: "MethodNotAllowed", 409: "Conflict", 413: "RequestEntityTooLarge",
                415: "UnsupportedMediaType", 503: "RequestThrottled"}


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value), as sent
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.headers} {self.body[:600]!r}>"


def send(port, method, path, headers=(), body=None, chunked=False, timeout=30,
         host="127.0.0.1", content_length=True):
    """Sends one request exactly as given (path, method and header bytes are
    not checked) and returns its Answer. body: bytes. chunked: send the body
    with Transfer-Encoding: chunked in 64 KiB chunks. A peer that closes early
    (it refused what it had seen) is fine: its answer is read all the same."""
    def b(x):
        return x if isinstance(x, bytes) else x.encode("utf-8", "surrogateescape")
    head = b(method) + b" " + b(path) + b" HTTP/1.1\r\nHost: " + b(host) + b"\r\n"
    for k, v in (headers.items() if isinstance(headers, dict) else headers):
        head += b(k) + b": " + b(v) + b"\r\n"
    payload = b""
    if body is not None:
        if chunked:
            head += b"Transfer-Encoding: chunked\r\n"
            parts = [body[i:i + 65536] for i in range(0, len(body), 65536)]
            payload = b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in parts) + b"0\r\n\r\n"
        else:
            if content_length:
                head += b"Content-Length: %d\r\n" % len(body)
            payload = body
    head += b"Connection: close\r\n\r\n"
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            sock.sendall(head + payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = http.client.HTTPResponse(sock, method=method.decode() if isinstance(method, bytes)
                                        else method)
        resp.begin()
        data = resp.read()
        return Answer(resp.status, resp.getheaders(), data)
    finally:
        sock.close()


def check_studio_error(ans, status, code=None):
    """ans is a Studio-shaped JSON error of this status (and detail code)."""
    assert ans.status == status, ans
    ctype = ans.header("Content-Type") or ""
    assert ctype.startswith("application/json"), ans
    err = ans.json()["error"]
    assert err["code"] == STATUS_CLASS[status], ans
    assert isinstance(err["message"], str) and err["message"], ans
    assert isinstance(err["details"], list) and err["details"], ans
    d = err["details"][0]
    assert isinstance(d["code"], str) and d["code"], ans
    assert isinstance(d["message"], str) and d["message"], ans
    if code is not None:
        assert d["code"] == code, ans
    return d


def log_lines(daemon):
    """The daemon's request log lines (JSON objects), in order."""
    out = []
    for line in daemon.log().splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out
