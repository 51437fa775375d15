// log.cleaner.io.max.bytes.per.second through a real admin client (@platformatic/kafka): DescribeConfigs lists it
// on the broker resource with Kafka's default (Double.MAX_VALUE, unthrottled), and IncrementalAlterConfigs sets and
// deletes it at run time on this broker, reaching the running log cleaner at once.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Admin, ConfigResourceTypes, IncrementalAlterConfigOperationTypes } from "@platformatic/kafka";
import { brokerForTest } from "../helpers/broker.js";

const NAME = "log.cleaner.io.max.bytes.per.second";
const NODE_ID = "1";

async function describedLimit(admin: Admin) {
  const [described] = await admin.describeConfigs({
    resources: [{ resourceType: ConfigResourceTypes.BROKER, resourceName: NODE_ID }],
    includeSynonyms: true,
  });
  return described!.configs.find((config) => config.name === NAME);
}

async function alterLimit(admin: Admin, resourceName: string, value: string | null): Promise<void> {
  const config =
    value === null
      ? { name: NAME, configOperation: IncrementalAlterConfigOperationTypes.DELETE }
      : { name: NAME, configOperation: IncrementalAlterConfigOperationTypes.SET, value };
  await admin.incrementalAlterConfigs({
    resources: [{ resourceType: ConfigResourceTypes.BROKER, resourceName, configs: [config] }],
  });
}

test("log.cleaner.io.max.bytes.per.second is listed with Kafka's default and changes the cleaner at run time", async (t) => {
  const broker = await brokerForTest(t);
  const admin = new Admin({ clientId: "throttle-admin", bootstrapBrokers: [broker.address], retries: 0 });
  t.after(() => admin.close());
  const { cleaner } = broker.broker;

  const initial = await describedLimit(admin);
  assert.equal(initial?.value, "1.7976931348623157E308");
  assert.equal(initial?.configSource, 5, "DEFAULT_CONFIG");
  assert.equal(initial?.readOnly, false);
  assert.equal(cleaner.ioBytesPerSecondMax, Number.MAX_VALUE);

  await alterLimit(admin, NODE_ID, "2097152.5");
  const set = await describedLimit(admin);
  assert.equal(set?.value, "2097152.5");
  assert.equal(set?.configSource, 2, "DYNAMIC_BROKER_CONFIG");
  assert.equal(cleaner.ioBytesPerSecondMax, 2_097_152.5, "the running cleaner takes the new limit");

  await alterLimit(admin, NODE_ID, null);
  assert.equal((await describedLimit(admin))?.value, "1.7976931348623157E308");
  assert.equal(cleaner.ioBytesPerSecondMax, Number.MAX_VALUE);
});
