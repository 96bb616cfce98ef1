-- Invitations: one comment per GitHub account ever, on its first pull request, inviting it to the Discord.
-- A row is written in the transaction that handles the event which earns it, and a worker posts it; the row
-- says how far it got. `sending_at` marks a comment that may have reached GitHub: before posting again the
-- worker looks for its marker among the pull request's comments. `celebrated_at` asks for the edit that adds
-- "celebrated in Discord"; `edited_at` says it was made.
CREATE TABLE invitations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id      INTEGER NOT NULL,
    github_id     INTEGER NOT NULL,
    login         TEXT NOT NULL,
    repo          TEXT NOT NULL,
    number        INTEGER NOT NULL,
    title         TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
    created_at    TEXT NOT NULL,
    not_before    TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    sending_at    TEXT,
    sent_at       TEXT,
    comment_id    INTEGER,
    comment_url   TEXT,
    celebrated_at TEXT,
    edited_at     TEXT,
    UNIQUE (guild_id, github_id)
);
CREATE INDEX invitations_due ON invitations(not_before) WHERE state = 'pending';
CREATE INDEX invitations_edits ON invitations(id) WHERE state = 'sent' AND celebrated_at IS NOT NULL
    AND edited_at IS NULL;
CREATE INDEX invitations_sent ON invitations(sent_at) WHERE sent_at IS NOT NULL;
