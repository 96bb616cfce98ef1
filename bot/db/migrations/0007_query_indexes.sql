-- Indexes for /profile, /rank, /leaderboard and the digest at a million ledger rows (benchmarks/RESULTS.md, queries).
-- SQLite answers from a partial index alone only when every column the query names is in it, the column of the
-- index's own WHERE clause included: hence "state" at the end of the pull-request indexes below. Without
-- statistics (no ANALYZE), the planner takes "repo = ?" for selective and walks a whole repository's rows, so the
-- digest's per-repository, per-period queries get indexes that start with repo and then the period's column.

-- Per person, from the index alone: merged PRs written (counts, leaderboards), merges of others' PRs.
DROP INDEX pull_requests_author_merged;
CREATE INDEX pull_requests_author_merged ON pull_requests(author_id, merged_at, state) WHERE state = 'merged';
DROP INDEX pull_requests_merger;
CREATE INDEX pull_requests_merger ON pull_requests(merged_by_id, merged_at, author_id, state) WHERE state = 'merged';

-- The digest, per repository and period: first merges, merged PRs and mergers, PRs opened, reviews, closes, stars.
CREATE INDEX pull_requests_repo_author ON pull_requests(repo, author_id, merged_at, state) WHERE state = 'merged';
CREATE INDEX pull_requests_repo_merged ON pull_requests(repo, merged_at, author_id, merged_by_id, state)
    WHERE state = 'merged';
CREATE INDEX pull_requests_repo_created ON pull_requests(repo, created_at);
CREATE INDEX reviews_repo_time ON reviews(repo, submitted_at, reviewer_id, state);
CREATE INDEX issues_repo_closed ON issues(repo, closed_at, closed_by_id, state) WHERE state = 'closed';
CREATE INDEX stars_repo_time ON stars(repo, starred_at, user_id);
-- A pull request's reviews in time order, from the index alone (first review of a PR): without it the planner
-- reads MIN(submitted_at) of a PR by walking the whole repository's reviews in reviews_repo_time.
DROP INDEX reviews_pr;
CREATE INDEX reviews_pr ON reviews(repo, number, submitted_at, reviewer_id, state);
