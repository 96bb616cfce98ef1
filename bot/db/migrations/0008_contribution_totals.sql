-- Per-person totals for the all-time leaderboard (benchmarks/RESULTS.md, queries): counting a million ledger rows
-- at every /leaderboard took a quarter of a second; reading the totals takes a few milliseconds at any page.
-- contribution_totals holds each person's count per category; contribution_counts how many listed people have
-- each count, so that a rank (one plus the people with more) and the number of people on the board are sums over
-- a few hundred distinct counts rather than counts over every person.
-- Triggers keep the totals: every writer of pull_requests, reviews, issues and github_users (the ledger, the
-- backfill, a repair by hand) updates them in its own transaction, so they cannot drift from the ledger.
-- The categories and their rules are those of bot/services/ladder/leaderboard.py; its tests compare both ways.

CREATE TABLE contribution_totals (
    github_id INTEGER NOT NULL,
    category  TEXT NOT NULL CHECK (category IN ('merged_prs', 'merges', 'reviews', 'issues_closed')),
    n         INTEGER NOT NULL,
    listed    INTEGER NOT NULL DEFAULT 0,   -- 1 for a known account that is no bot and not ignored
    sort_name TEXT NOT NULL DEFAULT '',     -- lower(login): ties are listed by name
    PRIMARY KEY (github_id, category)
) WITHOUT ROWID;
CREATE INDEX contribution_totals_board ON contribution_totals(category, n DESC, sort_name, github_id)
    WHERE listed = 1;

CREATE TABLE contribution_counts (
    category TEXT NOT NULL,
    n        INTEGER NOT NULL,
    people   INTEGER NOT NULL,
    PRIMARY KEY (category, n)
) WITHOUT ROWID;
CREATE TRIGGER contribution_totals_counts_insert AFTER INSERT ON contribution_totals
    WHEN NEW.listed = 1 AND NEW.n > 0
BEGIN
    INSERT INTO contribution_counts(category, n, people) VALUES (NEW.category, NEW.n, 1)
        ON CONFLICT(category, n) DO UPDATE SET people = people + 1;
END;
CREATE TRIGGER contribution_totals_counts_update AFTER UPDATE OF n, listed ON contribution_totals
    WHEN OLD.n IS NOT NEW.n OR OLD.listed IS NOT NEW.listed
BEGIN
    UPDATE contribution_counts SET people = people - 1
        WHERE OLD.listed = 1 AND OLD.n > 0 AND category = OLD.category AND n = OLD.n;
    DELETE FROM contribution_counts WHERE category = OLD.category AND n = OLD.n AND people <= 0;
    INSERT INTO contribution_counts(category, n, people)
        SELECT NEW.category, NEW.n, 1 WHERE NEW.listed = 1 AND NEW.n > 0
        ON CONFLICT(category, n) DO UPDATE SET people = people + 1;
END;

-- What the totals start from: the ledger as it is (the counts follow by the triggers above).
INSERT INTO contribution_totals(github_id, category, n)
    SELECT author_id, 'merged_prs', COUNT(*) FROM pull_requests
    WHERE state = 'merged' AND author_id IS NOT NULL GROUP BY author_id;
INSERT INTO contribution_totals(github_id, category, n)
    SELECT merged_by_id, 'merges', COUNT(*) FROM pull_requests
    WHERE state = 'merged' AND merged_by_id IS NOT NULL AND (author_id IS NULL OR author_id != merged_by_id)
    GROUP BY merged_by_id;
INSERT INTO contribution_totals(github_id, category, n)
    SELECT reviewer_id, 'reviews', COUNT(*) FROM reviews
    WHERE state != 'DISMISSED' AND reviewer_id IS NOT NULL GROUP BY reviewer_id;
INSERT INTO contribution_totals(github_id, category, n)
    SELECT closed_by_id, 'issues_closed', COUNT(*) FROM issues
    WHERE state = 'closed' AND closed_by_id IS NOT NULL GROUP BY closed_by_id;
UPDATE contribution_totals SET
    listed = COALESCE((SELECT is_bot = 0 AND ignored = 0 AND login NOT LIKE '%[bot]' FROM github_users
                       WHERE id = contribution_totals.github_id), 0),
    sort_name = COALESCE((SELECT lower(login) FROM github_users WHERE id = contribution_totals.github_id), '');

-- An account's name or standing changes: its totals follow.
CREATE TRIGGER github_users_totals_insert AFTER INSERT ON github_users
BEGIN
    UPDATE contribution_totals
    SET listed = (NEW.is_bot = 0 AND NEW.ignored = 0 AND NEW.login NOT LIKE '%[bot]'), sort_name = lower(NEW.login)
    WHERE github_id = NEW.id;
END;
CREATE TRIGGER github_users_totals_update AFTER UPDATE OF login, is_bot, ignored ON github_users
    WHEN OLD.login IS NOT NEW.login OR OLD.is_bot IS NOT NEW.is_bot OR OLD.ignored IS NOT NEW.ignored
BEGIN
    UPDATE contribution_totals
    SET listed = (NEW.is_bot = 0 AND NEW.ignored = 0 AND NEW.login NOT LIKE '%[bot]'), sort_name = lower(NEW.login)
    WHERE github_id = NEW.id;
END;

