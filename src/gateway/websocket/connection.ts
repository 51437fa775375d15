// One client connection: its requests (handled in order, one at a time), its user once authenticated, its topic
// subscriptions, and the guard on its send buffer that cuts off a client reading too slowly.

import type { Duplex } from "node:stream";

import type { WebSocket } from "ws";

import type { WebSocketMetrics } from "./metrics.js";
import type { ResolvedWebSocketOptions } from "./options.js";
import {
  authenticatedMessage,
  errorMessage,
  parseClientRequest,
  subscribedMessage,
  unsubscribedMessage,
  welcomeMessage,
  WebSocketCloseCode,
  WebSocketCloseReason,
  WebSocketErrorCode,
  WebSocketRequestError,
  type AuthRequest,
  type ClientRequest,
  type RequestId,
  type SubscribeRequest,
  type UnsubscribeRequest,
  type WebSocketUser,
} from "./protocol.js";
import { startReplay, type Replay } from "./replay.js";
import { Subscription, type EventSink } from "./subscription.js";
import type { TopicTail } from "./topic-tail.js";

/** What a connection needs from the gateway it belongs to. */
export interface ConnectionContext {
  readonly options: ResolvedWebSocketOptions;
  readonly metrics: WebSocketMetrics;
  /** The topic's shared reader; throws WebSocketRequestError when the topic cannot be read. */
  openTail(topic: string): Promise<TopicTail>;
  /** Per partition, the earliest offset the topic still stores; throws WebSocketRequestError. */
  earliestOffsets(topic: string): Promise<Map<number, number>>;
  /** Takes one of the gateway's replay slots; false when all are in use. */
  acquireReplaySlot(): boolean;
  releaseReplaySlot(): void;
  onClosed(connection: ClientConnection): void;
}

interface ActiveSubscription {
  readonly subscription: Subscription;
  readonly tail: TopicTail;
  replay: Replay | null;
}

type RawData = Buffer | ArrayBuffer | Buffer[];

