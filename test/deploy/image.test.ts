// The container image without Docker: the Dockerfile's rules checked as written, and its entrypoint run on this
// machine from a production install made the way the image makes it (the packed tarball, `npm ci --omit=dev`), with
// the image's environment. It must answer /readyz and stop with status 0 on SIGTERM within the pods' grace period.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { temporaryDir } from "../helpers/environment.js";

const ROOT = join(import.meta.dirname, "..", "..");
/** terminationGracePeriodSeconds of the pods (k8s/app/roles.yaml). */
const GRACE_PERIOD_MS = 30_000;

interface Dockerfile {
  stages: string[];
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  user: string | null;
  healthcheck: string | null;
}

/** Reads the instructions the test relies on; continuation lines are joined first. */
function readDockerfile(): Dockerfile {
  const text = readFileSync(join(ROOT, "Dockerfile"), "utf8").replace(/\\\n\s*/g, " ");
  const lines = text.split("\n").filter((line) => !line.startsWith("#") && line.trim() !== "");
  const parsed: Dockerfile = { stages: [], env: {}, entrypoint: [], cmd: [], user: null, healthcheck: null };
  const args: Record<string, string> = {};
  for (const line of lines) {
    const [instruction = "", ...rest] = line.trim().split(/\s+/);
    const value = rest.join(" ");
    switch (instruction) {
      case "ARG": {
        const [name, defaultValue] = value.split("=");
        if (name !== undefined && defaultValue !== undefined) args[name] = defaultValue;
        break;
      }
      case "FROM":
        parsed.stages.push(value.replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? ""));
        break;
      case "ENV":
        for (const match of value.matchAll(/(\w+)=(\S+)/g)) parsed.env[match[1] as string] = match[2] as string;
        break;
      case "ENTRYPOINT":
        parsed.entrypoint = JSON.parse(value) as string[];
        break;
      case "CMD":
        parsed.cmd = JSON.parse(value) as string[];
        break;
      case "USER":
        parsed.user = value;
        break;
      case "HEALTHCHECK":
        parsed.healthcheck = value;
        break;
    }
  }
  return parsed;
}

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  assert.equal(result.status, 0, `${command} ${args.join(" ")} failed:\n${result.stderr}`);
  return result.stdout;
}

test("the Dockerfile: pinned base, non-root, health check, node as the entrypoint, and a .dockerignore", () => {
  const dockerfile = readDockerfile();
  assert.ok(dockerfile.stages.length >= 2, "multi-stage: a build stage and a runtime stage");
  for (const stage of dockerfile.stages) assert.match(stage, /^node:\d+\.\d+\.\d+-slim( AS \w+)?$/, `${stage} pinned`);
  assert.equal(dockerfile.user, "node", "runs as the image's non-root user");
  assert.match(dockerfile.healthcheck ?? "", /\/healthz/);
  assert.deepEqual(dockerfile.entrypoint, ["node", "dist/src/cli/main.js"], "no shell between Docker and Node");
  assert.deepEqual(dockerfile.cmd, ["up"]);
  const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n");
  for (const entry of ["node_modules", ".sluice", ".git", ".env"]) assert.ok(ignored.includes(entry), entry);
});

test(
  "the image's entrypoint, from a production install, answers /readyz and stops with 0 on SIGTERM",
  { timeout: 600_000 },
  async (t) => {
    const dockerfile = readDockerfile();
    const work = temporaryDir(t, "sluice-image-");
    // As the build stage does: build, pack (only the files package.json publishes), unpack, install without dev
    // dependencies from the lock file.
    const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], ROOT)) as Array<{
      filename: string;
    }>;
    const tarball = join(work, (packed[0] as { filename: string }).filename);
    const app = join(work, "app");
    run("mkdir", [app], work);
    run("tar", ["-xzf", tarball, "-C", app, "--strip-components=1"], work);
    copyFileSync(join(ROOT, "package-lock.json"), join(app, "package-lock.json"));
    run("npm", ["ci", "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"], app);
    assert.equal(
      spawnSync("node", ["-e", "require.resolve('typescript')"], { cwd: app }).status,
      1,
      "no dev dependency in the production install",
    );

    const [node, ...entrypointArgs] = dockerfile.entrypoint;
    const env = {
      ...dockerfile.env,
      PATH: process.env.PATH,
      SLUICE_HOST: "127.0.0.1",
      SLUICE_BROKER_HOST: "127.0.0.1",
      SLUICE_PORT: "0",
      SLUICE_BROKER_PORT: "0",
      SLUICE_DATA_DIR: join(work, "data"),
      SLUICE_LOG_LEVEL: "warn",
    };
    const child = spawn(node as string, [...entrypointArgs, ...dockerfile.cmd], { cwd: app, env });
    t.after(() => child.kill("SIGKILL"));
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

    const deadline = Date.now() + 120_000;
    let health: string | undefined;
    while (health === undefined && Date.now() < deadline && child.exitCode === null) {
      health = /Health\s+(http:\/\/\S+)\/healthz/.exec(stdout)?.[1];
      if (health === undefined) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(health, `sluice up printed its health URL; stdout:\n${stdout}\nstderr:\n${stderr}`);
    const ready = await fetch(`${health}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    const page = await fetch(`${health}/`);
    assert.equal(page.status, 200, "the web page is in the published files");

    const stoppedAt = Date.now();
    child.kill("SIGTERM");
    const code = await exited;
    assert.equal(code, 0, `exit status after SIGTERM; stderr:\n${stderr}`);
    assert.ok(Date.now() - stoppedAt < GRACE_PERIOD_MS, "stopped within the grace period");
  },
);
