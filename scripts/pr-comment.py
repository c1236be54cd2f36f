#!/usr/bin/env python3
"""Post a report as one pull-request comment, updated in place on every run.

The comment is found again by a hidden marker line and by its author, so a reviewer who
quotes the marker never has their comment overwritten. Standard library only: the workflow
runs it on a bare runner without installing anything.

Exit codes: 0 done (created, updated or unchanged), 1 the GitHub API refused or failed,
2 usage or configuration error (missing token, repository, PR number or body file).
"""

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_MARKER = "<!-- tenantgen-diff -->"
DEFAULT_AUTHOR = "github-actions[bot]"
DEFAULT_API = "https://api.github.com"
# GitHub rejects longer comment bodies with 422 "body is too long (maximum is 65536 characters)".
MAX_BODY = 65536
TRUNCATION_NOTE = (
    "\n_The report was truncated to fit in one GitHub comment; "
    "see the job summary of this workflow run for the full report._\n"
)
# More pages than any pull request has comments; stops a server whose Link header loops.
MAX_PAGES = 500
TIMEOUT_SECONDS = 30
USER_AGENT = "tenantgen-pr-comment"


class ApiError(Exception):
    """A request GitHub answered with an error status, or that could not be sent at all."""

    def __init__(self, method, url, status, message):
        super().__init__(f"{method} {url}: {describe_status(status)}: {message}")
        self.status = status


def describe_status(status):
    return f"HTTP {status}" if status is not None else "no response"


def retry_delay():
    # Tests set this to 0; on a runner a short pause lets a transient GitHub error pass.
    raw = os.environ.get("PR_COMMENT_RETRY_DELAY", "2")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return 2.0


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="pr-comment.py",
        description="Create or update the one marked comment on a pull request.",
    )
    parser.add_argument("--body-file", required=True, help="markdown file with the comment body")
    parser.add_argument(
        "--repo",
        default=os.environ.get("GITHUB_REPOSITORY"),
        help="owner/name (default: $GITHUB_REPOSITORY)",
    )
    parser.add_argument(
        "--pr", default=os.environ.get("PR_NUMBER"), help="pull request number (default: $PR_NUMBER)"
    )
    parser.add_argument(
        "--api",
        default=os.environ.get("GITHUB_API_URL") or DEFAULT_API,
        help=f"API base URL (default: $GITHUB_API_URL or {DEFAULT_API})",
    )
    parser.add_argument("--marker", default=DEFAULT_MARKER, help="hidden line identifying the comment")
    parser.add_argument(
        "--author",
        default=DEFAULT_AUTHOR,
        help=f"only a comment by this login is updated (default: {DEFAULT_AUTHOR})",
    )
    return parser.parse_args(argv)


def prepare_body(text, marker, limit=MAX_BODY):
    """(body, truncated): marker first if the report lacks it, cut to fit in one comment."""
    if marker not in text:
        text = f"{marker}\n{text}"
    if len(text) <= limit:
        return text, False
    return truncate(text, limit), True


def truncate(text, limit):
    budget = limit - len(TRUNCATION_NOTE)
    # Room kept for closing a code fence the cut leaves open (else the fence would swallow
    # the note). It only grows, so the loop ends: at worst nothing of the report is kept.
    reserve = 0
    while True:
        kept = cut_at_line(text, budget - reserve)
        fence = open_fence(kept)
        closing = f"{fence}\n" if fence else ""
        if len(kept) + len(closing) <= budget:
            return kept + closing + TRUNCATION_NOTE
        reserve = max(reserve + 1, len(closing))


def cut_at_line(text, size):
    """A prefix of at most `size` characters ending with a newline."""
    if size <= 1:
        return ""
    cut = text.rfind("\n", 0, size)
    # A line boundary keeps markdown intact, but not at the price of dropping most of the
    # report when one line is huge.
    if cut >= size // 2:
        return text[: cut + 1]
    return text[: size - 1] + "\n"


def open_fence(text):
    """The opening run of a code fence `text` leaves open, or None."""
    fence = None
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        match = re.match(r"(`{3,}|~{3,})", stripped)
        if not match:
            continue
        run = match.group(1)
        if fence is None:
            fence = run
        elif run[0] == fence[0] and len(run) >= len(fence) and stripped.rstrip() == run:
            fence = None
    return fence


