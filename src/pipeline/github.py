"""A tiny GitHub REST client: retries, rate limits, pagination, clear errors.

Built on ``requests`` (already a dependency of sigstore). Retry policy:
connection errors and 5xx are retried with exponential backoff a bounded
number of times, but only for idempotent methods: a POST whose outcome is
unknown (a read timeout, a connection reset after it was sent, a 5xx) may
have been applied, so it is never re-sent here; the error says so
(``uncertain``) and the caller looks before writing again (see
``comments.upsert`` and ``publish``). A POST that provably never left
(the connection could not be opened) is retried like any call.

Waiting is bounded by the command's one budget (``Settings.budget``, from
``PIPELINE_MAX_WAIT``), shared by every client of the command: each
request's socket timeout is at most what is left, and every request's time,
every back-off and every ``Retry-After`` / ``x-ratelimit-reset`` wait is
charged to it. When it is spent the error names what was waited for and
the budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from pipeline.errors import GitHubError
from pipeline.settings import Settings

API_VERSION = "2022-11-28"
TIMEOUT = (5.0, 30.0)  # connect, read
RETRIES = 4
BACKOFF = 0.5
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
SECONDARY_WAIT = 60.0  # GitHub: wait at least a minute after a secondary rate limit


class PermissionDenied(GitHubError):
    """A 403 that is not a rate limit: the token may not do this.

    ``accepted`` is what GitHub's ``X-Accepted-GitHub-Permissions`` header
    says would do, in workflow syntax (``pull-requests: write``), each item
    one sufficient set; empty when GitHub did not say.
    """

    def __init__(self, message: str, accepted: tuple[str, ...] = (), *, what: str = "", detail: str = "") -> None:
        super().__init__(message, 403)
        self.accepted = accepted
        self.what = what  # "POST /repos/o/r/issues/4/comments"
        self.detail = detail  # GitHub's own message, if any


def accepted_permissions(header: str) -> tuple[str, ...]:
    """``X-Accepted-GitHub-Permissions`` (``a=write,b=read; c=write``) as workflow ``permissions:`` sets."""
    sets = []
    for alternative in header.split(";"):
        items = []
        for item in alternative.split(","):
            name, _, level = item.strip().partition("=")
            if name and level:
                items.append(f"{name.replace('_', '-')}: {level}")
        if items:
            sets.append(", ".join(items))
    return tuple(sets)


def _short(path: str) -> str:
    """A path for an error line: no query, no host (upload URLs are long)."""
    bare = path.split("?", 1)[0]
    if bare.startswith(("http://", "https://")):
        bare = "/" + bare.split("/", 3)[-1]
    return bare


def _never_sent(error: requests.RequestException) -> bool:
    """The request never left: the connection could not be opened (safe to send again)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.ConnectionError) and isinstance(reason, NewConnectionError)


