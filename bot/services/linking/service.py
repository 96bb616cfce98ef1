"""The linking flows: GitHub's device flow, the public-phrase proof, claims, and maintainers' links."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import aiohttp

from bot.errors import UserFacingError
from bot.github.device_flow import DeviceFlowError
from bot.github.types import GitHubError, GitHubUser
from bot.i18n import N_
from bot.logs import redactor
from bot.messages import OutMessage
from bot.services.linking.models import (
    EXPIRED,
    TAKEN,
    AuditEntry,
    DeviceAuthorizer,
    DeviceSession,
    GitHubDirectory,
    Link,
    LinkFailed,
    LinkResult,
    ProofRequest,
    after_poll,
    check_login,
)
from bot.services.linking.store import LinkStore

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.config.models import GitHubSettings, LinkingSettings

log = logging.getLogger(__name__)

INTERRUPTED = (
    "Vestry restarted while you were signing in with GitHub, so your link was not finished. "
    "Please run `/link` again: it gives you a new code (one approval is enough)."
)

MAX_POLL_FAILURES = 3
# An interaction token lasts 15 minutes: stop a little before, so the final edit still reaches the member.
MAX_DEVICE_WAIT = timedelta(minutes=14)
Sleep = Callable[[float], Awaitable[None]]
_NETWORK = (DeviceFlowError, aiohttp.ClientError, TimeoutError)


class Linking:
    """Let members prove which GitHub account is theirs, and maintainers link or unlink by hand."""

    def __init__(
        self,
        store: LinkStore,
        clock: Clock,
        settings: LinkingSettings,
        github: GitHubSettings,
        directory: Callable[[], GitHubDirectory | None],
        device: DeviceAuthorizer | None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.store = store
        self._clock = clock
        self._settings = settings
        self._github = github
        self._directory = directory
        self._device = device
        self._sleep = sleep

    @property
    def device_flow_enabled(self) -> bool:
        """Tell whether /link uses GitHub's device flow (an OAuth App client id is configured)."""
        return bool(self._github.oauth_client_id) and self._device is not None

    def profile_url(self, login: str) -> str:
        """Return the GitHub profile URL of ``login``."""
        return f"{self._github.oauth_url.rstrip('/')}/{login}"

    async def close(self) -> None:
        """Close the device flow's HTTP session."""
        close = getattr(self._device, "close", None)
        if close is not None:
            await close()

    # reading ----------------------------------------------------------------------------------------------
    async def link_of_member(self, guild_id: int, discord_id: int) -> Link | None:
        """Return a member's link, if any."""
        return await self.store.link_of_member(guild_id, discord_id)

    async def link_of_login(self, guild_id: int, login: str) -> Link | None:
        """Return the link of a GitHub login, if any (the login is checked first)."""
        return await self.store.link_of_login(guild_id, check_login(login))

    async def audit(self, guild_id: int, limit: int = 20) -> list[AuditEntry]:
        """Return the newest maintainer actions on links."""
        return await self.store.audit(guild_id, limit)

    # the device flow --------------------------------------------------------------------------------------
    async def start_device(
        self, guild_id: int, discord_id: int, expected_github_id: int | None = None
    ) -> DeviceSession:
        """Ask GitHub for a code the member approves; ``expected_github_id`` is the account a claim is for."""
        if not self.device_flow_enabled or self._device is None:
            raise UserFacingError(N_("Sign-in with GitHub isn't set up here: use `/link github:<your login>` instead."))
        expected_login = await self._check_claim(guild_id, discord_id, expected_github_id)
        await self.store.record_attempt(guild_id, discord_id)
        try:
            code = await self._device.request_code(str(self._github.oauth_client_id))
        except DeviceFlowError as exc:
            log.warning("GitHub refused a device code: %s", exc)
            raise UserFacingError(
                "GitHub refused to start the sign-in; a maintainer should check `github.oauth_client_id` "
                "(an OAuth App with device flow enabled). Meanwhile, use `/link github:<your login>`."
            ) from None
        except (aiohttp.ClientError, TimeoutError):
            raise UserFacingError(N_("GitHub isn't answering right now; try `/link` again in a minute.")) from None
        wait = min(timedelta(seconds=code.expires_in), MAX_DEVICE_WAIT)
        await self.store.remember_device(guild_id, discord_id, self._clock.now() + wait)
        return DeviceSession(
            guild_id, discord_id, code.device_code, code.user_code, code.verification_uri,
            self._clock.now() + wait, float(code.interval), expected_github_id, expected_login,
        )  # fmt: skip

    async def device_done(self, session: DeviceSession) -> None:
        """Forget a sign-in once the member has been told how it ended (a restart before that tells them)."""
        await self.store.forget_device(session.guild_id, session.discord_id)

    async def tell_interrupted_devices(self) -> int:
        """At start: DM every member whose sign-in with GitHub a restart cut off to run /link again."""
        told = await self.store.tell_interrupted_devices(OutMessage(INTERRUPTED))
        if told:
            log.info("told %d member(s) to run /link again: a restart cut off their GitHub sign-in", told)
        return told

    async def complete_device(self, session: DeviceSession) -> LinkResult:
        """Poll until the member approves, read who they are, forget the token, and store the link."""
        assert self._device is not None
        token = await self._wait_for_token(session)
        redactor().add(token)
        try:
            user = await self._device.fetch_user(self._github.api_url, token)
        except _NETWORK:
            raise LinkFailed(N_("GitHub didn't tell me who signed in. Press **Try again** to retry.")) from None
        finally:
            redactor().discard(token)
            del token
        if session.expected_github_id is not None and user.id != session.expected_github_id:
            raise LinkFailed(
                f"You signed in to GitHub as @{user.login}, but this is about @{session.expected_login}. "
                f"Sign in as @{session.expected_login} and press **Try again** (or use `/link` for @{user.login})."
            )
        return await self.store.store(session.guild_id, session.discord_id, user, "oauth")

    async def _wait_for_token(self, session: DeviceSession) -> str:
        assert self._device is not None
        interval, failures = session.interval, 0
        while True:
            await self._sleep(interval)
            if self._clock.now() >= session.expires_at:
                raise LinkFailed(EXPIRED)
            try:
                result = await self._device.poll_token(str(self._github.oauth_client_id), session.device_code)
            except _NETWORK as exc:
                failures += 1
                log.warning("device-flow poll failed (%d in a row): %s", failures, type(exc).__name__)
                if failures >= MAX_POLL_FAILURES:
                    raise LinkFailed(N_("I lost contact with GitHub. Press **Try again** in a minute.")) from None
                continue
            failures = 0
            if result.status == "ok" and result.access_token:
                return result.access_token
            interval = after_poll(result, interval)
            if result.status == "slow_down":
                log.info("device flow: GitHub asked to slow down; polling every %.0f s", interval)

    # the proof flow ---------------------------------------------------------------------------------------
    async def start_proof(
        self, guild_id: int, discord_id: int, login: str, expected_github_id: int | None = None
    ) -> ProofRequest:
        """Give the member a one-time phrase to publish as ``login`` (in a public gist or the profile bio)."""
        login = check_login(login)
        await self._check_claim(guild_id, discord_id, expected_github_id)
        await self.store.record_attempt(guild_id, discord_id)
        user = await self._lookup(login)
        if expected_github_id is not None and user.id != expected_github_id:
            raise UserFacingError(f"@{user.login} is not the GitHub account this is about; nothing was started.")
        holder = await self.store.holder(guild_id, user.id)
        if holder is not None and holder != discord_id:
            raise UserFacingError(TAKEN, login=user.login)
        if user.is_bot or user.is_org:
            kind = "a bot" if user.is_bot else "an organisation"
            raise UserFacingError(f"@{user.login} is {kind} account; link your personal GitHub account instead.")
        phrase = f"vestry-link-{secrets.token_hex(8)}"
        proof = ProofRequest(user.login, user.id, phrase, self._clock.now() + self._settings.phrase_ttl)
        await self.store.save_proof(guild_id, discord_id, proof)
        return proof

    async def verify(self, guild_id: int, discord_id: int) -> LinkResult:
        """Look for the member's phrase in the account's public gists and bio; link when it is there."""
        proof = await self.store.proof(guild_id, discord_id)
        if proof is None:
            raise UserFacingError(N_("Nothing to verify yet: run `/link github:<your login>` first, then `/verify`."))
        if proof.expires_at <= self._clock.now():
            await self.store.drop_proof(guild_id, discord_id)
            raise UserFacingError(
                N_("Your phrase expired: run `/link github:{login}` for a new one."), login=proof.login
            )
        await self.store.record_attempt(guild_id, discord_id)
        user = await self._lookup(proof.login)
        if proof.github_id is not None and user.id != proof.github_id:
            await self.store.drop_proof(guild_id, discord_id)
            raise UserFacingError(f"@{proof.login} is now a different GitHub account: run `/link github:` again.")
        method = await self._find_phrase(user, proof.phrase)
        if method is None:
            raise UserFacingError(
                f"I couldn't find `{proof.phrase}` in a public gist of @{user.login} or in their profile bio. "
                "Create a public gist at https://gist.github.com (or edit your bio) containing it, "
                f"then run `/verify` again before <t:{int(proof.expires_at.timestamp())}:t>."
            )
        return await self.store.store(guild_id, discord_id, user, method)

    async def _find_phrase(self, user: GitHubUser, phrase: str) -> str | None:
        if user.bio and phrase in user.bio:
            return "bio"
        try:
            texts = await self._need_directory().get_user_gists_text(user.login)
        except GitHubError:
            raise UserFacingError("GitHub isn't answering right now; run `/verify` again in a few minutes.") from None
        return "gist" if any(phrase in text for text in texts) else None

    # claims, unlinking and maintainers --------------------------------------------------------------------
    async def claim_login(self, guild_id: int, discord_id: int, github_id: int) -> str:
        """Return the login of an account a member claims ("This is me"), or say why they cannot claim it."""
        login = await self._check_claim(guild_id, discord_id, github_id)
        assert login is not None
        return login

    async def unlink(self, guild_id: int, discord_id: int) -> Link:
        """Remove the member's own link; the roles it earned go with it."""
        return await self.store.unlink(guild_id, discord_id)

    async def admin_link(self, guild_id: int, actor_id: int, discord_id: int, login: str) -> LinkResult:
        """Link a member on a maintainer's word, moving the account from another member if needed (audited)."""
        user = await self._lookup(check_login(login))
        return await self.store.store(guild_id, discord_id, user, "maintainer", actor_id=actor_id)

    async def admin_unlink(self, guild_id: int, actor_id: int, discord_id: int) -> Link:
        """Unlink a member on a maintainer's word (audited)."""
        return await self.store.unlink(guild_id, discord_id, actor_id=actor_id)

    # internals --------------------------------------------------------------------------------------------
    def _need_directory(self) -> GitHubDirectory:
        directory = self._directory()
        if directory is None:
            raise UserFacingError("Vestry can't reach GitHub's API right now; ask a maintainer to check the setup.")
        return directory

    async def _lookup(self, login: str) -> GitHubUser:
        try:
            user = await self._need_directory().get_user(login)
        except GitHubError:
            raise UserFacingError("GitHub isn't answering right now; try again in a few minutes.") from None
        if user is None:
            raise UserFacingError(f"GitHub has no account named `{login}`: check the spelling on the profile page.")
        return user

    async def _check_claim(self, guild_id: int, discord_id: int, github_id: int | None) -> str | None:
        if github_id is None:
            return None
        found = await self.store.account(guild_id, github_id)
        if found is None:
            raise UserFacingError("I don't know that GitHub account; use `/link` to link yours.")
        if found.discord_id == discord_id:
            raise UserFacingError(f"You're already linked to @{found.login}.")
        if found.discord_id is not None:
            raise UserFacingError(TAKEN, login=found.login)
        return found.login
