"""Patroni REST client: one cluster polled member by member into the store, promoted once."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import msgspec

from opsconsole.backends.errors import ApiError, BackendError
from opsconsole.backends.pgsetting import is_on, read_setting
from opsconsole.backends.polledlink import PolledLink
from opsconsole.backends.secrets import Secret, redact
from opsconsole.core.actions import Intent
from opsconsole.core.audit import os_user
from opsconsole.core.backoff import Backoff
from opsconsole.core.config import BackendConfig
from opsconsole.core.events import ClusterChanged, DataReceived, EventOccurred, StoreEvent
from opsconsole.core.models import ConnectionState, DbCluster, Transport
from opsconsole.core.patroni import (
    PatroniClusterBody,
    PatroniConfigBody,
    TimelineChange,
    decode_history,
    leader_of,
)
from opsconsole.core.patronimap import (
    NOT_REQUESTED,
    MemberFacts,
    PatroniStatus,
    cluster_of,
    history_event,
    pause_patch,
    promotion_request,
    read_only_patch,
    refusal_words,
    takeover_cause,
)

log = logging.getLogger(__name__)
Sink = Callable[[StoreEvent], None]

READ_TIMEOUT = httpx.Timeout(3.0, connect=1.5)  # a hung member must not hold up the others
# Patroni answers a promotion only once it sees the new leader (it polls up to 20 s).
PROMOTION_TIMEOUT = httpx.Timeout(35.0, connect=3.0)
READ_ONLY_SETTING = "default_transaction_read_only"
REVERIFY_S = 30.0  # a verified read-only setting is looked at again this often
HISTORY_HOLD_S = 10.0  # a history line waits this long for the sight of why it happened
SIGHT_BEFORE_S = 30.0  # a member seen down this long before its history line explains it


@dataclass
class _Sent:
    """A promotion this console sent: what it was, and the leader it moved away from."""

    words: str
    leader: str | None


class PatroniClient(PolledLink):
    """One Patroni cluster. `start()` keeps it in the store; `perform` switches over, fails
    over, pauses and sets the advisory read-only.

    Patroni takes no idempotency key: an intent is sent at most once by remembering its key
    before the request goes, serialising promotions of the cluster, and reading the leader
    fresh before each one (a candidate that already leads is not asked again).
    """

    def __init__(
        self,
        name: str,
        url: str,
        apply: Sink,
        *,
        username: str | None = None,
        password: Secret | None = None,
        verify_tls: bool = True,
        cafile: str | None = None,
        poll_s: float = 2.0,
        pg_user: str | None = None,
        pg_database: str = "postgres",
        clock: Callable[[], float] = time.time,
        backoff: Backoff | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = _base(url)
        self._init_link(name, apply, clock, poll_s)
        self._apply = apply
        self.username = username
        self._password = password
        self.pg_user = pg_user
        self.pg_database = pg_database
        self._clock = clock
        self._backoff = backoff or Backoff()
        verify: ssl.SSLContext | bool = verify_tls
        if verify_tls and cafile:
            verify = ssl.create_default_context(cafile=cafile)
        self._http = httpx.AsyncClient(
            verify=verify,
            timeout=READ_TIMEOUT,
            trust_env=False,
            headers={"User-Agent": "opsconsole/0.1", "Accept": "application/json"},
            transport=transport,
        )
        self.polls = 0
        self.posts = 0  # unsafe requests actually sent (at most one per intent)
        self._entry = self.url  # the member that answered last: asked first next time
        self._members: dict[str, str] = {}  # name → REST base URL, as /cluster lists them
        self._scope: str | None = None
        self._cluster: DbCluster | None = None
        # Why a leader changed, told from what was seen: the leader before the newest one, and
        # each member's last sight down (state words, monotonic time).
        self._old_leader: str | None = None
        self._seen_down: dict[str, tuple[str, float]] = {}
        self._held: list[tuple[TimelineChange, float]] = []  # history lines awaiting a cause
        self._history_seen: set[int] | None = None  # None until the first history is read
        self._read_only: dict[str, tuple[bool | None, float]] = {}  # member → (value, when)
        self._sent: dict[str, _Sent] = {}  # intent key → what was sent for it
        self._requested: str | None = None  # words of a promotion sent, for the next change
        self._poll_lock = asyncio.Lock()
        self._act_lock = asyncio.Lock()

    link_transport = Transport.PATRONI
    task_prefix = "patroni"
    silence_words = "no member answered for {silent:.0f} s"

    # ------------------------------------------------------------------ lifecycle

    def set_token(self, token: Secret | None) -> None:
        """A new REST password (the next unsafe call uses it)."""
        self._password = token

    @property
    def cluster(self) -> DbCluster | None:
        return self._cluster

    # ------------------------------------------------------------------ polling

    async def _run(self) -> None:
        while not self._closed:
            try:
                await self._poll()
            except BackendError as exc:
                delay = min(self.poll_s, self._backoff.next_delay())
                log.info("%s: poll failed: %s", self.name, exc)
                self._set_status(ConnectionState.RECONNECTING, str(exc), round(delay, 1))
                await asyncio.sleep(delay)
                continue
            except Exception:  # a bug must show, not end the link silently
                log.exception("%s: poll failed unexpectedly", self.name)
                self._set_status(ConnectionState.RECONNECTING, "unexpected error (see the log)")
                await asyncio.sleep(self.poll_s)
                continue
            self._backoff.reset()
            await asyncio.sleep(self.poll_s)

    async def refresh(self) -> bool:
        """Poll now (after an action, so its outcome shows at once); False when it failed."""
        try:
            await self._poll()
        except BackendError as exc:
            log.info("%s: refresh failed: %s", self.name, exc)
            return False
        return True

    async def _poll(self) -> None:
        async with self._poll_lock:
            base, body = await self._read_cluster()
            config = await self._read_config(base)
            history = await self._read_history(base)
            facts = await self._member_facts(body, config)
            if self._scope is None:
                self._scope = next(
                    (f.status.scope for f in facts.values() if f.status and f.status.scope),
                    None,
                )
            name = self._scope or self.name
            cluster = cluster_of(name, body, config, facts)
            before = self._cluster
            events: list[StoreEvent] = []
            self._remember_sights(before, cluster)
            if cluster != before:
                self._cluster = cluster
                events.append(ClusterChanged(self.name, cluster))
            events.extend(self._history_events(name, history, cluster))
            events.append(DataReceived(self.name))
            for event in events:
                self._apply(event)
            self.polls += 1
            self._polled()

    async def _read_cluster(self) -> tuple[str, PatroniClusterBody]:
        """`GET /cluster` from the member that answered last, else from any other one."""
        bases = [self._entry, self.url, *self._members.values()]
        problems: list[str] = []
        for base in dict.fromkeys(bases):
            try:
                response = await self._request("GET", base, "/cluster")
                body = msgspec.json.decode(response.content, type=PatroniClusterBody)
            except BackendError as exc:
                problems.append(str(exc))
                continue
            except msgspec.ValidationError as exc:
                problems.append(f"{base}: GET /cluster answered something else ({exc})")
                continue
            self._entry = base
            self._members = {
                m.name: _base(m.api_url) for m in body.members if m.api_url is not None
            }
            return base, body
        raise BackendError("no member answered: " + "; ".join(problems))

    async def _read_config(self, base: str) -> PatroniConfigBody:
        response = await self._request("GET", base, "/config")
        try:
            return msgspec.json.decode(response.content, type=PatroniConfigBody)
        except msgspec.ValidationError as exc:
            why = f"{self.name}: GET /config answered something else ({exc})"
            raise BackendError(why) from None

    async def _read_history(self, base: str) -> tuple[TimelineChange, ...]:
        response = await self._request("GET", base, "/history")
        try:
            return decode_history(response.content)
        except msgspec.ValidationError as exc:
            why = f"{self.name}: GET /history answered something else ({exc})"
            raise BackendError(why) from None

    async def _member_facts(
        self, body: PatroniClusterBody, config: PatroniConfigBody
    ) -> dict[str, MemberFacts]:
        """Each member's own `GET /patroni` (does its REST API answer?) and, with a database
        login, its advisory read-only setting as PostgreSQL itself says it."""

        async def one(member_name: str, api_url: str | None) -> tuple[str, MemberFacts]:
            status: PatroniStatus | None = None
            if api_url is not None:
                try:
                    response = await self._request("GET", _base(api_url), "/patroni")
                    status = msgspec.json.decode(response.content, type=PatroniStatus)
                except (BackendError, msgspec.ValidationError) as exc:
                    log.info("%s: member %s: %s", self.name, member_name, exc)
            return member_name, MemberFacts(reachable=status is not None, status=status)

        found = dict(await asyncio.gather(*(one(m.name, m.api_url) for m in body.members)))
        if self.pg_user is not None:
            values = await self._read_only_values(body, config)
            for member, value in values.items():
                known = found.get(member, MemberFacts())
                found[member] = MemberFacts(known.reachable, known.status, value)
        return found

    async def _read_only_values(
        self, body: PatroniClusterBody, config: PatroniConfigBody
    ) -> dict[str, bool | None]:
        """default_transaction_read_only on every member, read again while any member differs
        from the configuration (a change on its way) and every REVERIFY_S otherwise (also
        after a failed login: not a flood of refused logins in the server's log)."""
        wanted = config.advisory_read_only
        now = time.monotonic()
        due = [
            m
            for m in body.members
            if m.host is not None
            and m.port is not None
            and (
                (seen := self._read_only.get(m.name)) is None
                # a change on its way is read every poll; a login that failed waits its turn
                or (seen[0] is not None and seen[0] != wanted)
                or now - seen[1] >= REVERIFY_S
            )
        ]
        assert self.pg_user is not None
        read = await asyncio.gather(
            *(
                read_setting(
                    str(m.host), int(m.port or 0), self.pg_user, self.pg_database, READ_ONLY_SETTING
                )
                for m in due
            )
        )
        for member, value in zip(due, read, strict=True):
            self._read_only[member.name] = (is_on(value), now)
        return {m.name: self._read_only.get(m.name, (None, 0.0))[0] for m in body.members}

    def _remember_sights(self, before: DbCluster | None, now: DbCluster) -> None:
        """Patroni writes the history line a cycle or two after the new leader shows, and may
        list the new leader before the old one's state says it died: keep who led before and
        when each member was last seen down, to tell the cause whenever the line comes."""
        if before is not None and before.primary is not None and before.primary != now.primary:
            self._old_leader = before.primary
        seen = time.monotonic()
        for member in now.members:
            if not member.reachable:
                self._seen_down[member.name] = ("unreachable", seen)
            elif not member.healthy:
                self._seen_down[member.name] = (member.state_words or "down", seen)

    def _history_events(
        self, name: str, history: tuple[TimelineChange, ...], now: DbCluster
    ) -> list[StoreEvent]:
        """Timeline changes not told yet: at the first look every one Patroni keeps (with its
        own time; the timeline store drops lines it already holds), later the new ones with
        why the console saw them happen. A change nobody here asked for waits up to
        HISTORY_HOLD_S for the sight of its old leader down before it is told as not requested
        from this console."""
        first = self._history_seen is None
        seen = self._history_seen if self._history_seen is not None else set()
        events: list[StoreEvent] = []
        for change in history:
            if change.timeline in seen:
                continue
            seen.add(change.timeline)
            if first:
                told = history_event(name, change, None, self._clock())
                events.append(EventOccurred(self.name, told))
            else:
                self._held.append((change, time.monotonic()))
        self._history_seen = seen
        held: list[tuple[TimelineChange, float]] = []
        for change, since in self._held:
            new_leader = change.new_leader or now.primary
            old = self._old_leader if self._old_leader != new_leader else None
            recent = {
                member: state
                for member, (state, when) in self._seen_down.items()
                if when >= since - SIGHT_BEFORE_S
            }
            cause = takeover_cause(old, recent, self._requested)
            settled = cause is not None and cause != NOT_REQUESTED
            if not settled and time.monotonic() - since < HISTORY_HOLD_S:
                held.append((change, since))
                continue
            self._requested = None
            told = history_event(name, change, cause, self._clock())
            events.append(EventOccurred(self.name, told))
        self._held = held
        return events

    # ------------------------------------------------------------------ actions

    async def perform(self, intent: Intent) -> None:
        """Carry out an operator intent, then poll at once so its outcome shows."""
        action = self._ACTIONS.get(intent.command_id)
        if action is None:
            raise BackendError(f"{self.name} (Patroni) cannot carry out {intent.command_id}")
        async with self._act_lock:
            await action(self, intent)
        await self.refresh()

    async def _promote(self, intent: Intent) -> None:
        """Switchover or failover to the intent's member, at most once per intent."""
        verb = "switchover" if intent.command_id == "db.switchover" else "failover"
        candidate = str(intent.args["member"])
        if intent.key in self._sent:
            log.info("%s: intent %s was sent already; not again", self.name, intent.key)
            return
        base, body = await self._read_cluster()  # fresh: the leader now, not at the dialog
        leader = leader_of(body)
        if leader is not None and leader.name == candidate:
            log.info("%s: %s already leads; nothing sent", self.name, candidate)
            return
        at = intent.args.get("at")
        if body.scheduled_switchover and not at:
            raise ApiError(409, "scheduled", "a switchover is already scheduled; nothing sent", {})
        words = f"{verb} to {candidate} requested from this console by {os_user()}"
        self._sent[intent.key] = _Sent(words, None if leader is None else leader.name)
        self._requested = None if at else words
        content = promotion_request(verb, None if leader is None else leader.name, candidate, at)
        await self._unsafe("POST", base, f"/{verb}", content, PROMOTION_TIMEOUT)

    async def _pause(self, intent: Intent) -> None:
        paused = intent.command_id == "db.pause"
        if intent.key in self._sent:
            return
        self._sent[intent.key] = _Sent("pause" if paused else "resume", None)
        await self._unsafe("PATCH", self._entry, "/config", pause_patch(paused))

    async def _set_read_only(self, intent: Intent) -> None:
        if self.pg_user is None:
            raise ApiError(
                412,
                "unverifiable",
                "advisory read-only cannot be verified on the members without a database "
                "login: set pg_user for this backend (password in ~/.pgpass); nothing sent",
                {},
            )
        if intent.key in self._sent:
            return
        enabled = bool(intent.args["enabled"])
        self._sent[intent.key] = _Sent(f"read-only {'on' if enabled else 'off'}", None)
        self._read_only.clear()  # every member is read again until it shows the new value
        await self._unsafe("PATCH", self._entry, "/config", read_only_patch(enabled))

    _ACTIONS: ClassVar[Mapping[str, Callable[[PatroniClient, Intent], Awaitable[None]]]] = {
        "db.switchover": _promote,
        "db.failover": _promote,
        "db.pause": _pause,
        "db.resume": _pause,
        "db.read_only": _set_read_only,
    }
    performs: ClassVar[frozenset[str]] = frozenset(_ACTIONS)

    @classmethod
    def from_config(cls, cfg: BackendConfig, sink: Sink, token: Secret | None) -> PatroniClient:
        """The adapter for one `kind = "patroni"` table of the config file (not started)."""
        return cls(
            cfg.name,
            cfg.url,
            sink,
            username=cfg.username,
            password=token,
            verify_tls=cfg.verify_tls,
            cafile=cfg.cafile,
            poll_s=cfg.step_s,
            pg_user=cfg.pg_user,
            pg_database=cfg.pg_database,
        )

    # ------------------------------------------------------------------ HTTP

    async def _unsafe(
        self,
        method: str,
        base: str,
        path: str,
        content: bytes,
        limits: httpx.Timeout = READ_TIMEOUT,
    ) -> httpx.Response:
        """An unsafe call, with Patroni's basic auth when a user is configured; sent once."""
        auth = None
        if self.username is not None:
            password = self._password.reveal() if self._password is not None else ""
            auth = httpx.BasicAuth(self.username, password)
        self.posts += 1
        return await self._request(method, base, path, content=content, auth=auth, limits=limits)

    async def _request(
        self,
        method: str,
        base: str,
        path: str,
        *,
        content: bytes | None = None,
        auth: httpx.Auth | None = None,
        limits: httpx.Timeout = READ_TIMEOUT,
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"} if content is not None else {}
        url = base + path
        try:
            response = await self._http.request(
                method, url, content=content, headers=headers, auth=auth, timeout=limits
            )
        except httpx.TimeoutException:
            raise BackendError(f"{_host(base)}: no answer to {method} {path} in time") from None
        except httpx.HTTPError as exc:
            text = redact(str(exc) or type(exc).__name__)
            raise BackendError(f"{_host(base)}: cannot reach Patroni ({text})") from None
        status = response.status_code
        if status < 400:
            return response
        said = redact(response.text[:500])
        if status == 503 and method == "POST":
            # "Switchover status unknown" / "failed": not a refusal; the live state decides.
            raise ApiError(503, "unknown", f"Patroni: {said.strip() or 'status unknown'}", {})
        if method == "GET":
            raise BackendError(f"{_host(base)}: GET {path} answered HTTP {status} ({said})")
        raise ApiError(status, f"http_{status}", refusal_words(status, said), {})


def _base(url: str) -> str:
    """A member's REST root from its address or its `api_url` (which ends in /patroni)."""
    parts = urlsplit(url.rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"Patroni URL must be http(s)://host:port, got {url!r}")
    path = parts.path.removesuffix("/patroni")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _host(base: str) -> str:
    return urlsplit(base).netloc
