"""The configuration model: every non-secret setting, validated, with unknown keys rejected."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.config import i18n
from bot.config.github import GitHubAppSettings, GitHubSettings
from bot.config.invitations import InvitationSettings
from bot.config.types import (
    Cron,
    Duration,
    DurationOrZero,
    FilePath,
    Repo,
    Snowflake,
    TimeZone,
    template_checker,
)

__all__ = ["GitHubAppSettings", "GitHubSettings", "Settings"]


class Section(BaseModel):
    """A configuration table: unknown keys are errors, values are checked on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DiscordChannels(Section):
    """Where Vestry posts; leave a channel out to turn off what posts there."""

    kudos: Snowflake | None = Field(None, description="Channel for first-PR kudos, milestones, /kudos and promotions.")
    reviews: Snowflake | None = Field(None, description="Channel for the scheduled review nudges.")
    digest: Snowflake | None = Field(None, description="Channel for the weekly digest.")
    maintainers: Snowflake | None = Field(
        None, description="Channel for maintainer-only posts: promotion approvals, backfill prompts."
    )


class DiscordSettings(Section, i18n.DiscordLocaleSettings):
    """The Discord server Vestry serves."""

    guild_id: Snowflake = Field(description="The id of the Discord server (guild) Vestry serves.")
    maintainer_role_id: Snowflake | None = Field(
        None, description="Members with this role count as maintainers (as do members with Manage Server)."
    )
    owner_ids: list[Snowflake] = Field(
        default_factory=list, description="Discord users who may run owner-only commands such as /vestry sync."
    )
    members_intent: bool = Field(
        False,
        description="Use the privileged members intent so a rejoining member gets roles back at once "
        "(without it, the hourly reconcile does it).",
    )
    channels: DiscordChannels = Field(default_factory=DiscordChannels)  # type: ignore[arg-type]


class WebhookSettings(Section):
    """The webhook receiver GitHub delivers to (served by the web server at `path`)."""

    enabled: bool = Field(True, description="Run the webhook receiver.")
    host: str = Field("0.0.0.0", description="Address the receiver listens on.")  # noqa: S104
    port: int = Field(8080, ge=0, le=65535, description="Port the receiver listens on (0 picks a free one).")
    path: str = Field("/github/webhook", pattern=r"^/", description="URL path GitHub posts to.")
    allow_unsigned: bool = Field(
        False,
        description="Accept unsigned deliveries when GITHUB_WEBHOOK_SECRET is not set (anyone who finds the URL "
        "could post them); without it Vestry refuses to start with webhooks on and no secret.",
    )


class WebSettings(Section):
    """The bot's web server: /healthz, /metrics, the hall of fame, and the webhook path when webhooks are on."""

    enabled: bool = Field(
        True, description="Run the web server for health, metrics and the hall of fame (webhooks always need it)."
    )
    host: str | None = Field(None, description="Address to listen on (default: [webhooks] host).")
    port: int | None = Field(None, ge=0, le=65535, description="Port to listen on (default: [webhooks] port).")


class HallOfFameSettings(Section):
    """The public hall of fame page, its JSON API and its SVG badge."""

    enabled: bool = Field(False, description="Serve the public hall of fame at / on the web server.")
    project_name: str | None = Field(
        None, max_length=100, description="Name shown on the page (default: the first repository's name)."
    )
    logo_url: str | None = Field(None, max_length=500, description="Logo shown beside the name (an https URL).")
    accent_color: str = Field(
        "#5b3cc4", pattern=r"^#[0-9a-fA-F]{6}$", description="The page's accent colour, as #rrggbb."
    )
    refresh_every: DurationOrZero = Field(
        timedelta(minutes=1),
        description="At most how often the page's rows are rebuilt after the ledger changed (0s: before each answer).",
    )
    per_page: int = Field(48, ge=1, le=100, description="Contributors per page.")
    newcomers: int = Field(8, ge=0, le=50, description="How many newest first-timers the strip at the top shows.")
    image_origins: list[str] = Field(
        default_factory=lambda: ["https://avatars.githubusercontent.com", "https://cdn.discordapp.com"],
        description="Where avatars may load from; others are drawn as initials by the bot itself.",
    )


