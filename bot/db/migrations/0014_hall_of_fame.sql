-- The public hall of fame: members' own choices about it, and the page's rows, rebuilt from the ledger.

-- What a member chose with /profile public:true and /forget; the Discord name and avatar are copied only
-- when they opt in, and dropped again by /forget.
CREATE TABLE member_profiles (
    guild_id   INTEGER NOT NULL,
    discord_id INTEGER NOT NULL,
    public     INTEGER NOT NULL DEFAULT 0,
    forgotten  INTEGER NOT NULL DEFAULT 0,
    name       TEXT,
    avatar_url TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (guild_id, discord_id)
) WITHOUT ROWID;

-- One row per contributor and scope ('' for every followed repository, else one repository's name),
-- rebuilt whenever the ledger changed; the pages read only this table (one indexed query each).
CREATE TABLE hall_of_fame (
    scope         TEXT NOT NULL,
    github_id     INTEGER NOT NULL,
    login         TEXT NOT NULL,
    sort_name     TEXT NOT NULL,
    avatar_url    TEXT,
    discord_id    INTEGER,
    tier          TEXT,
    tier_rank     INTEGER NOT NULL DEFAULT -1,
    first_at      TEXT NOT NULL,
    first_pr_at   TEXT,
    first_repo    TEXT,
    first_number  INTEGER,
    first_title   TEXT,
    first_url     TEXT,
    merged_prs    INTEGER NOT NULL DEFAULT 0,
    reviews       INTEGER NOT NULL DEFAULT 0,
    issues_closed INTEGER NOT NULL DEFAULT 0,
    merges        INTEGER NOT NULL DEFAULT 0,
    total         INTEGER NOT NULL DEFAULT 0,
    kudos         INTEGER NOT NULL DEFAULT 0,
    kinds         TEXT NOT NULL DEFAULT '{}',
    kind_keys     TEXT NOT NULL DEFAULT ' ',
    PRIMARY KEY (scope, github_id)
) WITHOUT ROWID;
-- Each order a page can ask for has its index; the filters' columns ride along so a filtered page is read from
-- the index alone (the rows it skips are never looked up).
CREATE INDEX hall_of_fame_first ON hall_of_fame(scope, first_at, github_id, tier, kind_keys);
CREATE INDEX hall_of_fame_total ON hall_of_fame(scope, total DESC, sort_name, github_id, tier, kind_keys);
CREATE INDEX hall_of_fame_name ON hall_of_fame(scope, sort_name, github_id, tier, kind_keys);
CREATE INDEX hall_of_fame_login ON hall_of_fame(sort_name, scope);
CREATE INDEX hall_of_fame_newcomers ON hall_of_fame(scope, first_pr_at) WHERE first_pr_at IS NOT NULL;
