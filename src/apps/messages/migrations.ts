// Where the message board's own migrations are: the store's runner applies them under the component name below,
// which keeps their numbering apart from Sluice's built-in migrations.

/** src/apps/messages/migrations/; the build must copy it next to the compiled module, like the store's. */
export const MESSAGES_MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);
export const MESSAGES_MIGRATIONS_COMPONENT = "messages";
