"""A webhook receiver for Clearway's end-to-end tests, verifying every request with the PyPI
`standardwebhooks` package: a verifier that shares no code with Clearway's sender.

Two HTTP servers on 127.0.0.1: the hook server (what Clearway posts to) and a control server (what
the test drives, and which stays up while the hook server is "down"). Prints one line,
`PORTS <hook> <control>`, when both listen.

Control (JSON): POST /secrets {"secrets": [...]}, POST /fail-first {"n": 2} (answer 500 to the next
n requests), POST /down (close the hook server's socket), POST /up (listen again on the same port),
GET /received, POST /reset.
"""
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

lock = threading.Lock()
state = {"secrets": [], "fail_next": 0, "received": [], "down": False}


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if state["down"]:
            # A keep-alive connection opened before /down: drop it without an answer, as a dead host would.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified_with = []
        error = None
        with lock:
            secrets = list(state["secrets"])
        for i, secret in enumerate(secrets):
            try:
                Webhook(secret).verify(body, headers)
                verified_with.append(i)
            except WebhookVerificationError as e:
                error = str(e)
        with lock:
            status = 500 if state["fail_next"] > 0 else 204
            if state["fail_next"] > 0:
                state["fail_next"] -= 1
            state["received"].append({
                "path": self.path,
                "webhookId": headers.get("webhook-id"),
                "webhookTimestamp": headers.get("webhook-timestamp"),
                "signatures": len(headers.get("webhook-signature", "").split(" ")),
                "verifiedWith": verified_with,
                "verifyError": None if verified_with else error,
                "answered": status,
                "receivedAt": time.time(),
                "body": json.loads(body) if body else None,
            })
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Control(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, payload=None):
        data = json.dumps(payload if payload is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/received":
            with lock:
                return self.reply(200, state["received"])
        self.reply(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        payload = json.loads(self.rfile.read(length)) if length else {}
        with lock:
            if self.path == "/secrets":
                state["secrets"] = payload["secrets"]
            elif self.path == "/fail-first":
                state["fail_next"] = int(payload["n"])
            elif self.path == "/reset":
                state["received"] = []
                state["fail_next"] = 0
            elif self.path not in ("/down", "/up"):
                return self.reply(404)
        if self.path == "/down":
            state["down"] = True
            hook.stop()
        elif self.path == "/up":
            hook.start()
            state["down"] = False
        self.reply(200)


class HookServer:
    def __init__(self):
        self.port = 0
        self.server = None

    def start(self):
        if self.server:
            return
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Hook)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if not self.server:
            return
        self.server.shutdown()
        self.server.server_close()
        self.server = None


ThreadingHTTPServer.allow_reuse_address = True
hook = HookServer()
hook.start()
control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
control.daemon_threads = True
print(f"PORTS {hook.port} {control.server_address[1]}", flush=True)
try:
    control.serve_forever()
except KeyboardInterrupt:
    pass
sys.exit(0)
