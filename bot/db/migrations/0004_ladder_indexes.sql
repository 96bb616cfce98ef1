-- The ladder and the leaderboard count contributions per person and per period; these indexes keep those
-- GROUP BY queries to index scans at millions of ledger rows (the partial WHERE clauses match the queries).
CREATE INDEX stars_user ON stars(user_id);
CREATE INDEX reviews_counted ON reviews(reviewer_id, submitted_at) WHERE state != 'DISMISSED';
CREATE INDEX reviews_counted_time ON reviews(submitted_at, reviewer_id) WHERE state != 'DISMISSED';
CREATE INDEX issues_closed_time ON issues(closed_at, closed_by_id) WHERE state = 'closed';
CREATE INDEX pull_requests_merged_time ON pull_requests(merged_at, author_id, merged_by_id) WHERE state = 'merged';
-- Covering for "merged someone else's PR" (it compares the author with the merger).
CREATE INDEX pull_requests_merger_author ON pull_requests(merged_by_id, author_id, merged_at) WHERE state = 'merged';
CREATE INDEX peer_kudos_time ON peer_kudos(guild_id, at, receiver_id);
