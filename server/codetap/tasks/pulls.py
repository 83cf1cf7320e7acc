"""Pull requests through the repository host's REST API.

- GitHub (and GitHub Enterprise): ``POST {api_url}/repos/{owner}/{repo}/pulls`` with
  ``{title, head, base, body, draft}``; 201 with ``html_url``. ``api_url`` defaults to
  ``https://api.github.com`` for github.com and ``https://HOST/api/v3`` elsewhere.
- GitLab: ``POST {api_url}/projects/{url-encoded path}/merge_requests`` with
  ``{source_branch, target_branch, title, description, draft}``; 201 with ``web_url``.
  ``api_url`` defaults to ``https://HOST/api/v4``.

Both get ``Authorization: Bearer <token>`` (the host's ``token_env``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx

from codetap import redact
from codetap.errors import CodetapError
from codetap.tasks.remote import GitHost, RemoteURL


class PullRequestError(CodetapError):
    """The host refused the pull request, or could not be reached (message says which)."""


@dataclass(frozen=True, slots=True)
class PullRequest:
    """What to open: ``head`` branch into ``base`` branch, with ``title`` and Markdown
    ``body``."""

    head: str
    base: str
    title: str
    body: str
    draft: bool = False


def host_kind(host: GitHost, remote: RemoteURL) -> str:
    """``github`` or ``gitlab`` for ``remote`` (configured, else guessed from the name)."""
    return host.kind or ("gitlab" if "gitlab" in remote.host else "github")


def api_base(host: GitHost, remote: RemoteURL) -> str:
    """The REST base URL of ``remote``'s host, without a trailing slash."""
    if host.api_url:
        return host.api_url.rstrip("/")
    if host_kind(host, remote) == "gitlab":
        return f"https://{remote.host}/api/v4"
    if remote.host == "github.com":
        return "https://api.github.com"
    return f"https://{remote.host}/api/v3"


async def open_pull_request(host: GitHost, remote: RemoteURL, token: str | None,
                            pr: PullRequest, *, timeout_s: float = 30.0) -> str:
    """Open ``pr`` on ``remote``'s host; the web URL of the pull (merge) request.
    PullRequestError with the host's status and message when it is refused or unreachable,
    or when ``remote`` is a local (file) repository."""
    if remote.scheme == "file" and not host.api_url:
        raise PullRequestError(f"{remote.url} is a local repository: no host to open a "
                               "pull request on")
    base = api_base(host, remote)
    headers = {"Accept": "application/json", "User-Agent": "codetap"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if host_kind(host, remote) == "gitlab":
        url = f"{base}/projects/{quote(remote.path, safe='')}/merge_requests"
        body: dict[str, object] = {"source_branch": pr.head, "target_branch": pr.base,
                                   "title": pr.title, "description": pr.body,
                                   "draft": pr.draft}
        key = "web_url"
    else:
        owner_repo = remote.path
        url = f"{base}/repos/{owner_repo}/pulls"
        headers["Accept"] = "application/vnd.github+json"
        headers["X-GitHub-Api-Version"] = "2022-11-28"
        body = {"title": pr.title, "head": pr.head, "base": pr.base, "body": pr.body,
                "draft": pr.draft}
        key = "html_url"
    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client:
            resp = await client.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise PullRequestError(f"cannot reach {base}: {exc!r}") from None
    if resp.status_code not in (200, 201):
        raise PullRequestError(f"{url} answered {resp.status_code}: {_message(resp)}")
    try:
        web_url = resp.json()[key]
    except (ValueError, KeyError, TypeError):
        raise PullRequestError(f"{url} answered without {key}: {resp.text[:200]}") from None
    return str(web_url)


def _message(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return redact.redact_text(resp.text[:300])
    if isinstance(data, dict):
        parts = [str(data.get("message", ""))]
        errors = data.get("errors")
        if isinstance(errors, list):
            parts += [str(e.get("message", e)) if isinstance(e, dict) else str(e)
                      for e in errors]
        return redact.redact_text("; ".join(p for p in parts if p) or str(data)[:300])
    return redact.redact_text(str(data)[:300])
