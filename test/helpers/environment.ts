// What the machine running the tests has. A test that needs a missing tool skips with a visible reason on a
// developer's machine; in CI (SLUICE_REQUIRE_ALL_TOOLS=1) the same absence fails the test, so nothing skips there.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";

export function hasCommand(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** Returns true when the test may go on; otherwise skips it loudly (or fails it in CI). */
export function requireTool(t: TestContext, available: boolean, what: string): boolean {
  if (available) return true;
  const message = `SKIPPED: ${what} is not available on this machine`;
  if (process.env.SLUICE_REQUIRE_ALL_TOOLS === "1") throw new Error(`${message}, and CI requires it`);
  process.stderr.write(`\n*** ${message} ***\n`);
  t.skip(message);
  return false;
}

/** A fresh temporary directory, removed when the test ends. */
export function temporaryDir(t: TestContext, prefix = "sluice-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A self-signed certificate for 127.0.0.1 and localhost, made by openssl in a temporary directory, or null (after a
 * loud skip) when openssl is missing.
 */
export function selfSignedCertificate(t: TestContext): { cert: Buffer; key: Buffer } | null {
  if (!requireTool(t, hasCommand("openssl"), "openssl (to make a test certificate)")) return null;
  const dir = temporaryDir(t);
  const made = spawnSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "-keyout",
    join(dir, "key.pem"),
    "-out",
    join(dir, "cert.pem"),
  ]);
  if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr.toString()}`);
  return { cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) };
}
