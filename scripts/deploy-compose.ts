// docker/compose.yaml as data: the broker (Apache Kafka or Sluice's, by profile), PostgreSQL, Redis and a service
// per role, each with a health check. Written by scripts/gen-deploy.ts.

import { HTTP_PORT, IMAGE, roleAddressVariables, type DeploymentRole } from "./deploy-roles.js";

const POSTGRES_IMAGE = "postgres:17.2";
const KAFKA_IMAGE = "apache/kafka:3.9.0";
const REDIS_IMAGE = "redis:7.4.1";

type Manifest = Record<string, unknown>;

export function composeFile(roles: readonly DeploymentRole[]): Manifest {
  const healthcheck = (path: string): Manifest => ({
    test: [
      "CMD",
      "node",
      "-e",
      `fetch('http://127.0.0.1:${HTTP_PORT}${path}').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
    ],
    interval: "10s",
    timeout: "3s",
    retries: 6,
    start_period: "30s",
  });
  const sluiceEnvironment = {
    KAFKA_BROKERS: "${KAFKA_BROKERS:-broker:9092}",
    DATABASE_URL: "${DATABASE_URL:-postgres://sluice:sluice@postgres:5432/sluice}",
    // The registry role's container; the orders roles refuse to start without a registry.
    SCHEMA_REGISTRY_URL: "${SCHEMA_REGISTRY_URL:-http://registry:8081}",
    REDIS_URL: "${REDIS_URL:-redis://redis:6379}",
    SLUICE_JWT_SECRET: "${SLUICE_JWT_SECRET:?set SLUICE_JWT_SECRET in docker/.env (see .env.example)}",
    SLUICE_AUTH_MODE: "${SLUICE_AUTH_MODE:-optional}",
    SLUICE_ADMIN_USERS: "${SLUICE_ADMIN_USERS:-}",
    SLUICE_LOG_LEVEL: "${SLUICE_LOG_LEVEL:-info}",
    SLUICE_SHUTDOWN_TIMEOUT_MS: "20000",
    ...roleAddressVariables(roles, (role) => role, HTTP_PORT),
  };
  const services: Record<string, Manifest> = {
    kafka: {
      image: KAFKA_IMAGE,
      profiles: ["kafka"],
      hostname: "kafka",
      environment: {
        KAFKA_NODE_ID: "1",
        KAFKA_PROCESS_ROLES: "broker,controller",
        KAFKA_CONTROLLER_QUORUM_VOTERS: "1@kafka:29093",
        KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
        // One listener for the compose network (kafka:29092) and one for the host (localhost:9092), as the
        // systems Sluice replaces configure theirs.
        KAFKA_LISTENERS: "INTERNAL://:29092,CONTROLLER://:29093,EXTERNAL://:9092",
        KAFKA_ADVERTISED_LISTENERS: "INTERNAL://kafka:29092,EXTERNAL://localhost:${KAFKA_HOST_PORT:-9092}",
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,EXTERNAL:PLAINTEXT",
        KAFKA_INTER_BROKER_LISTENER_NAME: "INTERNAL",
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
      },
      ports: ["${KAFKA_HOST_PORT:-9092}:9092"],
      volumes: ["kafka-data:/var/lib/kafka/data"],
      healthcheck: {
        test: ["CMD", "/opt/kafka/bin/kafka-broker-api-versions.sh", "--bootstrap-server", "kafka:29092"],
        interval: "10s",
        timeout: "10s",
        retries: 12,
        start_period: "20s",
      },
    },
    broker: {
      image: "${SLUICE_IMAGE:-" + IMAGE + "}",
      build: { context: "..", dockerfile: "Dockerfile" },
      profiles: ["embedded"],
      command: ["up", "--only", "broker", "--broker-advertised-host", "broker"],
      environment: { SLUICE_LOG_LEVEL: "${SLUICE_LOG_LEVEL:-info}", SLUICE_SHUTDOWN_TIMEOUT_MS: "20000" },
      volumes: ["broker-data:/data"],
      healthcheck: healthcheck("/readyz"),
      stop_grace_period: "30s",
    },
    postgres: {
      image: POSTGRES_IMAGE,
      environment: {
        POSTGRES_USER: "sluice",
        POSTGRES_PASSWORD: "${POSTGRES_PASSWORD:-sluice}",
        POSTGRES_DB: "sluice",
      },
      ports: ["${POSTGRES_HOST_PORT:-5432}:5432"],
      volumes: ["postgres-data:/var/lib/postgresql/data"],
      healthcheck: {
        test: ["CMD", "pg_isready", "-U", "sluice", "-d", "sluice"],
        interval: "5s",
        timeout: "3s",
        retries: 20,
      },
    },
    redis: {
      image: REDIS_IMAGE,
      command: ["redis-server", "--appendonly", "yes"],
      volumes: ["redis-data:/data"],
      healthcheck: { test: ["CMD", "redis-cli", "ping"], interval: "5s", timeout: "3s", retries: 20 },
    },
  };
  for (const role of roles) {
    services[role.name] = {
      image: "${SLUICE_IMAGE:-" + IMAGE + "}",
      command: ["up", "--only", role.name],
      environment: sluiceEnvironment,
      ...(role.composeHostPort === null ? {} : { ports: [`${role.composeHostPort}:${HTTP_PORT}`] }),
      // The broker (Kafka or Sluice's) belongs to a profile, so the roles cannot name it here; they wait for it
      // themselves, and /readyz says so until it answers.
      depends_on: {
        postgres: { condition: "service_healthy" },
        ...(role.usesRedis ? { redis: { condition: "service_healthy" } } : {}),
      },
      healthcheck: healthcheck("/readyz"),
      stop_grace_period: "30s",
      restart: "unless-stopped",
    };
  }
  return {
    services,
    volumes: { "kafka-data": {}, "broker-data": {}, "postgres-data": {}, "redis-data": {} },
  };
}
