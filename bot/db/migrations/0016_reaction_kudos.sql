-- Thanks given in chat: kudos for a message (context menu or reaction) remember the message, a reaction gives
-- kudos once per giver and message and may be withdrawn, and the server's preferred locale is kept for posts.
ALTER TABLE peer_kudos ADD COLUMN channel_id INTEGER;
ALTER TABLE peer_kudos ADD COLUMN message_id INTEGER;

CREATE TABLE reaction_kudos (
    guild_id     INTEGER NOT NULL,
    giver_id     INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,
    channel_id   INTEGER NOT NULL,
    receiver_id  INTEGER NOT NULL,
    kudos_id     INTEGER,           -- the peer_kudos row while the kudos stands; NULL once withdrawn
    at           TEXT NOT NULL,
    withdrawn_at TEXT,
    PRIMARY KEY (guild_id, giver_id, message_id)
);
CREATE INDEX reaction_kudos_message ON reaction_kudos(guild_id, message_id);

CREATE TABLE guild_locales (
    guild_id         INTEGER PRIMARY KEY,
    preferred_locale TEXT NOT NULL,
    seen_at          TEXT NOT NULL
);
