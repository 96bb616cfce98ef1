"""Pull-request changes of the GitHub emulator, each delivered as GitHub's webhook(s)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.sandbox.github.base import REVIEW_STATES, EmulatorBase, as_utc
from bot.sandbox.github.state import Review, sha


class PullRequests(EmulatorBase):
    """Open, label, review, merge and close pull requests."""

    # pull requests --------------------------------------------------------------------------------------------
    async def open_pull(
        self,
        repo: str,
        author: str,
        title: str,
        draft: bool = False,
        labels: Iterable[str] = (),
        deliver: bool = True,
        *,
        body: str | None = None,
    ) -> dict[str, Any]:
        """Open a pull request: ``opened``, then one ``labeled`` per label, as GitHub sends them."""
        target = self.world.repo(repo)
        login = self._login(author)
        item = self._new_item(target, login, title, body, is_pull=True)
        item.draft = draft
        added = self._add_labels(target, item, labels, login, item.created_at)
        hooks = []
        if self._sending(deliver):
            hooks.append(self.payloads.pull_request("opened", target, item, login))
            hooks += [
                self.payloads.pull_request("labeled", target, item, login, label=self.render.label(target, name))
                for name in added
            ]
        html_url = f"{self.url}/{target.full_name}/pull/{item.number}"
        return await self._send(hooks, number=item.number, html_url=html_url, id=item.pr_id)

    async def add_labels(
        self, repo: str, number: int, labels: Iterable[str], deliver: bool = True, *, by: str | None = None
    ) -> dict[str, Any]:
        """Label an issue or pull request (one ``labeled`` delivery per new label)."""
        target = self.world.repo(repo)
        item = self.world.item(repo, number)
        actor = self._login(by) if by else item.author
        now = self._now()
        added = self._add_labels(target, item, labels, actor, now)
        item.updated_at = now
        target.touch()
        hooks = []
        if self._sending(deliver):
            for name in added:
                label = self.render.label(target, name)
                if item.is_pull:
                    hooks.append(self.payloads.pull_request("labeled", target, item, actor, label=label))
                else:
                    hooks.append(self.payloads.issues("labeled", target, item, actor, label=label))
        return await self._send(hooks)

    async def merge_pull(
        self, repo: str, number: int, by: str, merged_at: datetime | None = None, deliver: bool = True
    ) -> dict[str, Any]:
        """Merge an open, non-draft pull request (``closed`` with ``merged: true``)."""
        target, item = self._open_pull(repo, number)
        if item.draft:
            raise ValueError(f"{repo}#{number} is still a draft")
        merger = self._login(by)
        when = as_utc(merged_at) or self._now()
        commit = sha("merge", target.id, item.number)
        item.state, item.merged_at, item.merged_by, item.closed_at = "closed", when, merger, when
        item.updated_at = when
        self._event(item, "merged", merger, when, commit_id=commit)
        self._event(item, "closed", merger, when, commit_id=commit)
        target.merged_authors[item.author] += 1
        target.updated_at = max(target.updated_at, when)
        target.touch()
        hooks = [self.payloads.pull_request("closed", target, item, merger)] if self._sending(deliver) else []
        return await self._send(hooks, number=item.number, merged_at=when.isoformat())

    async def close_pull(
        self, repo: str, number: int, deliver: bool = True, *, by: str | None = None
    ) -> dict[str, Any]:
        """Close a pull request without merging it."""
        target, item = self._open_pull(repo, number)
        actor = self._login(by) if by else item.author
        now = self._now()
        item.state, item.closed_at, item.updated_at = "closed", now, now
        self._event(item, "closed", actor, now)
        target.touch()
        hooks = [self.payloads.pull_request("closed", target, item, actor)] if self._sending(deliver) else []
        return await self._send(hooks, number=item.number)

    async def ready_pull(self, repo: str, number: int, deliver: bool = True) -> dict[str, Any]:
        """Mark a draft ready for review (``ready_for_review``)."""
        return await self._set_draft(repo, number, False, deliver)

    async def draft_pull(self, repo: str, number: int, deliver: bool = True) -> dict[str, Any]:
        """Convert a pull request back to a draft (``converted_to_draft``)."""
        return await self._set_draft(repo, number, True, deliver)

    async def _set_draft(self, repo: str, number: int, draft: bool, deliver: bool) -> dict[str, Any]:
        target, item = self._open_pull(repo, number)
        if item.draft == draft:
            raise ValueError(f"{repo}#{number} is {'already' if draft else 'not'} a draft")
        now = self._now()
        item.draft, item.updated_at = draft, now
        self._event(item, "convert_to_draft" if draft else "ready_for_review", item.author, now)
        target.touch()
        action = "converted_to_draft" if draft else "ready_for_review"
        hooks = [self.payloads.pull_request(action, target, item, item.author)] if self._sending(deliver) else []
        return await self._send(hooks, number=item.number)

    async def request_reviews(
        self,
        repo: str,
        number: int,
        reviewers: Iterable[str] = (),
        teams: Iterable[str] = (),
        deliver: bool = True,
        *,
        by: str | None = None,
    ) -> dict[str, Any]:
        """Ask users and teams for a review: one ``review_requested`` delivery per reviewer or team."""
        target = self.world.repo(repo)
        item = self.world.pull(repo, number)
        requester = self._login(by) if by else item.author
        logins = [self._login(login) for login in reviewers]
        if item.author in logins:
            raise ValueError("Review cannot be requested from pull request author.")
        now = self._now()
        sending = self._sending(deliver)
        hooks = []
        for login in logins:
            if login not in item.requested_reviewers:
                item.requested_reviewers.append(login)
            item.updated_at = now
            self._event(item, "review_requested", requester, now, requested_reviewer=login, review_requester=requester)
            if sending:
                extra = {"requested_reviewer": self.render.user(login)}
                hooks.append(self.payloads.pull_request("review_requested", target, item, requester, **extra))
        for slug in teams:
            team = self.world.team(target.owner, slug)
            if slug not in item.requested_teams:
                item.requested_teams.append(slug)
            item.updated_at = now
            self._event(item, "review_requested", requester, now, requested_team=slug, review_requester=requester)
            if sending:
                extra = {"requested_team": self.render.team(team)}
                hooks.append(self.payloads.pull_request("review_requested", target, item, requester, **extra))
        target.touch()
        return await self._send(hooks, number=item.number)

    async def remove_review_requests(
        self,
        repo: str,
        number: int,
        reviewers: Iterable[str] = (),
        teams: Iterable[str] = (),
        deliver: bool = True,
        *,
        by: str | None = None,
    ) -> dict[str, Any]:
        """Withdraw pending review requests: one ``review_request_removed`` per reviewer or team still pending."""
        target = self.world.repo(repo)
        item = self.world.pull(repo, number)
        requester = self._login(by) if by else item.author
        now = self._now()
        sending = self._sending(deliver)
        hooks = []
        for name in reviewers:
            login = self.world.find_user(name).login if name.lower() in self.world.logins else name
            if login not in item.requested_reviewers:
                continue
            item.requested_reviewers.remove(login)
            item.updated_at = now
            self._event(
                item, "review_request_removed", requester, now, requested_reviewer=login, review_requester=requester
            )
            if sending:
                extra = {"requested_reviewer": self.render.user(login)}
                hooks.append(self.payloads.pull_request("review_request_removed", target, item, requester, **extra))
        for slug in teams:
            if slug not in item.requested_teams:
                continue
            item.requested_teams.remove(slug)
            item.updated_at = now
            self._event(item, "review_request_removed", requester, now, requested_team=slug, review_requester=requester)
            if sending:
                extra = {"requested_team": self.render.team(self.world.team(target.owner, slug))}
                hooks.append(self.payloads.pull_request("review_request_removed", target, item, requester, **extra))
        target.touch()
        return await self._send(hooks, number=item.number)

    async def submit_review(
        self, repo: str, number: int, by: str, state: str, deliver: bool = True, *, body: str = ""
    ) -> dict[str, Any]:
        """Submit a review (APPROVED / CHANGES_REQUESTED / COMMENTED); it clears the reviewer's pending request."""
        normalised = REVIEW_STATES.get(state.upper())
        if normalised is None:
            raise ValueError(f"unknown review state {state!r}")
        target = self.world.repo(repo)
        item = self.world.pull(repo, number)
        reviewer = self._login(by)
        if reviewer == item.author and normalised != "COMMENTED":
            verb = "approve" if normalised == "APPROVED" else "request changes on"
            raise ValueError(f"Can not {verb} your own pull request")
        now = self._now()
        review = Review(id=self.world.next_id("review"), user=reviewer, state=normalised, submitted_at=now, body=body)
        item.reviews.append(review)
        if reviewer in item.requested_reviewers:
            item.requested_reviewers.remove(reviewer)
        item.updated_at = now
        target.touch()
        hooks = [self.payloads.review_submitted(target, item, len(item.reviews) - 1)] if self._sending(deliver) else []
        return await self._send(hooks, id=review.id, number=item.number)
