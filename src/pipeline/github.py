"""A tiny GitHub REST client: retries, rate limits, pagination, clear errors.

Built on ``requests`` (already a dependency of sigstore). Retry policy:
connection errors and 5xx are retried with exponential backoff a bounded
number of times, but only for idempotent methods: a POST that failed that way
may have been applied, so it is never re-sent blindly (the caller looks
first; see ``comments.upsert``). 429 and rate-limited 403 (primary and
secondary limits) wait for ``Retry-After`` or ``x-ratelimit-reset``, but all
waits of one client together never exceed ``max_wait`` seconds: the budget
is the run's, not each call's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from pipeline.errors import GitHubError
from pipeline.settings import Settings

API_VERSION = "2022-11-28"
TIMEOUT = (5, 30)  # connect, read
RETRIES = 4
BACKOFF = 0.5
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
SECONDARY_WAIT = 60.0  # GitHub: wait at least a minute after a secondary rate limit


class GitHub:
    """REST calls against ``settings.api_url`` with the run's token."""

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self.waited = 0.0
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "sample-app-pipeline",
            }
        )
        if settings.token:
            self._session.headers["Authorization"] = f"Bearer {settings.token}"

    def url(self, path: str) -> str:
        """Absolute URL for an API path (``/repos/...``)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.settings.api_url}{path}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:  # noqa: ANN401
        """One call with retries; raises ``GitHubError`` on a final failure."""
        url = self.url(path)
        retry = method.upper() in IDEMPOTENT
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._session.request(method, url, timeout=TIMEOUT, **kwargs)
            except requests.RequestException as error:
                if not retry or attempt > RETRIES:
                    raise GitHubError(
                        f"{method} {path}: cannot reach {self.settings.api_url} "
                        f"after {attempt} attempt{'s' if attempt > 1 else ''} ({type(error).__name__})",
                        uncertain=not retry,
                    ) from None
                self._sleep(BACKOFF * 2 ** (attempt - 1))
                continue
            delay = self._rate_limit_delay(response)
            if delay is not None:
                if self.waited + delay > self.settings.max_wait:
                    raise GitHubError(
                        f"{method} {path}: rate limited by GitHub (HTTP {response.status_code}); "
                        f"{delay:.0f}s more would exceed the {self.settings.max_wait:.0f}s this run may "
                        f"wait in all (PIPELINE_MAX_WAIT; {self.waited:.0f}s spent). Re-run the job later.",
                        response.status_code,
                        rate_limited=True,
                    )
                self.waited += delay
                self._sleep(delay)
                continue
            if response.status_code >= 500 and retry and attempt <= RETRIES:
                self._sleep(BACKOFF * 2 ** (attempt - 1))
                continue
            if response.status_code >= 400:
                raise GitHubError(
                    _explain(method, path, response),
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
        """Fetch a URL the API pointed to, without our token (another host)."""
        try:
            response = requests.get(url, timeout=TIMEOUT, headers={"User-Agent": "sample-app-pipeline"})
        except requests.RequestException as error:
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


def _explain(method: str, path: str, response: requests.Response) -> str:
    """An error line that says what to do, never the token."""
    try:
        detail = str(response.json().get("message", ""))[:200]
    except (ValueError, AttributeError):
        detail = ""
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
        return text + ": the token lacks a permission this call needs"
    if status == 404:
        return text + ": not found, or the token cannot see it"
    return text
