"""The weekly digest: the community's period in one post, with a chart (issue 9).

``periods`` aligns periods to the cron schedule, ``stats`` reads the numbers from the ledger, ``render`` writes
the post, ``chart`` draws the PNG and ``service`` ties them together and posts once per slot through the outbox.
"""

from bot.services.digest.model import DigestData
from bot.services.digest.periods import Period, Schedule
from bot.services.digest.render import span_text
from bot.services.digest.service import JOB, Digest, Posted, RunOutcome

__all__ = ["JOB", "Digest", "DigestData", "Period", "Posted", "RunOutcome", "Schedule", "span_text"]
