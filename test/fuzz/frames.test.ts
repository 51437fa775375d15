// Random and mutated frames, first to the decoder and then to a live broker: decoding fails only with
// ProtocolDecodeError; a live connection fed garbage is closed (or answered) without crashing or hanging the broker,
// memory stays bounded, and a well-behaved client on another connection keeps working throughout.

import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import fc from "fast-check";
import { decodeMessage, encodeMessage } from "../../src/kafka/protocol/codec.js";
import { writeRequestHeader } from "../../src/kafka/protocol/headers.js";
import { ProtocolDecodeError, Reader, Writer } from "../../src/kafka/protocol/primitives.js";
import { HANDLERS } from "../../src/broker/handlers/index.js";
import { isFlexible } from "../../src/kafka/protocol/codec.js";
import { brokerForTest, kafkaFor } from "../helpers/broker.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const handlers = [...HANDLERS.values()];

/** A minimal valid request for a handler and version: every field at its default. */
function validRequest(apiKey: number, version: number, correlationId: number): Buffer {
  const handler = HANDLERS.get(apiKey)!;
  const writer = new Writer();
  const sizeAt = writer.reserveInt32();
  writeRequestHeader(
    writer,
    { apiKey, apiVersion: version, correlationId, clientId: "fuzzer" },
    isFlexible(handler.requestSchema, version) ? 2 : 1,
  );
  encodeMessage(handler.requestSchema, version, {}, writer);
  writer.patchInt32(sizeAt, writer.offset - 4);
  return Buffer.from(writer.finish());
}

function mutate(frame: Buffer, positions: number[], values: number[]): Buffer {
  const copy = Buffer.from(frame);
  positions.forEach((position, i) => {
    // Keep the size prefix intact half the time so that mutations reach the decoder rather than the framing.
    const at = position % copy.length;
    if (at >= 4 || i % 2 === 0) copy[at] = values[i]! & 0xff;
  });
  return copy;
}

test("decoders fail only with ProtocolDecodeError on mutated input", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: handlers.length - 1 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(255), { minLength: 8, maxLength: 8 }),
      (index, positions, values) => {
        const handler = handlers[index]!;
        for (const version of [handler.versions[0], handler.versions[1]]) {
          const body = Buffer.from(encodeMessage(handler.requestSchema, version, {}).finish());
          if (body.length === 0) continue;
          const mutated = mutate(
            Buffer.concat([Buffer.alloc(4), body]),
            positions.map((p) => p + 4),
            values,
          ).subarray(4);
          try {
            decodeMessage(handler.requestSchema, version, new Reader(mutated));
          } catch (error) {
            assert.ok(error instanceof ProtocolDecodeError, `${handler.name} v${version}: ${String(error)}`);
          }
        }
      },
    ),
    { numRuns: 3000, seed: SEED },
  );
});

/** Sends bytes on a fresh connection and resolves when the broker closes it or answers, or after a timeout. */
function poke(port: number, bytes: Buffer, timeoutMs = 2000): Promise<"closed" | "answered" | "silent"> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let outcome: "closed" | "answered" | "silent" = "silent";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(outcome);
    }, timeoutMs);
    socket.on("data", () => {
      outcome = "answered";
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(outcome === "answered" ? "answered" : "closed");
    });
    socket.write(bytes);
    // A half-frame would otherwise wait forever for its rest; ending our side lets the broker see the truncation.
    setTimeout(() => socket.end(), 200);
  });
}

test("a live broker survives random and mutated frames while another client keeps working", async (t) => {
  const broker = await brokerForTest(t);
  const kafka = kafkaFor(broker);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: "steady", messages: [{ value: "before" }] });
  const rssBefore = process.memoryUsage().rss;

  const random = fc.sample(
    fc.record({
      kind: fc.constantFrom("garbage", "mutated", "huge-size", "negative-size", "truncated"),
      index: fc.integer({ min: 0, max: handlers.length - 1 }),
      positions: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
      values: fc.array(fc.nat(255), { minLength: 6, maxLength: 6 }),
      garbage: fc.uint8Array({ minLength: 0, maxLength: 300 }),
    }),
    { numRuns: 150, seed: SEED },
  );
  let produced = 0;
  for (const [i, sample] of random.entries()) {
    const handler = handlers[sample.index]!;
    const valid = validRequest(handler.apiKey, handler.versions[1], i);
    let bytes: Buffer;
    switch (sample.kind) {
      case "garbage":
        bytes = Buffer.from(sample.garbage);
        break;
      case "mutated":
        bytes = mutate(valid, sample.positions, sample.values);
        break;
      case "huge-size":
        bytes = Buffer.concat([Buffer.from([0x7f, 0xff, 0xff, 0xff]), valid.subarray(4)]);
        break;
      case "negative-size":
        bytes = Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xf0]), valid.subarray(4)]);
        break;
      case "truncated":
        bytes = valid.subarray(0, Math.max(1, valid.length - 1 - (sample.positions[0]! % valid.length)));
        break;
    }
    const outcome = await poke(broker.port, bytes);
    assert.notEqual(outcome, undefined);
    if (i % 10 === 0) {
      await producer.send({ topic: "steady", messages: [{ value: `during-${i}` }] });
      produced++;
    }
  }
  await producer.send({ topic: "steady", messages: [{ value: "after" }] });
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets("steady");
  await admin.disconnect();
  await producer.disconnect();
  assert.equal(offsets[0]!.high, String(produced + 2), "the well-behaved client's messages all landed");
  const rssGrowthBytes = process.memoryUsage().rss - rssBefore;
  assert.ok(rssGrowthBytes < 200 * 1024 * 1024, `RSS grew by ${rssGrowthBytes} bytes`);
});
