"""The outbox: every Discord side effect caused by GitHub activity (and the posts commands make), done once.

Services write rows inside their transaction (``enqueue``); the ``Dispatcher`` performs them through a
``DiscordSink`` and records the result. Each row belongs to a lane (a channel, a member's DMs, a member's roles):
order holds within a lane, and lanes retry and back off independently, so one failing channel holds nothing
else. A row that fails for good, or past its attempts, is kept as *failed* with its last error until a maintainer
retries it (``/vestry outbox``). A post carries a random nonce, and a post that may have reached Discord is looked
for in its channel before it is sent again: Discord forgets a nonce after minutes, the outbox does not rely on it.
"""

from bot.outbox.dispatcher import Dispatcher
from bot.outbox.enqueue import (
    PostedMessage,
    enqueue,
    enqueue_dm,
    enqueue_edit,
    enqueue_message,
    enqueue_reaction,
    enqueue_role,
    new_nonce,
    posted_message,
)
from bot.outbox.model import (
    DiscordSink,
    Kind,
    PermanentError,
    SeenMessage,
    TransientError,
    embed_keys,
    find_posted,
    lane_for,
)
from bot.outbox.store import FailedRow, LaneState, failed_count, failed_rows, retry_failed, waiting_lanes

__all__ = [
    "DiscordSink",
    "Dispatcher",
    "FailedRow",
    "Kind",
    "LaneState",
    "PermanentError",
    "PostedMessage",
    "SeenMessage",
    "TransientError",
    "embed_keys",
    "enqueue",
    "enqueue_dm",
    "enqueue_edit",
    "enqueue_message",
    "enqueue_reaction",
    "enqueue_role",
    "failed_count",
    "failed_rows",
    "find_posted",
    "lane_for",
    "new_nonce",
    "posted_message",
    "retry_failed",
    "waiting_lanes",
]
