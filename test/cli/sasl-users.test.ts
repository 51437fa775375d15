import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CliError } from "../../src/cli/command.js";
import { parseSaslUsers, readSaslUsersFile, SASL_USERS_FILE_BYTES_MAX } from "../../src/cli/sasl-users.js";

const directory = mkdtempSync(join(tmpdir(), "sluice-sasl-users-"));
after(() => rmSync(directory, { recursive: true, force: true }));

describe("SASL users file", () => {
  test("reads username:password lines, skipping comments and blanks, splitting at the first colon", () => {
    const path = join(directory, "users.txt");
    writeFileSync(path, "# operators\nalice:secret\r\n\n  \nbob:pa:ss:word\n");
    assert.deepEqual({ ...readSaslUsersFile(path) }, { alice: "secret", bob: "pa:ss:word" });
  });

  test("a user named __proto__ is an ordinary user", () => {
    const users = parseSaslUsers("__proto__:x\n", "f");
    assert.deepEqual(Object.keys(users), ["__proto__"]);
    assert.equal(users["__proto__"], "x");
  });

  for (const [text, pattern] of [
    ["alice\n", /f line 1 is not username:password/],
    [":secret\n", /line 1 has an empty user name/],
    ["alice:\n", /line 1 has an empty password for alice/],
    ["alice:a\nalice:b\n", /line 2 repeats the user alice/],
    ["# nobody\n\n", /lists no users/],
  ] as const) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseSaslUsers(text, "f"),
        (error: unknown) => {
          assert.ok(error instanceof CliError);
          assert.match(error.message, pattern);
          assert.ok(error.hint !== null && error.hint.length > 0, "says what to do next");
          return true;
        },
      );
    });
  }

  test("a missing file and an oversized file are clear errors", () => {
    assert.throws(() => readSaslUsersFile(join(directory, "absent")), /cannot read the SASL users file/);
    const big = join(directory, "big.txt");
    writeFileSync(big, Buffer.alloc(SASL_USERS_FILE_BYTES_MAX + 1, 0x61));
    assert.throws(() => readSaslUsersFile(big), /is larger than/);
  });
});
