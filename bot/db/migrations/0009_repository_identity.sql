-- Repositories are followed by GitHub's id, accounts keep their type, and repository names that differ only
-- in case are one repository (GitHub's names are case-insensitive: "Acme/Widgets" is "acme/widgets").

-- What kind of account an actor is: 'User', 'Bot' or 'Organization' (a deleted account is the user
-- 'ghost', id 10137). Who counts as a person is decided from this, never from the login alone.
ALTER TABLE github_users ADD COLUMN account_type TEXT NOT NULL DEFAULT 'User';
UPDATE github_users SET account_type = 'Bot' WHERE is_bot = 1;

-- Each followed repository as GitHub knows it: the id never changes; full_name follows renames and transfers.
CREATE TABLE repositories (
    id           INTEGER PRIMARY KEY,
    full_name    TEXT NOT NULL,
    configured   TEXT NOT NULL,
    renamed_from TEXT,
    renamed_at   TEXT,
    updated_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX repositories_configured ON repositories(configured COLLATE NOCASE);

-- One spelling per repository: the one most rows use (ties: the first in sort order). The bot later renames
-- it to GitHub's own spelling once it has asked GitHub.
CREATE TEMP TABLE repo_names AS
    SELECT repo FROM pull_requests UNION ALL SELECT repo FROM issues UNION ALL SELECT repo FROM stars
    UNION ALL SELECT repo FROM reviews UNION ALL SELECT repo FROM review_requests UNION ALL SELECT repo FROM review_acks;
CREATE TEMP TABLE repo_spelling AS
    SELECT folded, spelling FROM (
        SELECT lower(repo) AS folded, repo AS spelling,
               ROW_NUMBER() OVER (PARTITION BY lower(repo) ORDER BY COUNT(*) DESC, repo) AS rank
        FROM repo_names GROUP BY repo
    ) WHERE rank = 1;

-- Keep the most advanced row of each pull request (merged, then closed, then open; then the newest snapshot).
DELETE FROM pull_requests WHERE rowid IN (
    SELECT rowid FROM (
        SELECT rowid, ROW_NUMBER() OVER (
            PARTITION BY lower(repo), number
            ORDER BY CASE state WHEN 'merged' THEN 0 WHEN 'closed' THEN 1 ELSE 2 END, updated_at DESC, repo
        ) AS rank FROM pull_requests
    ) WHERE rank > 1
);
DELETE FROM issues WHERE rowid IN (
    SELECT rowid FROM (
        SELECT rowid, ROW_NUMBER() OVER (
            PARTITION BY lower(repo), number ORDER BY CASE state WHEN 'closed' THEN 0 ELSE 1 END, closed_at DESC, repo
        ) AS rank FROM issues
    ) WHERE rank > 1
);
DELETE FROM stars WHERE rowid IN (
    SELECT rowid FROM (
        SELECT rowid, ROW_NUMBER() OVER (PARTITION BY lower(repo), user_id ORDER BY starred_at, repo) AS rank
        FROM stars
    ) WHERE rank > 1
);
DELETE FROM review_requests WHERE rowid IN (
    SELECT rowid FROM (
        SELECT rowid, ROW_NUMBER() OVER (
            PARTITION BY lower(repo), number, reviewer_kind, reviewer ORDER BY requested_at DESC, repo
        ) AS rank FROM review_requests
    ) WHERE rank > 1
);
DELETE FROM review_acks WHERE rowid IN (
    SELECT rowid FROM (
        SELECT rowid, ROW_NUMBER() OVER (
            PARTITION BY guild_id, reviewer, lower(repo), number ORDER BY at DESC, repo
        ) AS rank FROM review_acks
    ) WHERE rank > 1
);

UPDATE pull_requests SET repo = (SELECT spelling FROM repo_spelling WHERE folded = lower(repo))
    WHERE repo != (SELECT spelling FROM repo_spelling WHERE folded = lower(repo));
UPDATE issues SET repo = (SELECT spelling FROM repo_spelling WHERE folded = lower(repo))
    WHERE repo != (SELECT spelling FROM repo_spelling WHERE folded = lower(repo));
UPDATE stars SET repo = (SELECT spelling FROM repo_spelling WHERE folded = lower(repo))
    WHERE repo != (SELECT spelling FROM repo_spelling WHERE folded = lower(repo));
UPDATE reviews SET repo = (SELECT spelling FROM repo_spelling WHERE folded = lower(repo))
    WHERE repo != (SELECT spelling FROM repo_spelling WHERE folded = lower(repo));
UPDATE review_requests SET repo = (SELECT spelling FROM repo_spelling WHERE folded = lower(repo))
    WHERE repo != (SELECT spelling FROM repo_spelling WHERE folded = lower(repo));
UPDATE review_acks SET repo = (SELECT spelling FROM repo_spelling WHERE folded = lower(repo))
    WHERE repo != (SELECT spelling FROM repo_spelling WHERE folded = lower(repo));

DROP TABLE repo_spelling;
DROP TABLE repo_names;

-- Issues remember the snapshot time of their stored state, so an older webhook never reopens a closed one.
ALTER TABLE issues ADD COLUMN updated_at TEXT;
