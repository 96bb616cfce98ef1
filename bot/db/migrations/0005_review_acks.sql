-- Review nudges: "On it" acknowledgements, per reviewer and pull request. An acknowledgement covers the
-- request as it stood (requested_at): a re-request is news again. Times are ISO-8601 aware UTC strings.
CREATE TABLE review_acks (
    guild_id     INTEGER NOT NULL,
    reviewer     TEXT NOT NULL,
    repo         TEXT NOT NULL,
    number       INTEGER NOT NULL,
    requested_at TEXT NOT NULL,
    until        TEXT NOT NULL,
    by_id        INTEGER NOT NULL,
    at           TEXT NOT NULL,
    PRIMARY KEY (guild_id, reviewer, repo, number)
);
