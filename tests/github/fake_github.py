#!/usr/bin/env python3
"""An in-memory fake of the few GitHub REST endpoints scripts/pr-comment.py uses.

    python3 tests/github/fake_github.py --port-file F [--state-file S]
        [--fail-first-post STATUS] [--page-size N]

Binds 127.0.0.1 on a free port, writes the port to F and serves until killed. One thread,
ids counted from 1: the same requests always give the same answers.

    GET   /repos/{owner}/{repo}/issues/{n}/comments?per_page=&page=   (Link: rel="next")
    POST  /repos/{owner}/{repo}/issues/{n}/comments                    {"body": ...}
    PATCH /repos/{owner}/{repo}/issues/comments/{id}                   {"body": ...}
    POST  /_seed    [{"id", "user", "body", "issue"?}]   adds comments (issue defaults to 1)
    GET   /_state   {"comments": [...], "requests": [{"method", "path"}]}

Every API call needs an Authorization header (else 401). The token `read-only` behaves like
the token of a pull request from a fork: reads work, writes get 403. Comments created through
the API are authored by github-actions[bot]. Test hooks (/_seed, /_state) are not logged.
"""

import argparse
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

BOT = "github-actions[bot]"
LIST_OR_CREATE = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
EDIT = re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$")


class State:
    def __init__(self, fail_first_post, page_size, state_file):
        self.comments = []
        self.requests = []
        self.next_id = 1
        self.fail_first_post = fail_first_post
        self.page_size = page_size
        self.state_file = state_file

    def add(self, repo, issue, user, body, comment_id=None):
        if comment_id is None:
            comment_id = self.next_id
        self.next_id = max(self.next_id, comment_id + 1)
        comment = {
            "id": comment_id,
            "issue": issue,
            "user": {"login": user},
            "body": body,
            "url": f"https://api.github.example/repos/{repo}/issues/comments/{comment_id}",
            "html_url": f"https://github.example/{repo}/pull/{issue}#issuecomment-{comment_id}",
        }
        self.comments.append(comment)
        return comment

    def dump(self):
        return {"comments": self.comments, "requests": self.requests}

    def save(self):
        if self.state_file:
            tmp = f"{self.state_file}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(self.dump(), f, indent=1)
            os.replace(tmp, self.state_file)


class Handler(BaseHTTPRequestHandler):
    state: State

    def log_message(self, format, *args):  # noqa: A002 - the base class names it so
        pass

    def do_GET(self):
        self.handle_request("GET")

    def do_POST(self):
        self.handle_request("POST")

    def do_PATCH(self):
        self.handle_request("PATCH")

    def handle_request(self, method):
        url = urlsplit(self.path)
        payload = self.read_json()
        if url.path == "/_state" and method == "GET":
            return self.reply(200, self.state.dump())
        if url.path == "/_seed" and method == "POST":
            return self.seed(payload)

        self.state.requests.append({"method": method, "path": self.path})
        try:
            self.api(method, url, payload)
        finally:
            self.state.save()

    def api(self, method, url, payload):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[len("Bearer ") :].strip():
            return self.error(401, "Requires authentication")
        read_only = auth == "Bearer read-only"

        listing = LIST_OR_CREATE.match(url.path)
        edit = EDIT.match(url.path)
        if listing and method == "GET":
            return self.list_comments(listing.group(1), int(listing.group(2)), url.query)
        if (listing and method == "POST") or (edit and method == "PATCH"):
            if read_only:
                return self.error(403, "Resource not accessible by integration")
            if not isinstance(payload, dict) or not isinstance(payload.get("body"), str):
                return self.error(422, "Validation Failed: body is missing")
            if len(payload["body"]) > 65536:
                return self.error(422, "Validation Failed: body is too long (maximum is 65536 characters)")
            if listing:
                return self.create(listing.group(1), int(listing.group(2)), payload["body"])
            return self.edit(int(edit.group(2)), payload["body"])
        return self.error(404, "Not Found")

    def list_comments(self, repo, issue, query):
        params = parse_qs(query)
        per_page = int_param(params, "per_page", 30)
        if self.state.page_size:
            per_page = self.state.page_size
        page = max(1, int_param(params, "page", 1))
        mine = [c for c in self.state.comments if c["issue"] == issue]
        start = (page - 1) * per_page
        headers = {}
        if start + per_page < len(mine):
            host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_port}"
            base = f"http://{host}/repos/{repo}/issues/{issue}/comments"
            last = (len(mine) + per_page - 1) // per_page
            headers["Link"] = (
                f'<{base}?per_page={per_page}&page={page + 1}>; rel="next", '
                f'<{base}?per_page={per_page}&page={last}>; rel="last"'
            )
        return self.reply(200, mine[start : start + per_page], headers)

    def create(self, repo, issue, body):
        if self.state.fail_first_post:
            status, self.state.fail_first_post = self.state.fail_first_post, None
            return self.error(status, "Server Error")
        return self.reply(201, self.state.add(repo, issue, BOT, body))

    def edit(self, comment_id, body):
        for comment in self.state.comments:
            if comment["id"] == comment_id:
                comment["body"] = body
                return self.reply(200, comment)
        return self.error(404, "Not Found")

    def seed(self, payload):
        if not isinstance(payload, list):
            return self.error(400, "seed with a JSON list of {id, user, body}")
        for item in payload:
            self.state.add(
                item.get("repo", "owner/repo"),
                int(item.get("issue", 1)),
                item["user"],
                item["body"],
                int(item["id"]) if "id" in item else None,
            )
        self.state.save()
        return self.reply(200, {"seeded": len(payload)})

    def read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length == 0:
            return None
        try:
            return json.loads(self.rfile.read(length).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None

    def error(self, status, message):
        self.reply(status, {"message": message, "documentation_url": "https://docs.github.com/rest"})

    def reply(self, status, payload, headers=None):
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def int_param(params, name, default):
    try:
        return int(params[name][0])
    except (KeyError, IndexError, ValueError):
        return default


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--state-file")
    parser.add_argument("--fail-first-post", type=int, metavar="STATUS")
    parser.add_argument("--page-size", type=int, metavar="N")
    args = parser.parse_args(argv)

    Handler.state = State(args.fail_first_post, args.page_size, args.state_file)
    server = HTTPServer(("127.0.0.1", 0), Handler)
    # Written whole then renamed, so a reader polling for the file never sees half a number.
    tmp = f"{args.port_file}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(server.server_port))
    os.replace(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
