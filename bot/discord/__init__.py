"""Discord plumbing shared by the cogs: the bot, the command tree and its error handler, rendering, the sink."""
