"""The soak's fault proxy: sits between one function's AWS calls and the emulator (the function's
AWS_ENDPOINT_URL points here), counts every request by operation, and answers some of them as AWS
does when it is unwell: 503, throttling errors in each service's own format, a connection reset
before or after the emulator saw the request, or a slow answer. Loopback only, standard library only.
"""
import http.client
import json
import random
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler


def operation(method, path, headers, body):
    """The AWS service and operation a request is (DynamoDB_20120810.PutItem -> dynamodb PutItem)."""
    target = headers.get("X-Amz-Target", "")
    if target:
        service, _, op = target.partition(".")
        return ("dynamodb" if service.startswith("DynamoDB") else "sqs" if "SQS" in service else service.lower()), op
    if body and b"Action=" in body[:200]:
        fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        action = fields.get("Action", ["?"])[0]
        return ("sns" if "Publish" in action or "Topic" in action else "sqs"), action
    parsed = urllib.parse.urlsplit(path)
    query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
    parts = [p for p in parsed.path.split("/") if p]
    if method == "GET" and len(parts) <= 1:
        return "s3", "ListObjects" if parts else "ListBuckets"
    names = {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject", "DELETE": "DeleteObject", "POST": "PostObject"}
    op = names.get(method, method)
    if "versionId" in query:
        op += "(version)"
    if method == "PUT" and "x-amz-copy-source" in {k.lower() for k in headers}:
        op = "CopyObject"
    return "s3", op


def throttling(service):
    """(status, content type, body) of a throttling answer in the service's own protocol."""
    if service == "dynamodb":
        return 400, "application/x-amz-json-1.0", b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}'
    if service == "sqs":
        return 400, "application/x-amz-json-1.0", b'{"__type":"com.amazonaws.sqs#ThrottlingException","message":"Rate exceeded"}'
    if service == "s3":
        return 503, "application/xml", b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
    return 400, "text/xml", b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"


def unavailable(service):
    if service == "s3":
        return 503, "application/xml", b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>ServiceUnavailable</Code><Message>Please try again.</Message></Error>"
    if service in ("dynamodb", "sqs"):
        return 503, "application/x-amz-json-1.0", b'{"__type":"ServiceUnavailable","message":"Service unavailable"}'
    return 503, "text/xml", b"<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>unavailable</Message></Error></ErrorResponse>"


class FaultProxy:
    """One listener on 127.0.0.1 for one function. `rate` is the share of requests faulted; each fault is
    one of KINDS, chosen at random (seeded)."""

    KINDS = ("503", "throttle", "reset-before", "reset-after", "slow")

    def __init__(self, name, rate, seed, slow_seconds=(0.5, 2.0)):
        self.name = name
        self.rate = rate
        self.random = random.Random(seed)
        self.slow_seconds = slow_seconds
        self.upstream = None
        self.lock = threading.Lock()
        self.requests = Counter()   # (service, op) -> count
        self.faults = Counter()     # kind -> count
        self.enabled = True
        self.lost_publishes = set()  # pictures whose SNS Publish was done but its answer dropped
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                service, op = operation(self.command, self.path, self.headers, body)
                with proxy.lock:
                    proxy.requests[(service, op)] += 1
                    kind = None
                    # A browser's presigned POST (no Authorization header) is not the function's call.
                    browser = "Authorization" not in self.headers
                    if browser:
                        proxy.requests[("browser", op)] += 1
                        proxy.requests[(service, op)] -= 1
                    if proxy.enabled and proxy.upstream and not browser and proxy.random.random() < proxy.rate:
                        kind = proxy.random.choice(FaultProxy.KINDS)
                        proxy.faults[kind] += 1
                    delay = proxy.random.uniform(*proxy.slow_seconds)
                if kind == "reset-before":
                    return self.reset()
                if kind in ("503", "throttle"):
                    status, ctype, text = (unavailable if kind == "503" else throttling)(service)
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    if self.command != "HEAD":  # a HEAD answer has no body, whatever its length says
                        self.wfile.write(text)
                    return
                if kind == "slow":
                    time.sleep(delay)
                status, headers, answer = proxy.forward(self.command, self.path, self.headers, body)
                if kind == "reset-after":
                    if op == "Publish":
                        # SNS took it; the function will publish again. The checker accounts for the second one.
                        message = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Message", ["{}"])[0]
                        try:
                            proxy.lost_publishes.add(json.loads(message).get("picture"))
                        except ValueError:
                            pass
                    return self.reset()  # the emulator did it; the function never hears so
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer)

            def reset(self):
                # SO_LINGER 0: close sends RST, as a dropped connection does.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.close_connection = True

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one

        class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                # A function that gave up on a slow answer, or was killed, closed its end: not news.
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def forward(self, method, path, headers, body):
        host, port = self.upstream
        connection = http.client.HTTPConnection(host, port, timeout=120)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in ("connection", "keep-alive")}
            connection.request(method, path, body=body or None, headers=sent)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def stop(self):
        self.server.shutdown()
