// The deployment files, checked as a platform team would before applying them: generated files up to date, every
// manifest valid against its Kubernetes, Strimzi or cert-manager schema after `kubectl kustomize`, and the policies
// (probes, resources, non-root, pinned images, referenced Secrets, Services that select pods, a Deployment per
// role). No cluster is needed: kustomize runs offline and the schemas come from npm packages.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test, type TestContext } from "node:test";

import { parseAllDocuments } from "yaml";

import { UP_ROLES } from "../../src/cli/up/roles.js";
import { deploymentRoles, IMAGE } from "../../scripts/deploy-roles.js";
import { generatedFiles } from "../../scripts/gen-deploy.js";
import { hasCommand, requireTool } from "../helpers/environment.js";

// Only the fields the checks read, typed; the schemas check the rest.
interface Container {
  name: string;
  image: string;
  command?: string[];
  readinessProbe?: object;
  livenessProbe?: object;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
  envFrom?: Array<{ secretRef?: { name: string } }>;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string } } }>;
}
interface PodSpec {
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean };
  volumes?: Array<{ secret?: { secretName: string } }>;
}
interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  spec?: {
    template?: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    selector?: Record<string, string>;
    rules?: Array<{ http: { paths: Array<{ path: string; backend: { service: { name: string } } }> } }>;
    tls?: Array<{ secretName: string }>;
    secretName?: string;
    replicas?: number;
    kafka?: { listeners: Array<{ tls: boolean; authentication: { type: string } }> };
  };
}

function find(resources: readonly Resource[], kind: string): Resource {
  const found = resources.find((resource) => resource.kind === kind);
  assert.ok(found, `a ${kind}`);
  return found;
}

const ROOT = join(import.meta.dirname, "..", "..");

function kustomize(t: TestContext, dir: string): Resource[] | null {
  if (!requireTool(t, hasCommand("kubectl"), "kubectl (kubectl kustomize)")) return null;
  const built = spawnSync("kubectl", ["kustomize", join(ROOT, dir)], { encoding: "utf8" });
  assert.equal(built.status, 0, `kubectl kustomize ${dir} failed: ${built.stderr}`);
  return parseAllDocuments(built.stdout).map((document) => document.toJSON() as Resource);
}

/** The model class that validates a resource's apiVersion and kind, from the schema packages. */
async function modelOf(resource: Resource): Promise<(new (data: unknown) => { validate(): void }) | null> {
  const [group, version] = resource.apiVersion.includes("/")
    ? (resource.apiVersion.split("/") as [string, string])
    : ["", resource.apiVersion];
  const packageName = group.endsWith("strimzi.io")
    ? "@kubernetes-models/strimzi-kafka-operator"
    : group === "cert-manager.io"
      ? "@kubernetes-models/cert-manager"
      : "kubernetes-models";
  const path =
    group === "" ? `${packageName}/${version}/${resource.kind}` : `${packageName}/${group}/${version}/${resource.kind}`;
  try {
    const module = (await import(path)) as Record<string, new (data: unknown) => { validate(): void }>;
    return module[resource.kind] ?? null;
  } catch {
    return null;
  }
}

function podSpecOf(resource: Resource): PodSpec | null {
  if (resource.kind !== "Deployment" && resource.kind !== "StatefulSet") return null;
  return resource.spec?.template?.spec ?? null;
}

function podLabelsOf(resource: Resource): Record<string, string> {
  return resource.spec?.template?.metadata.labels ?? {};
}

function containersOf(resource: Resource): Container[] {
  return podSpecOf(resource)?.containers ?? [];
}

/** Secrets a pod reads, by name. */
function secretsReferencedBy(resource: Resource): string[] {
  const spec = podSpecOf(resource);
  if (spec === null) return [];
  const names: string[] = [];
  for (const container of spec.containers) {
    for (const source of container.envFrom ?? []) if (source.secretRef) names.push(source.secretRef.name);
    for (const variable of container.env ?? []) {
      if (variable.valueFrom?.secretKeyRef) names.push(variable.valueFrom.secretKeyRef.name);
    }
  }
  for (const volume of spec.volumes ?? []) if (volume.secret) names.push(volume.secret.secretName);
  return names;
}

