-- One rule of what counts (bot/counting.py says it in words and in Python; these views say it in SQL, and the
-- tests check both agree). Organisations and GitHub's ghost account no longer count; a review of one's own pull
-- request and an issue closed other than as completed no longer count either. The contribution totals of 0008
-- follow the same rule: their triggers are replaced and the totals rebuilt from the ledger.

ALTER TABLE github_users ADD COLUMN is_org INTEGER NOT NULL DEFAULT 0;

CREATE VIEW counted_accounts(id) AS SELECT id FROM github_users WHERE is_bot = 0 AND ignored = 0 AND is_org = 0 AND id != 10137 AND lower(login) != 'ghost' AND login NOT LIKE '%[bot]';
CREATE VIEW counted_reviews AS SELECT r.* FROM reviews r WHERE r.state != 'DISMISSED' AND NOT EXISTS (SELECT 1 FROM pull_requests p WHERE p.repo = r.repo AND p.number = r.number AND p.author_id = r.reviewer_id);
CREATE VIEW counted_issue_closes AS SELECT i.* FROM issues i WHERE i.state = 'closed' AND COALESCE(i.state_reason, 'completed') = 'completed';
CREATE VIEW counted_merged_prs AS SELECT p.* FROM pull_requests p WHERE p.state = 'merged';
CREATE VIEW counted_merges AS SELECT p.* FROM pull_requests p WHERE p.state = 'merged' AND (p.author_id IS NULL OR p.author_id != p.merged_by_id);

-- Whether an account is listed on the boards: the views' rule, in one place.
DROP TRIGGER contribution_changes_apply;
CREATE TRIGGER contribution_changes_apply INSTEAD OF INSERT ON contribution_changes WHEN NEW.github_id IS NOT NULL
BEGIN
    INSERT INTO contribution_totals(github_id, category, n, listed, sort_name)
        SELECT NEW.github_id, NEW.category, NEW.delta,
               EXISTS (SELECT 1 FROM counted_accounts c WHERE c.id = NEW.github_id),
               COALESCE((SELECT lower(login) FROM github_users WHERE id = NEW.github_id), '')
        WHERE 1
        ON CONFLICT(github_id, category) DO UPDATE SET n = n + excluded.n;
END;
DROP TRIGGER github_users_totals_insert;
CREATE TRIGGER github_users_totals_insert AFTER INSERT ON github_users
BEGIN
    UPDATE contribution_totals
    SET listed = EXISTS (SELECT 1 FROM counted_accounts c WHERE c.id = NEW.id), sort_name = lower(NEW.login)
    WHERE github_id = NEW.id;
END;
DROP TRIGGER github_users_totals_update;
CREATE TRIGGER github_users_totals_update AFTER UPDATE OF login, is_bot, ignored, is_org ON github_users
    WHEN OLD.login IS NOT NEW.login OR OLD.is_bot IS NOT NEW.is_bot OR OLD.ignored IS NOT NEW.ignored
        OR OLD.is_org IS NOT NEW.is_org
BEGIN
    UPDATE contribution_totals
    SET listed = EXISTS (SELECT 1 FROM counted_accounts c WHERE c.id = NEW.id), sort_name = lower(NEW.login)
    WHERE github_id = NEW.id;
END;

-- Reviews: not dismissed, and not of the reviewer's own pull request.
DROP TRIGGER reviews_totals_insert;
CREATE TRIGGER reviews_totals_insert AFTER INSERT ON reviews WHEN NEW.state != 'DISMISSED'
BEGIN
    INSERT INTO contribution_changes SELECT NEW.reviewer_id, 'reviews', 1
        WHERE NOT EXISTS (SELECT 1 FROM pull_requests p WHERE p.repo = NEW.repo AND p.number = NEW.number
                          AND p.author_id = NEW.reviewer_id);
END;
DROP TRIGGER reviews_totals_update;
CREATE TRIGGER reviews_totals_update AFTER UPDATE OF state, reviewer_id, repo, number ON reviews
BEGIN
    INSERT INTO contribution_changes SELECT OLD.reviewer_id, 'reviews', -1
        WHERE OLD.state != 'DISMISSED' AND NOT EXISTS (SELECT 1 FROM pull_requests p WHERE p.repo = OLD.repo
                                                      AND p.number = OLD.number AND p.author_id = OLD.reviewer_id);
    INSERT INTO contribution_changes SELECT NEW.reviewer_id, 'reviews', 1
        WHERE NEW.state != 'DISMISSED' AND NOT EXISTS (SELECT 1 FROM pull_requests p WHERE p.repo = NEW.repo
                                                      AND p.number = NEW.number AND p.author_id = NEW.reviewer_id);
END;
DROP TRIGGER reviews_totals_delete;
CREATE TRIGGER reviews_totals_delete AFTER DELETE ON reviews WHEN OLD.state != 'DISMISSED'
BEGIN
    INSERT INTO contribution_changes SELECT OLD.reviewer_id, 'reviews', -1
        WHERE NOT EXISTS (SELECT 1 FROM pull_requests p WHERE p.repo = OLD.repo AND p.number = OLD.number
                          AND p.author_id = OLD.reviewer_id);