class GitHub:
    """REST calls against ``settings.api_url`` with the run's token, within ``settings.budget``."""

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.budget = settings.budget
        self._sleep = sleep
        self._clock = clock
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "service-pipeline",
            }
        )
        if settings.token:
            self._session.headers["Authorization"] = f"Bearer {settings.token}"

    def url(self, path: str) -> str:
        """Absolute URL for an API path (``/repos/...``)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.settings.api_url}{path}"

    def _spent(self, what: str, waiting_for: str, *, uncertain: bool = False) -> GitHubError:
        return GitHubError(
            f"{what}: gave up waiting for {waiting_for}: {self.budget.describe()} is used up. "
            "Re-run the job when GitHub answers again",
            uncertain=uncertain,
        )

    def pause(self, seconds: float, what: str, waiting_for: str) -> None:
        """Sleep ``seconds`` out of the budget, or fail saying what was waited for."""
        if seconds > self.budget.remaining():
            raise self._spent(what, waiting_for)
        self.budget.charge(seconds)
        self._sleep(seconds)

    def settle(self, seconds: float) -> None:
        """A short wait for GitHub's lists to catch up with a write, as much of it as the budget allows."""
        wait = min(seconds, self.budget.remaining() / 2)
        if wait > 0:
            self.budget.charge(wait)
            self._sleep(wait)

    def _send(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        """One request, its socket timeouts capped by the budget, its time charged to it."""
        connect, read = TIMEOUT
        timeout = (self.budget.timeout(connect), self.budget.timeout(read))
        with self.budget.waiting():
            return self._session.request(method, url, timeout=timeout, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:  # noqa: ANN401
        """One call with retries; raises ``GitHubError`` on a final failure."""
        url = self.url(path)
        what = f"{method} {_short(path)}"
        retry = method.upper() in IDEMPOTENT
        attempt = 0
        while True:
            attempt += 1
            if self.budget.exhausted():
                raise self._spent(what, f"{self.settings.api_url}")
            try:
                response = self._send(method, url, kwargs)
            except requests.RequestException as error:
                sent = not _never_sent(error)
                unknown = sent and not retry  # a write that may have been applied
                if self.budget.exhausted():
                    raise self._spent(
                        what, f"a reply from {self.settings.api_url} ({type(error).__name__})", uncertain=unknown
                    ) from None
                if unknown or attempt > RETRIES:
                    raise GitHubError(
                        f"{what}: cannot reach {self.settings.api_url} "
                        f"after {attempt} attempt{'s' if attempt > 1 else ''} ({type(error).__name__})"
                        + ("; it may have been applied, so it is not sent again blindly" if unknown else ""),
                        uncertain=unknown,
                    ) from None
                self.pause(BACKOFF * 2 ** (attempt - 1), what, f"{self.settings.api_url} to answer")
                continue
            delay = self._rate_limit_delay(response)
            if delay is not None:
                if delay > self.budget.remaining():
                    raise GitHubError(
                        f"{what}: rate limited by GitHub (HTTP {response.status_code}); "
                        f"{delay:.0f}s more would exceed {self.budget.describe()}. Re-run the job later.",
                        response.status_code,
                        rate_limited=True,
                    )
                self.pause(delay, what, "GitHub's rate limit")
                continue
            if response.status_code >= 500 and retry and attempt <= RETRIES:
                self.pause(BACKOFF * 2 ** (attempt - 1), what, f"GitHub to recover from HTTP {response.status_code}")
                continue
            if response.status_code == 403:
                raise PermissionDenied(
                    _explain(method, _short(path), response),
                    accepted_permissions(response.headers.get("X-Accepted-GitHub-Permissions", "")),
                    what=what,
                    detail=_message(response),
                )
            if response.status_code >= 400:
                raise GitHubError(
                    _explain(method, _short(path), response),
                    response.status_code,
                    uncertain=response.status_code >= 500 and not retry,
                )
            return response

    def _rate_limit_delay(self, response: requests.Response) -> float | None:
        """Seconds to wait when this response is a rate limit, else None."""
        if response.status_code not in (403, 429):
            return None
        retry_after = response.headers.get("Retry-After", "")
        if retry_after.strip().isdigit():
            return float(retry_after)
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset = response.headers.get("x-ratelimit-reset", "")
            if reset.isdigit():
                return max(float(reset) - self._clock(), 0.0) + 1.0
        if response.status_code == 429 or _is_secondary_limit(response):
            return SECONDARY_WAIT
        return None

    def json(self, method: str, path: str, **kwargs: Any) -> Any:  # noqa: ANN401
        """A call whose reply must be JSON."""
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise GitHubError(f"{method} {path}: the reply is not JSON") from None

    def upload(self, upload_url: str, name: str, data: bytes) -> Any:  # noqa: ANN401 - the API's reply
        """A release asset, to the upload host GitHub named (``uploads.github.com``).

        The token goes there and only there: the API itself, or GitHub's own
        upload host for github.com.
        """
        host = upload_url.split("/")[2] if upload_url.count("/") >= 2 else ""
        api_host = self.settings.api_url.split("/")[2] if self.settings.api_url.count("/") >= 2 else ""
        if host not in {api_host, "uploads.github.com"} or not upload_url.startswith(("https://", "http://127.0.0.1")):
            raise GitHubError(f"refusing to upload to {upload_url[:80]}: not GitHub's upload host")
        response = self.request(
            "POST", upload_url, params={"name": name}, data=data, headers={"Content-Type": "application/octet-stream"}
        )
        try:
            return response.json()
        except ValueError:
            raise GitHubError(f"upload of {name}: the reply is not JSON") from None

    def download(self, url: str) -> bytes:
        """Fetch a URL the API pointed to, without our token (another host), within the budget."""
        if self.budget.exhausted():
            raise self._spent(f"download of {url[:100]}", "its host")
        connect, read = TIMEOUT
        try:
            with self.budget.waiting():
                response = requests.get(
                    url,
                    timeout=(self.budget.timeout(connect), self.budget.timeout(read)),
                    headers={"User-Agent": "service-pipeline"},
                )
        except requests.RequestException as error:
            if self.budget.exhausted():
                raise self._spent(f"download of {url[:100]}", f"its host ({type(error).__name__})") from None
            raise GitHubError(f"cannot download {url[:100]}: {type(error).__name__}") from None
        if response.status_code >= 400:
            raise GitHubError(f"cannot download {url[:100]}: HTTP {response.status_code}")
        return response.content

    def paginate(self, path: str, params: dict[str, str] | None = None) -> Iterator[Any]:
        """Every item of a list endpoint, following ``Link: rel="next"``."""
        url: str | None = path
        query: dict[str, str] | None = {"per_page": "100", **(params or {})}
        while url:
            response = self.request("GET", url, params=query)
            try:
                page = response.json()
            except ValueError:
                raise GitHubError(f"GET {path}: the reply is not JSON") from None
            if isinstance(page, dict):  # e.g. {"attestations": [...]}
                page = next((v for v in page.values() if isinstance(v, list)), [])
            if not isinstance(page, list):
                raise GitHubError(f"GET {path}: expected a list in the reply")
            yield from page
            url = response.links.get("next", {}).get("url")
            if url and not url.startswith(f"{self.settings.api_url}/"):
                # The session carries the token: never follow a link off the API.
                raise GitHubError(f"GET {path}: the next page points outside {self.settings.api_url}")
            query = None  # the next link carries its own query


def _is_secondary_limit(response: requests.Response) -> bool:
    """A 403 that is GitHub's secondary rate limit (it says so in the message)."""
    try:
        message = str(response.json().get("message", ""))
    except (ValueError, AttributeError):
        return False
    return "secondary rate limit" in message.lower()


def _message(response: requests.Response) -> str:
    """GitHub's ``message`` of an error reply, cut to 200 characters; "" when there is none."""
    try:
        return str(response.json().get("message", ""))[:200]
    except (ValueError, AttributeError):
        return ""


def _explain(method: str, path: str, response: requests.Response) -> str:
    """An error line that says what to do, never the token."""
    detail = _message(response)
    status = response.status_code
    text = f"{method} {path}: HTTP {status}" + (f" ({detail})" if detail else "")
    if status == 401:
        return text + ": the token is missing or invalid; pass GITHUB_TOKEN"
    if status == 403 and "/comments" in path:
        return text + (
            ": the token may not write comments. Grant `pull-requests: write` to this job; "
            "on pull requests from forks the token is read-only by design"
        )
    if status == 403:
        accepted = accepted_permissions(response.headers.get("X-Accepted-GitHub-Permissions", ""))
        if accepted:
            return (
                text
                + ": the token lacks a permission this call needs; grant this job "
                + " or ".join(f"`{one}`" for one in accepted)
            )
        return text + ": the token lacks a permission this call needs"
    if status == 404:
        return text + ": not found, or the token cannot see it"
    return text
