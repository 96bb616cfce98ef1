-- Outbox lanes: each side effect belongs to a lane (a channel, a member's DMs, a member's roles); order holds
-- within a lane and lanes retry independently. Each post carries its own random nonce (unique across restores),
-- and sent_at marks a post that may have reached Discord, to be looked for before it is sent again.
ALTER TABLE outbox ADD COLUMN lane TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN nonce TEXT;
ALTER TABLE outbox ADD COLUMN sent_at TEXT;
UPDATE outbox SET nonce = lower(hex(randomblob(8))) WHERE kind IN ('message', 'dm');
UPDATE outbox SET lane = CASE kind
    WHEN 'message' THEN 'channel:' || json_extract(payload, '$.channel_id')
    WHEN 'dm' THEN 'dm:' || json_extract(payload, '$.user_id')
    WHEN 'role_add' THEN 'roles:' || json_extract(payload, '$.user_id')
    WHEN 'role_remove' THEN 'roles:' || json_extract(payload, '$.user_id')
    ELSE 'other'
END
WHERE kind <> 'message_edit';
UPDATE outbox SET lane = COALESCE(
    (SELECT target.lane FROM outbox AS target WHERE target.dedupe_key = json_extract(outbox.payload, '$.target_key')),
    'other'
)
WHERE kind = 'message_edit';
CREATE INDEX outbox_lane_pending ON outbox(lane, id) WHERE done_at IS NULL;
CREATE INDEX outbox_undone ON outbox(id) WHERE done_at IS NULL;
CREATE INDEX outbox_failed ON outbox(id) WHERE failed = 1;

-- Commands whose effect and post are recorded together, keyed by the interaction that asked for them.
ALTER TABLE peer_kudos ADD COLUMN interaction_id INTEGER;
CREATE UNIQUE INDEX peer_kudos_interaction ON peer_kudos(guild_id, interaction_id) WHERE interaction_id IS NOT NULL;
CREATE INDEX peer_kudos_pair ON peer_kudos(guild_id, giver_id, receiver_id, at);
ALTER TABLE recognitions ADD COLUMN interaction_id INTEGER;
CREATE UNIQUE INDEX recognitions_interaction ON recognitions(guild_id, interaction_id) WHERE interaction_id IS NOT NULL;