class DatabaseSettings(Section):
    """Where Vestry keeps its ledger."""

    path: FilePath = Field("vestry.sqlite3", description="SQLite database file.")


class LoggingSettings(Section):
    """How Vestry logs."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level (VESTRY_LOG_LEVEL wins)."
    )
    format: Literal["text", "json"] = Field("text", description="Readable lines or JSON lines.")


class KudosSettings(Section, i18n.ReactionKudosSettings):
    """Celebrating first merged PRs, milestones and people thanking people."""

    enabled: bool = Field(True, description="Celebrate first merged PRs and milestones.")
    scope: Literal["project", "repository"] = Field(
        "project", description='"project": first PR across all repositories; "repository": first PR in each one.'
    )
    first_pr_message: Annotated[str, template_checker(i18n.FIRST_PR_PLACEHOLDERS)] = Field(
        "Welcome aboard, {author}! Your first pull request to {repo} was merged. Thank you!",
        description="Text of the first-PR post; placeholders: {author} {pr_title} {pr_url} {pr_number} {repo} "
        "{merged_by}.",
    )
    milestones: list[Annotated[int, Field(ge=2)]] = Field(
        default_factory=lambda: [10, 25, 50, 100], description="Merged-PR counts celebrated with a post."
    )
    milestone_message: Annotated[str, template_checker(i18n.MILESTONE_PLACEHOLDERS)] = Field(
        "{author} just had their {count}th pull request merged. What a run!",
        description="Text of a milestone post; placeholders: {author} {count} {pr_title} {pr_url} {repo}.",
    )
    other_firsts: bool = Field(
        True,
        description="Celebrate a linked member's first review, first issue closed and first merge of someone "
        "else's PR.",
    )
    dm_author: bool = Field(False, description="Also thank a linked author by direct message.")
    burst_size: int = Field(
        3,
        ge=2,
        le=10,
        description="Kudos due at once beyond this are combined into one post; while this many posts wait for the "
        "kudos channel, new ones are held and combined.",
    )
    peer_daily_limit: int = Field(5, ge=1, le=100, description="How many /kudos one member may give a day.")
    reason_max_length: int = Field(300, ge=10, le=1000, description="Longest /kudos reason accepted.")
    link_hosts: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9.-]+$", min_length=1)]] = Field(
        default_factory=list,
        description="Hosts /recognize links may point to besides github.com (their subdomains included), "
        'e.g. ["youtube.com", "dev.to"].',
    )


class TierCriteria(Section):
    """What a member must have done to hold a tier; every criterion given must hold."""

    linked: bool = Field(False, description="Has linked a GitHub account.")
    starred: bool = Field(False, description="Has starred a followed repository.")
    merged_prs: int | None = Field(None, ge=0, description="At least this many merged pull requests.")
    reviews: int | None = Field(None, ge=0, description="At least this many reviews given.")
    merges: int | None = Field(None, ge=0, description="Merged at least this many PRs written by someone else.")
    issues_closed: int | None = Field(None, ge=0, description="Closed at least this many issues.")
    kudos: int | None = Field(None, ge=0, description="Received at least this many /kudos.")
    recognitions: int | None = Field(None, ge=0, description="Received at least this many recognitions.")
    window: Duration | None = Field(None, description='Count only activity this recent, e.g. "365d".')


class Tier(Section):
    """One rung of the ladder."""

    name: str = Field(min_length=1, max_length=100, description="The tier's name, shown in posts and /rank.")
    role_id: Snowflake = Field(description="The Discord role that marks the tier.")
    criteria: TierCriteria = Field(description="What earns the tier.")
    approval: bool = Field(False, description="A maintainer approves each promotion to this tier.")


def _default_tiers() -> list[Tier]:
    return []


class LadderSettings(Section):
    """Roles that follow contributions."""

    enabled: bool = Field(True, description="Grant ladder roles.")
    mode: Literal["stack", "replace"] = Field(
        "stack", description='"stack" keeps lower tiers\' roles; "replace" keeps only the highest.'
    )
    demotion: Literal["sticky", "recompute"] = Field(
        "sticky", description='"sticky" never takes a role back; "recompute" repairs roles to match what is earned.'
    )
    announce: bool = Field(True, description="Post promotions in the kudos channel.")
    dm_member: bool = Field(False, description="Also tell the promoted member by direct message.")
    promotion_message: Annotated[str, template_checker(i18n.PROMOTION_PLACEHOLDERS)] = Field(
        "{member} is now a {tier}!", description="Text of a promotion post; placeholders: {member} {tier} {next_tier}."
    )
    reconcile_every: Duration = Field(timedelta(hours=1), description="How often roles are matched to what is earned.")
    tiers: list[Tier] = Field(default_factory=_default_tiers, description="The ladder, lowest tier first.")
    kudos_per_giver: int | None = Field(
        None,
        ge=1,
        description="For kudos criteria, count at most this many /kudos from any one member (so one friend "
        "running /kudos again and again cannot earn a tier); unset counts every kudos.",
    )

    @model_validator(mode="after")
    def _distinct_tiers(self) -> LadderSettings:
        names = [tier.name for tier in self.tiers]
        if len(set(names)) != len(names):
            raise ValueError("tier names must be distinct")
        return self


class QuietHours(Section):
    """A daily window in which nothing is posted."""

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description='Start, "HH:MM" in the schedule\'s zone.')
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description='End, "HH:MM" in the schedule\'s zone.')


class ReviewSettings(Section):
    """Reminding reviewers of pull requests waiting on them."""

    enabled: bool = Field(True, description="Post review nudges.")
    schedule: Cron = Field("0 9 * * 1-5", description="When nudges are posted (cron, in `timezone`).")
    timezone: TimeZone = Field("UTC", description="Time zone of the schedule, business days and quiet hours.")
    threshold: Duration = Field(timedelta(days=2), description="A review request older than this is nudged.")
    escalate_after: Duration = Field(timedelta(days=7), description="Older than this also mentions maintainers.")
    business_days: bool = Field(False, description="Count only working days toward the thresholds.")
    working_days: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5], description="Working days, 1 = Monday."
    )
    holidays: list[str] = Field(default_factory=list, description='Dates skipped in business time, "YYYY-MM-DD".')
    ignore_drafts: bool = Field(True, description="Never nudge about draft PRs.")
    ignored_labels: list[str] = Field(default_factory=list, description="PRs with any of these labels are skipped.")
    required_labels: list[str] = Field(default_factory=list, description="If set, only PRs with one of these labels.")
    title_patterns: list[str] = Field(
        default_factory=lambda: ["WIP", "[wip]", "do not merge"],
        description="PRs whose title contains one of these as a whole word (case-insensitive) are skipped.",
    )
    ignored_authors: list[str] = Field(default_factory=list, description="PRs by these GitHub logins are skipped.")
    approvals_needed: int = Field(2, ge=1, description="PRs with this many approvals are no longer nudged.")
    max_rows: int = Field(20, ge=1, le=50, description='Rows in one nudge before "and N more".')
    quiet_hours: QuietHours | None = Field(
        None, description="A daily window with no posts; a nudge due inside it is posted when it ends."
    )
    quiet_days: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default_factory=list, description="Days with no posts, 1 = Monday; a nudge due on one waits for the next slot."
    )
    team_roles: dict[str, Snowflake] = Field(
        default_factory=dict, description="GitHub team slug → Discord role mentioned for team review requests."
    )
    grace: Duration = Field(
        timedelta(hours=6), description="A slot missed while the bot was down runs on start-up if this recent."
    )
    working_hours: str | None = Field(
        None,
        pattern=r"^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$",
        description='With business_days, count only these hours of a working day, "HH:MM-HH:MM" in `timezone` '
        "(a whole working day still counts as one day).",
    )
    repositories: list[Repo] = Field(
        default_factory=list, description="If set, only PRs in these repositories are nudged about."
    )
    on_it_for: Duration = Field(
        timedelta(days=2), description='How long "On it" keeps a reviewer\'s waiting PRs out of the nudges.'
    )

    @model_validator(mode="after")
    def _valid_business_time(self) -> ReviewSettings:
        from datetime import date

        for day in self.holidays:
            try:
                date.fromisoformat(day)
            except ValueError:
                raise ValueError(f'holidays: {day!r} is not a date written "YYYY-MM-DD"') from None
        if self.working_hours is not None:
            start, end = self.working_hours.split("-")
            if start >= end:
                raise ValueError(f"working_hours: {self.working_hours!r} must end after it starts")
        return self


DigestSection = Literal[
    "new_contributors", "merges", "reviewers", "issues", "stars", "promotions", "kudos", "health", "good_first_issues"
]


def _all_digest_sections() -> list[DigestSection]:
    return list(get_args(DigestSection))


class DigestSettings(Section):
    """The weekly digest."""

    enabled: bool = Field(True, description="Post the digest on schedule.")
    schedule: Cron = Field("0 16 * * 5", description="When the digest is posted (cron, in `timezone`).")
    timezone: TimeZone = Field("UTC", description="Time zone of the schedule.")
    period: Duration = Field(timedelta(days=7), description="Length of the period the digest covers.")
    sections: list[DigestSection] = Field(default_factory=_all_digest_sections, description="Sections shown, in order.")
    good_first_issue_labels: list[str] = Field(
        default_factory=lambda: ["good first issue", "help wanted"],
        description="Labels of issues offered to newcomers.",
    )
    quiet_week: Literal["short", "skip"] = Field(
        "short", description='A quiet week gets a short post ("short") or none ("skip").'
    )
    mention_new_contributors: bool = Field(True, description="Mention linked new contributors.")
    chart: bool = Field(True, description="Attach a PNG chart of the last 12 periods.")
    grace: Duration = Field(
        timedelta(hours=12), description="A run missed while the bot was down runs on start-up if this recent."
    )


class LinkingSettings(Section):
    """How members link their GitHub account."""

    attempts_per_hour: int = Field(5, ge=1, le=100, description="Link attempts a member may make in an hour.")
    phrase_ttl: Duration = Field(timedelta(minutes=15), description="How long a proof phrase stays valid.")


class Settings(Section, i18n.TemplatesSettings):
    """Everything Vestry reads from its TOML file."""

    discord: DiscordSettings
    github: GitHubSettings
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)  # type: ignore[arg-type]
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)  # type: ignore[arg-type]
    web: WebSettings = Field(default_factory=WebSettings)  # type: ignore[arg-type]
    hall_of_fame: HallOfFameSettings = Field(default_factory=HallOfFameSettings)  # type: ignore[arg-type]
    logging: LoggingSettings = Field(default_factory=LoggingSettings)  # type: ignore[arg-type]
    linking: LinkingSettings = Field(default_factory=LinkingSettings)  # type: ignore[arg-type]
    kudos: KudosSettings = Field(default_factory=KudosSettings)  # type: ignore[arg-type]
    ladder: LadderSettings = Field(default_factory=LadderSettings)  # type: ignore[arg-type]
    reviews: ReviewSettings = Field(default_factory=ReviewSettings)  # type: ignore[arg-type]
    digest: DigestSettings = Field(default_factory=DigestSettings)  # type: ignore[arg-type]
    invitations: InvitationSettings = Field(default_factory=InvitationSettings)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _usable_roles(self) -> Settings:
        problems = role_problems(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self


def role_problems(settings: Settings) -> list[str]:
    """List the ladder roles that cannot work: @everyone, the maintainer role, or one role for two tiers."""
    problems: list[str] = []
    seen: dict[int, int] = {}
    guild, maintainer = settings.discord.guild_id, settings.discord.maintainer_role_id
    for index, tier in enumerate(settings.ladder.tiers):
        key = f"ladder.tiers[{index}].role_id"
        if tier.role_id == guild:
            problems.append(f"{key}: {tier.role_id} is @everyone (the server's id); give the tier a role of its own")
        elif tier.role_id == maintainer:
            problems.append(
                f"{key}: {tier.role_id} is discord.maintainer_role_id; a ladder tier would make contributors "
                "maintainers: give the tier a role of its own"
            )
        elif tier.role_id in seen:
            problems.append(
                f"{key}: role {tier.role_id} is already the role of ladder.tiers[{seen[tier.role_id]}]; each tier "
                "needs a distinct role"
            )
        seen.setdefault(tier.role_id, index)
    return problems