async function checkValidAndPolicies(resources: Resource[], externalSecrets: readonly string[]): Promise<void> {
  for (const resource of resources) {
    const Model = await modelOf(resource);
    assert.ok(Model !== null, `no schema for ${resource.apiVersion} ${resource.kind}`);
    assert.doesNotThrow(
      () => new Model(resource).validate(),
      (error: Error) => assert.fail(`${resource.kind} ${resource.metadata.name}: ${error.message}`),
    );
  }

  const workloads = resources.filter((resource) => podSpecOf(resource) !== null);
  for (const workload of workloads) {
    const name = `${workload.kind} ${workload.metadata.name}`;
    const spec = podSpecOf(workload) as PodSpec;
    for (const container of containersOf(workload)) {
      assert.ok(container.readinessProbe, `${name}: a readiness probe`);
      assert.ok(container.livenessProbe, `${name}: a liveness probe`);
      assert.ok(container.resources?.requests?.cpu && container.resources?.requests?.memory, `${name}: requests`);
      assert.ok(container.resources?.limits?.memory, `${name}: a memory limit`);
      const runAsNonRoot = container.securityContext?.runAsNonRoot ?? spec.securityContext?.runAsNonRoot;
      assert.equal(runAsNonRoot, true, `${name}: runs as non-root`);
      assert.equal(container.securityContext?.allowPrivilegeEscalation, false, `${name}: no privilege escalation`);
      assert.deepEqual(container.securityContext?.capabilities?.drop, ["ALL"], `${name}: drops every capability`);
      assert.match(container.image, /^[a-z0-9./-]+:[0-9][0-9A-Za-z.-]*$/, `${name}: image ${container.image} pinned`);
    }
  }

  const secrets = resources.filter((resource) => resource.kind === "Secret").map((resource) => resource.metadata.name);
  const referenced = new Set(workloads.flatMap(secretsReferencedBy));
  for (const secret of secrets) assert.ok(referenced.has(secret), `Secret ${secret} is read by some pod`);
  for (const name of referenced) {
    assert.ok(secrets.includes(name) || externalSecrets.includes(name), `Secret ${name} is defined or documented`);
  }

  for (const service of resources.filter((resource) => resource.kind === "Service")) {
    const selector = service.spec?.selector ?? {};
    const selects = workloads.some((workload) =>
      Object.entries(selector).every(([key, value]) => podLabelsOf(workload)[key] === value),
    );
    assert.ok(selects, `Service ${service.metadata.name} selects a pod`);
  }

  const ingress = find(resources, "Ingress");
  for (const path of ingress.spec?.rules?.[0]?.http.paths ?? []) {
    const backend = path.backend.service.name;
    assert.ok(
      resources.some((resource) => resource.kind === "Service" && resource.metadata.name === backend),
      `ingress path ${path.path} goes to Service ${backend}, which exists`,
    );
  }
}

function named(resources: Resource[], kind: string): string[] {
  return resources.filter((resource) => resource.kind === kind).map((resource) => resource.metadata.name);
}

test("the generated deployment files are up to date with the apps' catalogue (npm run gen:deploy)", async () => {
  for (const [path, text] of Object.entries(await generatedFiles())) {
    assert.equal(readFileSync(join(ROOT, path), "utf8"), text, `${path} is stale: run npm run gen:deploy`);
  }
});

test("k8s/ for kind: valid manifests, a Deployment per role, and the policies", async (t) => {
  const resources = kustomize(t, "k8s");
  if (resources === null) return;
  await checkValidAndPolicies(resources, []);
  const deployments = named(resources, "Deployment");
  for (const role of UP_ROLES) {
    if (role === "broker") assert.ok(named(resources, "StatefulSet").includes("sluice-broker"));
    else assert.ok(deployments.includes(`sluice-${role}`), `role ${role} has a Deployment`);
  }
  for (const workload of resources.filter((resource) => resource.metadata.name.startsWith("sluice-"))) {
    for (const container of containersOf(workload)) assert.equal(container.image, IMAGE);
  }
  assert.ok(
    resources.every((resource) => resource.kind === "Namespace" || resource.metadata.namespace === "sluice"),
    "everything in the sluice namespace",
  );
  const config = find(resources, "ConfigMap");
  for (const value of Object.keys(config.data ?? {})) {
    assert.doesNotMatch(value, /SECRET|PASSWORD|DATABASE_URL/, `${value} belongs in a Secret, not the ConfigMap`);
  }
});

test("k8s-prod/: Strimzi, cert-manager, autoscaling, budgets and network policies for every role", async (t) => {
  const resources = kustomize(t, "k8s-prod");
  if (resources === null) return;
  const roles = await deploymentRoles();
  // Created outside the manifests: sluice-secrets by the operator (kustomization.yaml says how), each role's
  // password by Strimzi's user operator, the cluster CA by Strimzi.
  const external = ["sluice-secrets", `sluice-cluster-ca-cert`, ...roles.map((role) => `sluice-${role.name}`)];
  await checkValidAndPolicies(resources, external);
  assert.deepEqual(named(resources, "StatefulSet"), [], "no in-cluster PostgreSQL or Sluice broker in production");
  assert.deepEqual(named(resources, "Secret"), [], "no Secret is committed for production");
  for (const role of roles) {
    const name = `sluice-${role.name}`;
    for (const kind of ["Deployment", "KafkaUser", "PodDisruptionBudget"]) {
      assert.ok(named(resources, kind).includes(name), `role ${role.name} has a ${kind}`);
    }
    // A role whose state lives in its process (the console) runs one replica and is not autoscaled.
    const autoscaled = named(resources, "HorizontalPodAutoscaler").includes(name);
    assert.equal(autoscaled, role.replicasMax > 1, `role ${role.name} autoscaled only when it may scale`);
    const deployment = resources.find((resource) => resource.kind === "Deployment" && resource.metadata.name === name);
    const [container] = containersOf(deployment as Resource);
    const env = Object.fromEntries((container?.env ?? []).map((variable) => [variable.name, variable]));
    assert.equal(env.KAFKA_SASL_USERNAME?.value, name, `${name} signs in as its own KafkaUser`);
    assert.equal(container?.securityContext?.readOnlyRootFilesystem, true, `${name} has a read-only root`);
  }
  const kafka = find(resources, "Kafka");
  assert.deepEqual(
    kafka.spec?.kafka?.listeners.map((listener) => [listener.tls, listener.authentication.type]),
    [
      [true, "scram-sha-512"],
      [true, "tls"],
    ],
  );
  const pools = resources.filter((resource) => resource.kind === "KafkaNodePool");
  assert.equal(
    pools.reduce((sum, pool) => sum + (pool.spec?.replicas ?? 0), 0),
    3,
    "three KRaft nodes",
  );
  const ingress = find(resources, "Ingress");
  const certificate = find(resources, "Certificate");
  assert.equal(ingress.spec?.tls?.[0]?.secretName, certificate.spec?.secretName, "the Ingress serves the Certificate");
  const issuer = resources.find((resource) => resource.kind === "ClusterIssuer");
  assert.equal(issuer?.metadata.namespace, undefined, "the ClusterIssuer is cluster-scoped");
  assert.ok(named(resources, "NetworkPolicy").includes("sluice-default-deny"));
});

