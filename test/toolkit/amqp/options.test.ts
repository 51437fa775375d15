// The AMQP transport's limits on waiting for RabbitMQ: named defaults, and values outside their range refused.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DEFAULT_AMQP_CHANNEL_OPERATION_TIMEOUT_MS,
  DEFAULT_AMQP_CONNECT_TIMEOUT_MS,
  resolveAmqpOptions,
} from "../../../src/toolkit/amqp/index.js";
import { ToolkitError, ToolkitErrorCode } from "../../../src/toolkit/errors.js";

test("connectTimeoutMs and channelOperationTimeoutMs have defaults and take a caller's values", () => {
  const defaults = resolveAmqpOptions({ env: {} });
  assert.equal(defaults.connectTimeoutMs, DEFAULT_AMQP_CONNECT_TIMEOUT_MS);
  assert.equal(defaults.channelOperationTimeoutMs, DEFAULT_AMQP_CHANNEL_OPERATION_TIMEOUT_MS);
  const set = resolveAmqpOptions({ env: {}, connectTimeoutMs: 2_500, channelOperationTimeoutMs: 750 });
  assert.equal(set.connectTimeoutMs, 2_500);
  assert.equal(set.channelOperationTimeoutMs, 750);
});

test("a timeout of zero, a fraction or more than ten minutes is refused, naming the option", () => {
  for (const [field, value] of [
    ["connectTimeoutMs", 0],
    ["connectTimeoutMs", 1.5],
    ["channelOperationTimeoutMs", 600_001],
  ] as const) {
    assert.throws(
      () => resolveAmqpOptions({ env: {}, [field]: value }),
      (error: unknown) =>
        error instanceof ToolkitError &&
        error.code === ToolkitErrorCode.AMQP_CONFIG_INVALID &&
        error.message.includes(field),
      `${field} = ${value}`,
    );
  }
});
