-- Recognition: remember which post announced each celebration and what it showed, so that the post can be
-- re-rendered (edited) when the person links or unlinks their Discord account, and combined posts stay whole.
ALTER TABLE celebrations ADD COLUMN post_key TEXT;
ALTER TABLE celebrations ADD COLUMN detail TEXT NOT NULL DEFAULT '{}';
CREATE INDEX celebrations_person ON celebrations(guild_id, github_id);
CREATE INDEX celebrations_post ON celebrations(post_key) WHERE post_key IS NOT NULL;