-- Every change to a count goes through one place: inserting (person, category, +1 or -1) into this view adds it to
-- the person's total, creating the row (with the account's standing) the first time.
CREATE VIEW contribution_changes(github_id, category, delta) AS SELECT NULL, NULL, NULL WHERE 0;
CREATE TRIGGER contribution_changes_apply INSTEAD OF INSERT ON contribution_changes WHEN NEW.github_id IS NOT NULL
BEGIN
    INSERT INTO contribution_totals(github_id, category, n, listed, sort_name)
        SELECT NEW.github_id, NEW.category, NEW.delta,
               COALESCE((SELECT is_bot = 0 AND ignored = 0 AND login NOT LIKE '%[bot]' FROM github_users
                         WHERE id = NEW.github_id), 0),
               COALESCE((SELECT lower(login) FROM github_users WHERE id = NEW.github_id), '')
        WHERE 1
        ON CONFLICT(github_id, category) DO UPDATE SET n = n + excluded.n;
END;

-- Pull requests: a merged PR counts for its author (merged_prs) and, when someone else merged it, its merger.
CREATE TRIGGER pull_requests_totals_insert AFTER INSERT ON pull_requests WHEN NEW.state = 'merged'
BEGIN
    INSERT INTO contribution_changes VALUES (NEW.author_id, 'merged_prs', 1);
    INSERT INTO contribution_changes SELECT NEW.merged_by_id, 'merges', 1
        WHERE NEW.author_id IS NULL OR NEW.author_id != NEW.merged_by_id;
END;
CREATE TRIGGER pull_requests_totals_update AFTER UPDATE OF state, author_id, merged_by_id ON pull_requests
    WHEN (OLD.state = 'merged' OR NEW.state = 'merged')
        AND (OLD.state IS NOT NEW.state OR OLD.author_id IS NOT NEW.author_id
             OR OLD.merged_by_id IS NOT NEW.merged_by_id)
BEGIN
    INSERT INTO contribution_changes SELECT OLD.author_id, 'merged_prs', -1 WHERE OLD.state = 'merged';
    INSERT INTO contribution_changes SELECT OLD.merged_by_id, 'merges', -1
        WHERE OLD.state = 'merged' AND (OLD.author_id IS NULL OR OLD.author_id != OLD.merged_by_id);
    INSERT INTO contribution_changes SELECT NEW.author_id, 'merged_prs', 1 WHERE NEW.state = 'merged';
    INSERT INTO contribution_changes SELECT NEW.merged_by_id, 'merges', 1
        WHERE NEW.state = 'merged' AND (NEW.author_id IS NULL OR NEW.author_id != NEW.merged_by_id);
END;
CREATE TRIGGER pull_requests_totals_delete AFTER DELETE ON pull_requests WHEN OLD.state = 'merged'
BEGIN
    INSERT INTO contribution_changes VALUES (OLD.author_id, 'merged_prs', -1);
    INSERT INTO contribution_changes SELECT OLD.merged_by_id, 'merges', -1
        WHERE OLD.author_id IS NULL OR OLD.author_id != OLD.merged_by_id;
END;

-- Reviews: every review that was not dismissed counts for its reviewer.
CREATE TRIGGER reviews_totals_insert AFTER INSERT ON reviews WHEN NEW.state != 'DISMISSED'
BEGIN
    INSERT INTO contribution_changes VALUES (NEW.reviewer_id, 'reviews', 1);
END;
CREATE TRIGGER reviews_totals_update AFTER UPDATE OF state, reviewer_id ON reviews
    WHEN (OLD.state != 'DISMISSED') != (NEW.state != 'DISMISSED') OR OLD.reviewer_id IS NOT NEW.reviewer_id
BEGIN
    INSERT INTO contribution_changes SELECT OLD.reviewer_id, 'reviews', -1 WHERE OLD.state != 'DISMISSED';
    INSERT INTO contribution_changes SELECT NEW.reviewer_id, 'reviews', 1 WHERE NEW.state != 'DISMISSED';
END;
CREATE TRIGGER reviews_totals_delete AFTER DELETE ON reviews WHEN OLD.state != 'DISMISSED'
BEGIN
    INSERT INTO contribution_changes VALUES (OLD.reviewer_id, 'reviews', -1);
END;

-- Issues: a closed issue counts for whoever closed it.
CREATE TRIGGER issues_totals_insert AFTER INSERT ON issues WHEN NEW.state = 'closed'
BEGIN
    INSERT INTO contribution_changes VALUES (NEW.closed_by_id, 'issues_closed', 1);
END;
CREATE TRIGGER issues_totals_update AFTER UPDATE OF state, closed_by_id ON issues
    WHEN (OLD.state = 'closed' OR NEW.state = 'closed')
        AND (OLD.state IS NOT NEW.state OR OLD.closed_by_id IS NOT NEW.closed_by_id)
BEGIN
    INSERT INTO contribution_changes SELECT OLD.closed_by_id, 'issues_closed', -1 WHERE OLD.state = 'closed';
    INSERT INTO contribution_changes SELECT NEW.closed_by_id, 'issues_closed', 1 WHERE NEW.state = 'closed';
END;
CREATE TRIGGER issues_totals_delete AFTER DELETE ON issues WHEN OLD.state = 'closed'
BEGIN
    INSERT INTO contribution_changes VALUES (OLD.closed_by_id, 'issues_closed', -1);
END;

-- 0004's merger index is never chosen (partial, without the state column): 0007's pull_requests_merger serves.
DROP INDEX IF EXISTS pull_requests_merger_author;
