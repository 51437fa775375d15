// Environment variable names that the systems Sluice replaces used, honoured as aliases of Sluice's own so that
// their deployment files keep working: the jobs board's team set KAFKA_BOOTSTRAP_SERVERS and JWT_SECRET_KEY. A
// variable of Sluice's own, when set, wins over its alias.

export const ENV_ALIASES: Readonly<Record<string, string>> = {
  KAFKA_BOOTSTRAP_SERVERS: "KAFKA_BROKERS",
  JWT_SECRET_KEY: "SLUICE_JWT_SECRET",
};

export function withEnvAliases(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const resolved: Record<string, string | undefined> = { ...env };
  for (const [alias, name] of Object.entries(ENV_ALIASES)) {
    const value = env[alias];
    if (value !== undefined && value !== "" && (env[name] === undefined || env[name] === "")) resolved[name] = value;
  }
  return resolved;
}