class GitHub:
    def __init__(self, api, token):
        self.api = api.rstrip("/")
        self.token = token

    def request(self, method, url, payload=None):
        """(status, headers, decoded JSON) for one call, retried once on 5xx or no response."""
        if not url.startswith(("http://", "https://")):
            url = self.api + url
        try:
            return self._send(method, url, payload)
        except ApiError as err:
            if err.status is not None and err.status < 500:
                raise
            print(f"pr-comment: {err}; retrying once", file=sys.stderr)
        time.sleep(retry_delay())
        return self._send(method, url, payload)

    def _send(self, method, url, payload):
        data = json.dumps(payload).encode("utf-8") if payload is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
        req.add_header("User-Agent", USER_AGENT)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_SECONDS) as resp:
                return resp.status, resp.headers, decode(resp.read())
        except urllib.error.HTTPError as err:
            raise ApiError(method, url, err.code, error_message(err)) from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise ApiError(method, url, None, str(reason)) from None

    def comments(self, repo, pr):
        """Every comment on the pull request, oldest first, across all pages."""
        url = f"{self.api}/repos/{repo}/issues/{pr}/comments?per_page=100"
        found = []
        for _ in range(MAX_PAGES):
            _, headers, page = self.request("GET", url)
            if not isinstance(page, list):
                raise ApiError("GET", url, 200, "expected a JSON list of comments")
            found.extend(c for c in page if isinstance(c, dict))
            url = next_link(headers.get("Link", ""))
            if url is None:
                return found
            if not same_origin(url, self.api):
                # The token goes with every request; never send it to another host.
                raise ApiError("GET", url, None, "pagination link leaves the API host")
        raise ApiError("GET", url, None, f"more than {MAX_PAGES} pages of comments")


def decode(raw):
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def error_message(err):
    try:
        body = decode(err.read())
    except OSError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        message = str(body["message"])
        details = body.get("errors")
        return f"{message} {json.dumps(details)}" if details else message
    return err.reason or "no message"


def next_link(header):
    for part in header.split(","):
        match = re.match(r'\s*<([^>]*)>\s*;(.*)', part)
        if match and re.search(r'\brel="?next"?', match.group(2)):
            return match.group(1)
    return None


def same_origin(url, base):
    a, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def find_comment(comments, marker, author):
    """The oldest comment by `author` carrying the marker; later duplicates are left alone.

    GitHub lists issue comments oldest first, so the first match is the oldest.
    """
    for comment in comments:
        login = (comment.get("user") or {}).get("login")
        if (
            login == author
            and isinstance(comment.get("id"), int)
            and marker in str(comment.get("body") or "")
        ):
            return comment
    return None


def upsert(github, repo, pr, body, marker, author):
    """('created' | 'updated' | 'unchanged', url of the comment)."""
    existing = find_comment(github.comments(repo, pr), marker, author)
    if existing is None:
        _, _, created = github.request("POST", f"/repos/{repo}/issues/{pr}/comments", {"body": body})
        return "created", comment_url(created)
    if existing.get("body") == body:
        return "unchanged", comment_url(existing)
    _, _, updated = github.request(
        "PATCH", f"/repos/{repo}/issues/comments/{existing.get('id')}", {"body": body}
    )
    return "updated", comment_url(updated if isinstance(updated, dict) else existing)


def comment_url(comment):
    if isinstance(comment, dict):
        return comment.get("html_url") or comment.get("url") or "(no url)"
    return "(no url)"


def config_error(message):
    print(f"pr-comment: {message}", file=sys.stderr)
    return 2


def main(argv=None):
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2

    token = os.environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        return config_error(
            "GITHUB_TOKEN is not set; pass the workflow token "
            "(env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}) with pull-requests: write"
        )
    if not args.repo or not re.fullmatch(r"[\w.-]+/[\w.-]+", args.repo):
        return config_error(f"--repo (or GITHUB_REPOSITORY) must be owner/name, got {args.repo!r}")
    if not args.pr or not str(args.pr).isdigit():
        return config_error(f"--pr (or PR_NUMBER) must be a pull request number, got {args.pr!r}")
    try:
        with open(args.body_file, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        return config_error(f"cannot read the body file {args.body_file}: {err}")

    body, truncated = prepare_body(text, args.marker)
    if truncated:
        print(
            f"pr-comment: the report has {len(text)} characters; posting the first "
            f"{len(body)} (GitHub allows {MAX_BODY})",
            file=sys.stderr,
        )
    try:
        outcome, url = upsert(GitHub(args.api, token), args.repo, args.pr, body, args.marker, args.author)
    except ApiError as err:
        print(f"pr-comment: {err}", file=sys.stderr)
        if err.status == 403:
            print(
                "pr-comment: the token may be read-only (a pull request from a fork, or a "
                "workflow without `permissions: pull-requests: write`)",
                file=sys.stderr,
            )
        return 1
    print(f"{outcome} comment {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