function toText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString("utf8");
  return data.toString("utf8");
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class ClientConnection implements EventSink {
  private user: WebSocketUser | null = null;
  private readonly subscriptions = new Map<string, ActiveSubscription>();
  private queue: Promise<void> = Promise.resolve();
  private pendingRequests = 0;
  private closing = false;
  private disposed = false;
  private alive = true;
  private authTimer: NodeJS.Timeout | null = null;
  private terminateTimer: NodeJS.Timeout | null = null;
  /** Set while inOneWrite gathers messages: the bytes the client had not read when it began. */
  private bufferedBeforeWrite: number | null = null;

  /** socket: the upgraded connection under ws, corked while a batch of events is written. */
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly context: ConnectionContext,
    presentedToken: string | null,
  ) {
    context.metrics.connections.inc();
    ws.on("message", (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on("pong", () => {
      this.alive = true;
    });
    ws.on("error", (error: Error) => {
      context.options.logger.debug({ err: error }, "WebSocket connection error");
    });
    ws.on("close", () => this.dispose());
    this.enqueue(() => this.greet(presentedToken));
  }

  /** Sends a message unless the client is too far behind, in which case it is cut off instead. */
  send(data: Buffer | string): boolean {
    if (this.closing || this.ws.readyState !== this.ws.OPEN) return false;
    // Inside inOneWrite the buffer also holds what this write gathers, which says nothing about the client: what
    // counts is what it had not read when the write began.
    const unread = this.bufferedBeforeWrite ?? this.ws.bufferedAmount;
    if (unread > this.context.options.sendBufferBytesMax) {
      this.cutOffSlowClient();
      return false;
    }
    this.ws.send(data, { binary: false });
    return true;
  }

  inOneWrite(sendAll: () => void): void {
    if (this.bufferedBeforeWrite !== null) return sendAll();
    this.bufferedBeforeWrite = this.ws.bufferedAmount;
    this.socket.cork();
    try {
      sendAll();
    } finally {
      this.bufferedBeforeWrite = null;
      this.socket.uncork();
    }
  }

  /** Called on the gateway's ping timer: a client that did not answer the previous ping is dropped. */
  checkAlive(): void {
    if (this.disposed) return;
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.removeAllSubscriptions();
    this.clearAuthTimer();
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  private cutOffSlowClient(): void {
    const { options, metrics } = this.context;
    metrics.slowClientCloses.inc();
    options.logger.info(
      { bufferedBytes: this.ws.bufferedAmount, sendBufferBytesMax: options.sendBufferBytesMax },
      "closing a WebSocket client that reads too slowly",
    );
    this.close(WebSocketCloseCode.SEND_BUFFER_EXCEEDED, WebSocketCloseReason.SEND_BUFFER_EXCEEDED);
    // The close frame waits behind everything already buffered; a client that never reads is dropped after a grace.
    this.terminateTimer = setTimeout(() => this.ws.terminate(), options.slowClientCloseGraceMs);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    if (isBinary) {
      this.sendError(
        new WebSocketRequestError(WebSocketErrorCode.VALIDATION_FAILED, "send requests as JSON in text messages"),
      );
      return;
    }
    if (this.pendingRequests >= this.context.options.pendingRequestsPerConnectionMax) {
      this.sendError(
        new WebSocketRequestError(
          WebSocketErrorCode.LIMIT_EXCEEDED,
          `more than ${this.context.options.pendingRequestsPerConnectionMax} requests are waiting; wait for ` +
            "answers before sending more",
        ),
      );
      return;
    }
    const text = toText(data);
    this.enqueue(() => this.handle(text));
  }

  private enqueue(task: () => Promise<void>): void {
    this.pendingRequests += 1;
    this.queue = this.queue
      .then(task)
      .catch((error: unknown) => {
        this.context.options.logger.error({ err: error }, "a WebSocket request failed unexpectedly");
        this.sendError(
          new WebSocketRequestError(
            WebSocketErrorCode.INTERNAL,
            "the gateway failed to handle this request; it has been logged, please try again",
          ),
        );
      })
      .finally(() => {
        this.pendingRequests -= 1;
      });
  }

  private async greet(presentedToken: string | null): Promise<void> {
    const { verifyToken, authRequired, authTimeoutMs } = this.context.options;
    if (presentedToken !== null && verifyToken !== null) {
      try {
        this.user = await verifyToken(presentedToken);
      } catch (error) {
        this.refuseToken(error, null);
        return;
      }
    }
    this.send(welcomeMessage(this.user, authRequired));
    if (authRequired && this.user === null && !this.closing) {
      this.authTimer = setTimeout(
        () => this.close(WebSocketCloseCode.AUTH_TIMEOUT, WebSocketCloseReason.AUTH_TIMEOUT),
        authTimeoutMs,
      );
    }
  }

  private async handle(text: string): Promise<void> {
    if (this.closing) return;
    let request: ClientRequest;
    try {
      request = parseClientRequest(text);
    } catch (error) {
      if (error instanceof WebSocketRequestError) return this.sendError(error);
      throw error;
    }
    try {
      switch (request.type) {
        case "subscribe":
          return await this.subscribe(request);
        case "unsubscribe":
          return this.unsubscribe(request);
        case "auth":
          return await this.authenticate(request);
      }
    } catch (error) {
      if (error instanceof WebSocketRequestError) return this.sendError(error, request.id);
      throw error;
    }
  }

  private async subscribe(request: SubscribeRequest): Promise<void> {
    const { options } = this.context;
    const { topic, id } = request;
    if (options.authRequired && this.user === null) {
      throw new WebSocketRequestError(
        WebSocketErrorCode.UNAUTHORIZED,
        'authenticate first: send { "type": "auth", "token": … } or connect with a token',
        { topic },
      );
    }
    const decision = options.allowTopic(topic, this.user, request.key);
    if (decision !== true) {
      const { code, message, field } =
        decision === false
          ? { code: WebSocketErrorCode.FORBIDDEN, message: `you may not subscribe to topic "${topic}"`, field: "topic" }
          : decision;
      throw new WebSocketRequestError(code, message, { topic, field });
    }
    if (!this.subscriptions.has(topic) && this.subscriptions.size >= options.subscriptionsPerConnectionMax) {
      throw new WebSocketRequestError(
        WebSocketErrorCode.LIMIT_EXCEEDED,
        `a connection may hold at most ${options.subscriptionsPerConnectionMax} subscriptions; unsubscribe from ` +
          "one first",
        { topic },
      );
    }
    let tail = await this.context.openTail(topic);
    // The gateway may close an idle tail to make room for another topic just before this subscriber attaches.
    if (tail.isClosed) tail = await this.context.openTail(topic);
    if (this.closing) return;
    const subscription = new Subscription(topic, request.key, this, tail.recent);
    let replayPartitions = subscription.position(request.resume);
    if (replayPartitions.length > 0) {
      // Offsets the broker no longer stores (retention, deleted records) cannot be replayed: start at the earliest.
      const earliest = await this.context.earliestOffsets(topic);
      if (this.closing) return;
      const resume = new Map(
        [...request.resume].map(([partition, next]) => [partition, Math.max(next, earliest.get(partition) ?? 0)]),
      );
      replayPartitions = subscription.position(resume);
    }
    const replaying = replayPartitions.length > 0;
    if (replaying && !this.context.acquireReplaySlot()) {
      throw new WebSocketRequestError(
        WebSocketErrorCode.UNAVAILABLE,
        "too many clients are resuming from older offsets right now; try again shortly",
        { topic },
      );
    }
    // A new subscribe to the same topic replaces the old one (its key filter and position).
    this.removeSubscription(topic);
    const active: ActiveSubscription = { subscription, tail, replay: null };
    this.subscriptions.set(topic, active);
    tail.attach(subscription);
    this.context.metrics.subscriptions.inc();
    this.send(subscribedMessage(topic, request.key, subscription.offsets(), id));
    subscription.sendRecent();
    if (replaying) this.startReplay(active);
  }

  private startReplay(active: ActiveSubscription): void {
    const { options } = this.context;
    active.replay = startReplay({
      kafka: options.kafka,
      subscription: active.subscription,
      bufferedBytes: () => this.ws.bufferedAmount,
      // Replayed events fill at most half the send buffer, leaving the rest for live events of other topics.
      pauseAboveBytes: Math.floor(options.sendBufferBytesMax / 2),
      timeoutMs: options.resumeTimeoutMs,
      fetchWaitMs: options.fetchWaitMs,
      partitionFetchBytesMax: options.partitionFetchBytesMax,
      logger: options.logger,
      onFinished: (error) => {
        this.endReplay(active);
        if (error === null || this.subscriptions.get(active.subscription.topic) !== active) return;
        this.removeSubscription(active.subscription.topic);
        this.sendError(error);
      },
    });
  }

  private endReplay(active: ActiveSubscription): void {
    if (active.replay === null) return;
    active.replay = null;
    this.context.releaseReplaySlot();
  }

  private unsubscribe(request: UnsubscribeRequest): void {
    this.removeSubscription(request.topic);
    this.send(unsubscribedMessage(request.topic, request.id));
  }

  private async authenticate(request: AuthRequest): Promise<void> {
    const { verifyToken } = this.context.options;
    if (verifyToken === null) {
      throw new WebSocketRequestError(
        WebSocketErrorCode.VALIDATION_FAILED,
        "this gateway does not check tokens (authentication is off); subscribe without one",
        { field: "token" },
      );
    }
    let user: WebSocketUser;
    try {
      user = await verifyToken(request.token);
    } catch (error) {
      this.refuseToken(error, request.id);
      return;
    }
    if (this.closing) return;
    this.user = user;
    this.clearAuthTimer();
    this.send(authenticatedMessage(user, request.id));
  }

  private refuseToken(error: unknown, id: RequestId | null): void {
    this.sendError(
      new WebSocketRequestError(WebSocketErrorCode.UNAUTHORIZED, `the token was refused: ${describe(error)}`, {
        field: "token",
        id,
      }),
    );
    this.close(WebSocketCloseCode.UNAUTHORIZED, WebSocketCloseReason.UNAUTHORIZED);
  }

  private sendError(error: WebSocketRequestError, id: RequestId | null = null): void {
    this.send(errorMessage(error, id));
  }

  private removeSubscription(topic: string): void {
    const active = this.subscriptions.get(topic);
    if (active === undefined) return;
    this.subscriptions.delete(topic);
    active.tail.detach(active.subscription);
    this.context.metrics.subscriptions.dec();
    const replay = active.replay;
    this.endReplay(active);
    if (replay !== null) void replay.stop();
  }

  private removeAllSubscriptions(): void {
    for (const topic of [...this.subscriptions.keys()]) this.removeSubscription(topic);
  }

  private clearAuthTimer(): void {
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    this.authTimer = null;
  }

  private dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.closing = true;
    this.removeAllSubscriptions();
    this.clearAuthTimer();
    if (this.terminateTimer !== null) clearTimeout(this.terminateTimer);
    this.context.metrics.connections.dec();
    this.context.onClosed(this);
  }
}
