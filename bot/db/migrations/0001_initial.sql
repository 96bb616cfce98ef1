-- Vestry's first schema. Times are ISO-8601 aware UTC strings ("2026-01-02T03:04:05.000000+00:00").

CREATE TABLE state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The ledger: what GitHub told us. A GitHub person is a numeric id; the login is for display.
CREATE TABLE github_users (
    id         INTEGER PRIMARY KEY,
    login      TEXT NOT NULL,
    is_bot     INTEGER NOT NULL DEFAULT 0,
    ignored    INTEGER NOT NULL DEFAULT 0,
    avatar_url TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX github_users_login ON github_users(login COLLATE NOCASE);

CREATE TABLE webhook_deliveries (
    delivery_id  TEXT PRIMARY KEY,
    event        TEXT NOT NULL,
    action       TEXT,
    received_at  TEXT NOT NULL,
    processed_at TEXT,
    error        TEXT,
    body         BLOB
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(processed_at) WHERE processed_at IS NULL;
CREATE INDEX webhook_deliveries_received ON webhook_deliveries(received_at);

CREATE TABLE pull_requests (
    repo         TEXT NOT NULL,
    number       INTEGER NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    url          TEXT NOT NULL DEFAULT '',
    author_id    INTEGER REFERENCES github_users(id),
    state        TEXT NOT NULL CHECK (state IN ('open', 'closed', 'merged')),
    draft        INTEGER NOT NULL DEFAULT 0,
    labels       TEXT NOT NULL DEFAULT '[]',
    created_at   TEXT,
    updated_at   TEXT,
    merged_at    TEXT,
    merged_by_id INTEGER REFERENCES github_users(id),
    closed_at    TEXT,
    historical   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (repo, number)
);
CREATE INDEX pull_requests_author_merged ON pull_requests(author_id, merged_at) WHERE state = 'merged';
CREATE INDEX pull_requests_merger ON pull_requests(merged_by_id, merged_at) WHERE state = 'merged';
CREATE INDEX pull_requests_merged_at ON pull_requests(merged_at) WHERE state = 'merged';
CREATE INDEX pull_requests_open ON pull_requests(state) WHERE state = 'open';

CREATE TABLE reviews (
    id           INTEGER PRIMARY KEY,
    repo         TEXT NOT NULL,
    number       INTEGER NOT NULL,
    reviewer_id  INTEGER REFERENCES github_users(id),
    state        TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    historical   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX reviews_pr ON reviews(repo, number);
CREATE INDEX reviews_reviewer ON reviews(reviewer_id, submitted_at);

CREATE TABLE review_requests (
    repo          TEXT NOT NULL,
    number        INTEGER NOT NULL,
    reviewer_kind TEXT NOT NULL CHECK (reviewer_kind IN ('user', 'team')),
    reviewer      TEXT NOT NULL,
    requested_at  TEXT NOT NULL,
    removed_at    TEXT,
    PRIMARY KEY (repo, number, reviewer_kind, reviewer)
);

CREATE TABLE issues (
    repo         TEXT NOT NULL,
    number       INTEGER NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    url          TEXT NOT NULL DEFAULT '',
    author_id    INTEGER REFERENCES github_users(id),
    state        TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    labels       TEXT NOT NULL DEFAULT '[]',
    created_at   TEXT,
    closed_at    TEXT,
    closed_by_id INTEGER REFERENCES github_users(id),
    state_reason TEXT,
    historical   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (repo, number)
);
CREATE INDEX issues_closer ON issues(closed_by_id, closed_at) WHERE state = 'closed';

CREATE TABLE stars (
    repo       TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES github_users(id),
    starred_at TEXT NOT NULL,
    historical INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (repo, user_id)
);
CREATE INDEX stars_time ON stars(starred_at);

-- Domain events, written in the same transaction as the ledger change; consumers keep a cursor.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    historical INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE event_cursors (
    consumer TEXT PRIMARY KEY,
    seq      INTEGER NOT NULL
);

-- Discord side effects, each once: the dispatcher posts them in order and records the result.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    not_before TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    done_at    TEXT,
    failed     INTEGER NOT NULL DEFAULT 0,
    result     TEXT
);
CREATE INDEX outbox_pending ON outbox(not_before) WHERE done_at IS NULL;

-- People: Discord member ↔ GitHub account, one to one.
CREATE TABLE links (
    guild_id   INTEGER NOT NULL,
    discord_id INTEGER NOT NULL,
    github_id  INTEGER NOT NULL,
    login      TEXT NOT NULL,
    method     TEXT NOT NULL,
    linked_at  TEXT NOT NULL,
    PRIMARY KEY (guild_id, discord_id),
    UNIQUE (guild_id, github_id)
);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id   INTEGER NOT NULL,
    actor_id   INTEGER NOT NULL,
    action     TEXT NOT NULL,
    target_id  INTEGER,
    github_id  INTEGER,
    detail     TEXT NOT NULL DEFAULT '',
    at         TEXT NOT NULL
);
CREATE INDEX audit_log_guild ON audit_log(guild_id, at);

CREATE TABLE link_attempts (
    guild_id   INTEGER NOT NULL,
    discord_id INTEGER NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX link_attempts_member ON link_attempts(guild_id, discord_id, at);

CREATE TABLE link_proofs (
    guild_id   INTEGER NOT NULL,
    discord_id INTEGER NOT NULL,
    login      TEXT NOT NULL,
    phrase     TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (guild_id, discord_id)
);

-- Recognition.
CREATE TABLE celebrations (
    guild_id  INTEGER NOT NULL,
    key       TEXT NOT NULL,
    github_id INTEGER,
    at        TEXT NOT NULL,
    PRIMARY KEY (guild_id, key)
);

CREATE TABLE peer_kudos (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id    INTEGER NOT NULL,
    giver_id    INTEGER NOT NULL,
    receiver_id INTEGER NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL
);
CREATE INDEX peer_kudos_receiver ON peer_kudos(guild_id, receiver_id, at);
CREATE INDEX peer_kudos_giver ON peer_kudos(guild_id, giver_id, at);

CREATE TABLE recognitions (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id  INTEGER NOT NULL,
    member_id INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    link      TEXT NOT NULL,
    by_id     INTEGER NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX recognitions_member ON recognitions(guild_id, member_id, at);

-- The ladder.
CREATE TABLE tier_grants (
    guild_id   INTEGER NOT NULL,
    discord_id INTEGER NOT NULL,
    tier       TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (guild_id, discord_id, tier)
);

CREATE TABLE promotion_requests (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id   INTEGER NOT NULL,
    discord_id INTEGER NOT NULL,
    tier       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'declined')),
    created_at TEXT NOT NULL,
    decided_by INTEGER,
    decided_at TEXT,
    UNIQUE (guild_id, discord_id, tier)
);

-- Reviews.
CREATE TABLE reviewer_prefs (
    guild_id   INTEGER NOT NULL,
    discord_id INTEGER NOT NULL,
    away_until TEXT,
    dm         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, discord_id)
);

CREATE TABLE snoozes (
    guild_id   INTEGER NOT NULL,
    reviewer   TEXT NOT NULL,
    until      TEXT NOT NULL,
    PRIMARY KEY (guild_id, reviewer)
);

-- Scheduled slots already handled (nudges, digests): never the same slot twice.
CREATE TABLE job_slots (
    job        TEXT NOT NULL,
    slot       TEXT NOT NULL,
    done_at    TEXT NOT NULL,
    PRIMARY KEY (job, slot)
);

CREATE TABLE job_runs (
    job         TEXT PRIMARY KEY,
    last_start  TEXT,
    last_finish TEXT,
    last_ok     INTEGER,
    last_error  TEXT,
    runs        INTEGER NOT NULL DEFAULT 0,
    failures    INTEGER NOT NULL DEFAULT 0
);
