#!/usr/bin/env python3
"""A static HTTP server for the update test: serves one folder on 127.0.0.1
with byte ranges, several per request as multipart/byteranges (RFC 9110),
which zsync asks for and busybox httpd does not give. Prints the port it
listens on, then serves until it is killed; logs each answer's status."""
import http.server
import os
import re
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        path = self.translate_path(self.path)
        match = re.fullmatch(r"bytes=(\d+-\d*(?:,\s*\d+-\d*)*)", self.headers.get("Range", ""))
        if not match or not os.path.isfile(path):
            return super().do_GET()
        with open(path, "rb") as f:
            data = f.read()
        ranges = []
        for spec in match.group(1).split(","):
            first, last = spec.strip().split("-")
            end = min(int(last) if last else len(data) - 1, len(data) - 1)
            if int(first) > end:
                return self.send_error(416)
            ranges.append((int(first), end))
        self.send_response(206)
        if len(ranges) == 1:
            first, end = ranges[0]
            body = data[first : end + 1]
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Range", f"bytes {first}-{end}/{len(data)}")
        else:
            boundary = "elements-range-boundary"
            body = b""
            for first, end in ranges:
                body += (
                    f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n"
                    f"Content-Range: bytes {first}-{end}/{len(data)}\r\n\r\n"
                ).encode() + data[first : end + 1]
            body += f"\r\n--{boundary}--\r\n".encode()
            self.send_header("Content-Type", f"multipart/byteranges; boundary={boundary}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code="-", size="-"):
        sys.stderr.write(f"{self.path} {self.headers.get('Range', '')} response:{getattr(code, 'value', code)}\n")
        sys.stderr.flush()


os.chdir(sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