test("docker/compose.yaml is valid for both profiles, and every service's command is a real sluice command", async (t) => {
  if (!requireTool(t, hasCommand("docker-compose"), "docker-compose (docker-compose config)")) return;
  for (const profile of ["embedded", "kafka"]) {
    const checked = spawnSync(
      "docker-compose",
      ["--env-file", ".env.example", "--profile", profile, "-f", "compose.yaml", "config"],
      { cwd: join(ROOT, "docker"), encoding: "utf8" },
    );
    assert.equal(checked.status, 0, `docker-compose config --profile ${profile}: ${checked.stderr}`);
    const services = parseAllDocuments(checked.stdout)[0]?.toJSON().services as Record<string, Container>;
    const expected = profile === "kafka" ? "kafka" : "broker";
    assert.ok(services[expected], `profile ${profile} runs ${expected}`);
    for (const role of UP_ROLES.filter((name) => name !== "broker")) {
      assert.deepEqual(services[role]?.command, ["up", "--only", role], `profile ${profile}: service for ${role}`);
    }
  }

  const composeText = readFileSync(join(ROOT, "docker", "compose.yaml"), "utf8");
  const example = readFileSync(join(ROOT, "docker", ".env.example"), "utf8");
  for (const [, variable] of composeText.matchAll(/\$\{([A-Z_]+)/g)) {
    assert.match(example, new RegExp(`^${variable}=`, "m"), `docker/.env.example lists ${variable}`);
  }
  const compose = parseAllDocuments(composeText)[0]?.toJSON();
  const commands = Object.values(compose.services as Record<string, Container>)
    .filter((service) => String(service.image).includes("SLUICE_IMAGE"))
    .map((service) => service.command as string[]);
  const { parseArguments } = await import("../../src/cli/args.js");
  const { resolveUpConfig, upOptions } = await import("../../src/cli/up/config.js");
  for (const command of commands) {
    const [name, ...rest] = command;
    assert.equal(name, "up");
    // --help stops before checking the rest, so the flags are also resolved as `sluice up` would resolve them.
    // DATABASE_URL comes from the service's environment, as in compose.
    const parsed = parseArguments([...rest, "--database-url", "postgres://db/sluice"], {
      options: upOptions,
      positionals: [],
    });
    assert.ok(!parsed.help);
    assert.doesNotThrow(() => resolveUpConfig(parsed.options), `sluice ${command.join(" ")}`);
  }
  const helped = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "up", "--help"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(helped.status, 0, helped.stderr);
  assert.match(helped.stdout, /--broker-advertised-host/);
});

test("the cluster scripts check their tools first and say what is missing", (t) => {
  if (!requireTool(t, hasCommand("bash"), "bash")) return;
  for (const script of ["setup-cluster.sh", "update-code.sh", "shutdown-cluster.sh"]) {
    const syntax = spawnSync("bash", ["-n", join(ROOT, script)], { encoding: "utf8" });
    assert.equal(syntax.status, 0, `${script}: ${syntax.stderr}`);
    // A PATH with bash's own directory only, so that kind, kubectl and docker are missing whatever this machine has.
    const run = spawnSync("/bin/bash", [join(ROOT, script)], { encoding: "utf8", env: { PATH: "/nonexistent" } });
    assert.equal(run.status, 1, `${script} exits 1 without its tools`);
    assert.match(run.stderr, /missing: .*kind/, `${script} names what is missing`);
    assert.match(run.stderr, /kind\.sigs\.k8s\.io/, `${script} says where to get it`);
  }
  const common = readFileSync(join(ROOT, "scripts", "cluster-common.sh"), "utf8");
  assert.match(common, new RegExp(`^IMAGE=${IMAGE.replace(".", "\\.")}$`, "m"), "the scripts build the pinned image");
});
