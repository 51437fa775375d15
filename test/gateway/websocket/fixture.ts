// A real system for WebSocket gateway tests: the embedded broker, the HTTP gateway listening on a free port with the
// WebSocket gateway attached, kafkajs for producing, and `ws` clients that record what they receive.

import type { TestContext } from "node:test";

import type { Producer } from "kafkajs";
import { pino } from "pino";
import { WebSocket, type ClientOptions } from "ws";

import type { RunningBroker, StartBrokerOptions } from "../../../src/broker/index.js";
import { createGateway, type Gateway } from "../../../src/gateway/server.js";
import {
  attachWebSocketGateway,
  type WebSocketGateway,
  type WebSocketGatewayOptions,
} from "../../../src/gateway/websocket/index.js";
import { createKafkaClient, type KafkaClient } from "../../../src/toolkit/kafka/connection.js";
import { brokerForTest, kafkaFor } from "../../helpers/broker.js";

export interface WebSocketTestSystem {
  broker: RunningBroker;
  kafka: KafkaClient;
  http: Gateway;
  gateway: WebSocketGateway;
  /** ws://host:port/ws */
  url: string;
  createTopic(name: string, partitions?: number): Promise<void>;
  produce(topic: string, messages: ProducedMessage[]): Promise<void>;
  /** Attaches one more WebSocket gateway (its own HTTP server) to the same broker. */
  restartGateway(options?: Partial<WebSocketGatewayOptions>): Promise<void>;
}

export interface ProducedMessage {
  key?: string | null;
  value: string | Buffer | null;
  partition?: number;
  headers?: Record<string, string>;
}

let topicCounter = 0;

export function uniqueTopic(prefix = "ws"): string {
  topicCounter += 1;
  return `${prefix}-${process.pid}-${topicCounter}`;
}

/** Short timings so that tests spend their time on behaviour, not on waiting. */
export const FAST: Partial<WebSocketGatewayOptions> = { fetchWaitMs: 50, closeTimeoutMs: 500 };

const silent = pino({ level: process.env.SLUICE_TEST_LOG_LEVEL ?? "silent" }, pino.destination(2));

export async function startSystem(
  t: TestContext,
  options: Partial<WebSocketGatewayOptions> = {},
  brokerOptions: StartBrokerOptions = {},
): Promise<WebSocketTestSystem> {
  // Hooks run in the order they were added: this one (closing the gateways) must run before the broker's.
  const cleanups: Array<() => Promise<void>> = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const broker = await brokerForTest(t, brokerOptions);
  const kafka = createKafkaClient({
    brokers: [broker.address],
    clientId: "sluice-ws-test",
    env: {},
    retry: { retries: 5, initialRetryTimeMs: 50, maxRetryTimeMs: 500 },
  });
  const kafkajs = kafkaFor(broker);
  const admin = kafkajs.admin();
  await admin.connect();
  let producer: Producer | null = null;

  const start = async (gatewayOptions: Partial<WebSocketGatewayOptions>) => {
    const http = await createGateway({ logger: silent, port: 0, collectProcessMetrics: false });
    const gateway = attachWebSocketGateway(http, { kafka, logger: silent, ...FAST, ...gatewayOptions });
    cleanups.push(() => http.close());
    const base = await http.listen();
    return { http, gateway, url: `${base.replace(/^http/, "ws")}/ws` };
  };

  const system: WebSocketTestSystem = {
    broker,
    kafka,
    ...(await start(options)),
    async createTopic(name, partitions = 1) {
      await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions }], waitForLeaders: true });
    },
    async produce(topic, messages) {
      if (producer === null) {
        producer = kafkajs.producer();
        await producer.connect();
      }
      await producer.send({
        topic,
        messages: messages.map((message) => ({
          key: message.key ?? null,
          value: message.value,
          ...(message.partition === undefined ? {} : { partition: message.partition }),
          ...(message.headers === undefined ? {} : { headers: message.headers }),
        })),
      });
    },
    async restartGateway(gatewayOptions = {}) {
      await system.http.close();
      Object.assign(system, await start({ ...options, ...gatewayOptions }));
    },
  };
  return system;
}

export interface ServerMessage {
  type: string;
  [field: string]: unknown;
}

export interface EventMessage extends ServerMessage {
  type: "event";
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: unknown;
  headers: Record<string, string>;
  timestamp: number;
}

interface Waiter {
  predicate: (message: ServerMessage) => boolean;
  count: number;
  resolve: (messages: ServerMessage[]) => void;
}

/** A `ws` client that keeps every message it receives. */
export class TestClient {
  readonly received: ServerMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly waiters = new Set<Waiter>();

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) throw new Error("the gateway sent a binary message");
      this.received.push(JSON.parse(data.toString("utf8")) as ServerMessage);
      for (const waiter of this.waiters) this.check(waiter);
    });
    this.closed = new Promise((resolve) => {
      ws.on("close", (code: number, reason: Buffer) => resolve({ code, reason: reason.toString("utf8") }));
    });
  }

  static async open(t: TestContext, url: string, protocols?: string[], options?: ClientOptions): Promise<TestClient> {
    const ws = new WebSocket(url, protocols, options);
    const client = new TestClient(ws);
    t.after(() => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_request, response) =>
        reject(new Error(`upgrade refused with ${response.statusCode}`)),
      );
    });
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** Resolves with the first `count` messages (in arrival order) that match, waiting for them if needed. */
  waitFor(predicate: (message: ServerMessage) => boolean, count = 1, timeoutMs = 10_000): Promise<ServerMessage[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const got = this.received.filter(predicate).length;
        reject(new Error(`waited ${timeoutMs} ms for ${count} matching messages, got ${got}`));
      }, timeoutMs);
      const waiter: Waiter = {
        predicate,
        count,
        resolve: (messages) => {
          clearTimeout(timer);
          resolve(messages);
        },
      };
      this.waiters.add(waiter);
      this.check(waiter);
    });
  }

  async waitForType(type: string, id?: string | number): Promise<ServerMessage> {
    const [message] = await this.waitFor((m) => m.type === type && (id === undefined || m.id === id));
    return message as ServerMessage;
  }

  async waitForEvents(topic: string, count: number, timeoutMs = 10_000): Promise<EventMessage[]> {
    return (await this.waitFor((m) => m.type === "event" && m.topic === topic, count, timeoutMs)) as EventMessage[];
  }

  events(topic?: string): EventMessage[] {
    return this.received.filter(
      (m): m is EventMessage => m.type === "event" && (topic === undefined || m.topic === topic),
    );
  }

  /** Subscribes and returns the subscribed answer (or throws with the error the gateway sent). */
  async subscribe(request: Record<string, unknown>): Promise<ServerMessage> {
    const id = `sub-${Math.random().toString(36).slice(2)}`;
    this.send({ type: "subscribe", id, ...request });
    const [answer] = await this.waitFor((m) => m.id === id);
    if (answer?.type !== "subscribed") throw new Error(`subscribe refused: ${JSON.stringify(answer)}`);
    return answer;
  }

  /**
   * A request and its answer: everything the gateway sent this client before handling the request has arrived
   * once the answer does, since one connection's messages arrive in order.
   */
  async roundTrip(): Promise<void> {
    const id = `ping-${Math.random().toString(36).slice(2)}`;
    this.send({ type: "unsubscribe", topic: "round-trip-marker", id });
    await this.waitFor((m) => m.id === id);
  }

  private check(waiter: Waiter): void {
    const matching = this.received.filter(waiter.predicate);
    if (matching.length < waiter.count) return;
    this.waiters.delete(waiter);
    waiter.resolve(matching.slice(0, waiter.count));
  }
}
