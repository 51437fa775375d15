import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SaslAuthenticationError } from "../../../src/broker/sasl/errors.js";
import { createSaslServer } from "../../../src/broker/sasl/mechanisms.js";
import { SaslUserStore, type ScramMechanism } from "../../../src/broker/sasl/user-store.js";
import { ScramTestClient, seededRandomBytes, type ScramAlgorithm } from "./test-support.js";

const utf8 = (text: string): Buffer => Buffer.from(text, "utf8");

function storeFor(users: Record<string, string>, seed = 1): SaslUserStore {
  return new SaslUserStore(
    { mechanisms: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], users },
    { randomBytes: seededRandomBytes(seed) },
  );
}

const MECHANISMS: ReadonlyArray<[ScramMechanism, ScramAlgorithm]> = [
  ["SCRAM-SHA-256", "sha256"],
  ["SCRAM-SHA-512", "sha512"],
];

function expectFailure(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof SaslAuthenticationError, `expected SaslAuthenticationError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

describe("SCRAM test client", () => {
  test("reproduces the RFC 5802 SCRAM-SHA-1 example, so it is a fair judge of the server", () => {
    const client = new ScramTestClient("sha1", "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL");
    assert.equal(client.clientFirst(), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    const serverFirst = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
    assert.equal(
      client.clientFinal(serverFirst),
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    );
    assert.equal(client.expectedServerFinal(), "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
  });
});

describe("SCRAM-SHA-256 against the RFC 7677 example", () => {
  test("the server sends the RFC's server-first and server-final messages", () => {
    const rfcSalt = Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64");
    const seeded = seededRandomBytes(7);
    // The store draws its secret first, then one salt per user and SCRAM mechanism.
    const store = new SaslUserStore(
      { mechanisms: ["SCRAM-SHA-256"], users: { user: "pencil" } },
      { randomBytes: (size) => (size === rfcSalt.length ? rfcSalt : seeded(size)) },
    );
    const server = createSaslServer("SCRAM-SHA-256", store, { serverNonce: () => "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" });
    const client = new ScramTestClient("sha256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO");

    const first = server.step(utf8(client.clientFirst()));
    assert.equal(first.done, false);
    const serverFirst = first.response.toString("utf8");
    assert.equal(serverFirst, "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");

    const clientFinal = client.clientFinal(serverFirst);
    assert.equal(
      clientFinal,
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    );
    const final = server.step(utf8(clientFinal));
    assert.equal(final.done, true);
    assert.equal(final.principal, "user");
    assert.equal(final.response.toString("utf8"), "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  });
});

for (const [mechanism, algorithm] of MECHANISMS) {
  describe(mechanism, () => {
    const store = storeFor({ alice: "alice-secret", "we,ird=name": "päss wörd" });

    function exchange(username: string, password: string, clientNonce = "clientNonceAbc123") {
      const server = createSaslServer(mechanism, store);
      const client = new ScramTestClient(algorithm, username, password, clientNonce);
      const serverFirst = server.step(utf8(client.clientFirst())).response.toString("utf8");
      return { server, client, serverFirst };
    }

    test("authenticates a user and proves the server knows the password", () => {
      const { server, client, serverFirst } = exchange("alice", "alice-secret");
      assert.match(serverFirst, /^r=clientNonceAbc123[^,]+,s=[A-Za-z0-9+/=]+,i=4096$/);
      const final = server.step(utf8(client.clientFinal(serverFirst)));
      assert.deepEqual(
        { done: final.done, principal: final.principal, response: final.response.toString("utf8") },
        { done: true, principal: "alice", response: client.expectedServerFinal() },
      );
    });

    test("decodes escaped user names and uses UTF-8 passwords", () => {
      const { server, client, serverFirst } = exchange("we,ird=name", "päss wörd");
      const final = server.step(utf8(client.clientFinal(serverFirst)));
      assert.equal(final.principal, "we,ird=name");
      assert.equal(final.response.toString("utf8"), client.expectedServerFinal());
    });

    test("uses a fresh server nonce and its own salt per user", () => {
      const one = exchange("alice", "alice-secret").serverFirst;
      const two = exchange("alice", "alice-secret").serverFirst;
      const other = exchange("we,ird=name", "päss wörd").serverFirst;
      const field = (message: string, name: string) => message.split(",").find((part) => part.startsWith(`${name}=`));
      assert.notEqual(field(one, "r"), field(two, "r"));
      assert.equal(field(one, "s"), field(two, "s"));
      assert.notEqual(field(one, "s"), field(other, "s"));
    });

    test("refuses a wrong password", () => {
      const { server, client, serverFirst } = exchange("alice", "not-the-password");
      expectFailure(() => server.step(utf8(client.clientFinal(serverFirst))), /invalid username or password/);
      expectFailure(() => server.step(utf8("anything")), /has finished/);
    });

    test("refuses an unknown user only at the proof, with a salt that does not change between attempts", () => {
      const first = exchange("mallory", "guess");
      const second = exchange("mallory", "guess");
      const salt = (message: string) => message.split(",")[1];
      assert.equal(salt(first.serverFirst), salt(second.serverFirst));
      assert.match(first.serverFirst, /,i=4096$/);
      expectFailure(
        () => first.server.step(utf8(first.client.clientFinal(first.serverFirst))),
        /invalid username or password/,
      );
    });

    test("refuses a client-final message whose nonce differs from the server's", () => {
      const { server, client, serverFirst } = exchange("alice", "alice-secret");
      const forged = client.clientFinal(serverFirst, { nonce: "clientNonceAbc123-but-not-the-server-part" });
      expectFailure(() => server.step(utf8(forged)), /nonce does not match/);
    });

    test("refuses a client-final message whose channel binding does not repeat the GS2 header", () => {
      const { server, client, serverFirst } = exchange("alice", "alice-secret");
      const final = client.clientFinal(serverFirst).replace("c=biws", `c=${Buffer.from("y,,").toString("base64")}`);
      expectFailure(() => server.step(utf8(final)), /does not repeat the GS2 header/);
    });

    test("accepts the y flag (client could bind, server does not offer it)", () => {
      const server = createSaslServer(mechanism, store);
      const client = new ScramTestClient(algorithm, "alice", "alice-secret", "nonce-y", "y,,");
      const serverFirst = server.step(utf8(client.clientFirst())).response.toString("utf8");
      assert.equal(server.step(utf8(client.clientFinal(serverFirst))).principal, "alice");
    });

    test("accepts an authorization id equal to the user name and refuses any other", () => {
      const same = createSaslServer(mechanism, store);
      const client = new ScramTestClient(algorithm, "alice", "alice-secret", "nonce-a", "n,a=alice,");
      const serverFirst = same.step(utf8(client.clientFirst())).response.toString("utf8");
      assert.equal(same.step(utf8(client.clientFinal(serverFirst))).principal, "alice");

      const other = createSaslServer(mechanism, store);
      expectFailure(() => other.step(utf8("n,a=admin,n=alice,r=nonce")), /authorization id/);
    });

    test("refuses delegation-token authentication and channel binding, ignores unknown extensions", () => {
      expectFailure(
        () => createSaslServer(mechanism, store).step(utf8("n,,n=alice,r=nonce,tokenauth=true")),
        /tokenauth/,
      );
      expectFailure(
        () => createSaslServer(mechanism, store).step(utf8("p=tls-unique,,n=alice,r=nonce")),
        /channel binding is not supported/,
      );
      expectFailure(
        () => createSaslServer(mechanism, store).step(utf8("n,,m=must,n=alice,r=nonce")),
        /mandatory extensions/,
      );
      const server = createSaslServer(mechanism, store);
      assert.equal(server.step(utf8("n,,n=alice,r=nonce,future=1")).done, false);
    });

    const malformedFirst: ReadonlyArray<[string, Buffer, RegExp]> = [
      ["an empty token", Buffer.alloc(0), /GS2 header/],
      ["no GS2 header", utf8("n=alice,r=nonce"), /expected a GS2 header/],
      ["an unknown channel binding flag", utf8("q,,n=alice,r=nonce"), /unknown channel binding flag/],
      ["a missing user name", utf8("n,,r=nonce"), /expected the n= attribute/],
      ["a missing nonce", utf8("n,,n=alice"), /expected the r= attribute/],
      ["an empty user name", utf8("n,,n=,r=nonce"), /empty name/],
      ["a bare = in the user name", utf8("n,,n=a=b,r=nonce"), /must be escaped/],
      ["a nonce with a space", utf8("n,,n=alice,r=no nce"), /printable ASCII/],
      ["invalid UTF-8", Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xff, 0xfe]), /not valid UTF-8/],
      ["a NUL character", utf8("n,,n=al\0ice,r=nonce"), /NUL/],
      ["a malformed extension", utf8("n,,n=alice,r=nonce,=x"), /malformed extension/],
      ["a token over the size limit", Buffer.alloc(512 * 1024 + 1, 0x61), /longer than/],
    ];
    for (const [name, token, pattern] of malformedFirst) {
      test(`refuses a client-first message with ${name}`, () => {
        expectFailure(() => createSaslServer(mechanism, store).step(token), pattern);
      });
    }

    const malformedFinal: ReadonlyArray<[string, (valid: string) => string, RegExp]> = [
      ["no proof", (valid) => valid.slice(0, valid.indexOf(",p=")), /expected the proof/],
      ["a proof that is not base64", (valid) => valid.replace(/p=.*$/, "p=!!!!"), /not valid base64/],
      ["a proof of the wrong length", (valid) => valid.replace(/p=.*$/, "p=AAAA"), /proof must be/],
      ["no channel binding", (valid) => valid.replace("c=biws,", ""), /expected the c= attribute/],
      ["garbage", () => "\u0001\u0002", /expected the proof/],
    ];
    for (const [name, corrupt, pattern] of malformedFinal) {
      test(`refuses a client-final message with ${name}`, () => {
        const { server, client, serverFirst } = exchange("alice", "alice-secret");
        expectFailure(() => server.step(utf8(corrupt(client.clientFinal(serverFirst)))), pattern);
      });
    }
  });
}