END;
-- A review stored before its pull request (or a pull request changing author) turns into a self-review or back.
CREATE TRIGGER pull_requests_self_reviews_insert AFTER INSERT ON pull_requests WHEN NEW.author_id IS NOT NULL
BEGIN
    INSERT INTO contribution_changes SELECT r.reviewer_id, 'reviews', -1 FROM reviews r
        WHERE r.repo = NEW.repo AND r.number = NEW.number AND r.reviewer_id = NEW.author_id AND r.state != 'DISMISSED';
END;
CREATE TRIGGER pull_requests_self_reviews_update AFTER UPDATE OF author_id ON pull_requests
    WHEN OLD.author_id IS NOT NEW.author_id
BEGIN
    INSERT INTO contribution_changes SELECT r.reviewer_id, 'reviews', 1 FROM reviews r
        WHERE r.repo = OLD.repo AND r.number = OLD.number AND r.reviewer_id = OLD.author_id AND r.state != 'DISMISSED';
    INSERT INTO contribution_changes SELECT r.reviewer_id, 'reviews', -1 FROM reviews r
        WHERE r.repo = NEW.repo AND r.number = NEW.number AND r.reviewer_id = NEW.author_id AND r.state != 'DISMISSED';
END;
CREATE TRIGGER pull_requests_self_reviews_delete AFTER DELETE ON pull_requests WHEN OLD.author_id IS NOT NULL
BEGIN
    INSERT INTO contribution_changes SELECT r.reviewer_id, 'reviews', 1 FROM reviews r
        WHERE r.repo = OLD.repo AND r.number = OLD.number AND r.reviewer_id = OLD.author_id AND r.state != 'DISMISSED';
END;

-- Issues: a close counts only when the issue was completed.
DROP TRIGGER issues_totals_insert;
CREATE TRIGGER issues_totals_insert AFTER INSERT ON issues
    WHEN NEW.state = 'closed' AND COALESCE(NEW.state_reason, 'completed') = 'completed'
BEGIN
    INSERT INTO contribution_changes VALUES (NEW.closed_by_id, 'issues_closed', 1);
END;
DROP TRIGGER issues_totals_update;
CREATE TRIGGER issues_totals_update AFTER UPDATE OF state, closed_by_id, state_reason ON issues
BEGIN
    INSERT INTO contribution_changes SELECT OLD.closed_by_id, 'issues_closed', -1
        WHERE OLD.state = 'closed' AND COALESCE(OLD.state_reason, 'completed') = 'completed';
    INSERT INTO contribution_changes SELECT NEW.closed_by_id, 'issues_closed', 1
        WHERE NEW.state = 'closed' AND COALESCE(NEW.state_reason, 'completed') = 'completed';
END;
DROP TRIGGER issues_totals_delete;
CREATE TRIGGER issues_totals_delete AFTER DELETE ON issues
    WHEN OLD.state = 'closed' AND COALESCE(OLD.state_reason, 'completed') = 'completed'
BEGIN
    INSERT INTO contribution_changes VALUES (OLD.closed_by_id, 'issues_closed', -1);
END;

-- Rebuild the totals under the rule (the counts follow by 0008's triggers on contribution_totals).
DELETE FROM contribution_counts;
DELETE FROM contribution_totals;
INSERT INTO contribution_totals(github_id, category, n)
    SELECT author_id, 'merged_prs', COUNT(*) FROM counted_merged_prs WHERE author_id IS NOT NULL GROUP BY author_id;
INSERT INTO contribution_totals(github_id, category, n)
    SELECT merged_by_id, 'merges', COUNT(*) FROM counted_merges WHERE merged_by_id IS NOT NULL GROUP BY merged_by_id;
INSERT INTO contribution_totals(github_id, category, n)
    SELECT reviewer_id, 'reviews', COUNT(*) FROM counted_reviews WHERE reviewer_id IS NOT NULL GROUP BY reviewer_id;
INSERT INTO contribution_totals(github_id, category, n)
    SELECT closed_by_id, 'issues_closed', COUNT(*) FROM counted_issue_closes WHERE closed_by_id IS NOT NULL
    GROUP BY closed_by_id;
UPDATE contribution_totals SET
    listed = EXISTS (SELECT 1 FROM counted_accounts c WHERE c.id = contribution_totals.github_id),
    sort_name = COALESCE((SELECT lower(login) FROM github_users WHERE id = contribution_totals.github_id), '');

-- Renames: a link keeps the GitHub id it was made with; its login follows the account's newest login, so every
-- place that shows a link (/whois, /rank, boards) shows the name GitHub shows now.
CREATE TRIGGER links_follow_renames AFTER UPDATE OF login ON github_users WHEN OLD.login IS NOT NEW.login
BEGIN
    UPDATE links SET login = NEW.login WHERE github_id = NEW.id AND login IS NOT NEW.login;
END;
CREATE TRIGGER links_follow_renames_insert AFTER INSERT ON github_users
BEGIN
    UPDATE links SET login = NEW.login WHERE github_id = NEW.id AND login IS NOT NEW.login;
END;
UPDATE links SET login = (SELECT u.login FROM github_users u WHERE u.id = links.github_id)
    WHERE EXISTS (SELECT 1 FROM github_users u WHERE u.id = links.github_id AND u.login IS NOT links.login);

-- Device-flow links in progress, so a restart can tell the member to run /link again. The device code itself is a
-- credential and is never stored: only who was waiting, and until when.
CREATE TABLE device_links_pending (
    guild_id   INTEGER NOT NULL,
    discord_id INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (guild_id, discord_id)
);
