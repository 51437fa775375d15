// Prometheus metrics of the toolkit, all in one registry that the gateway exposes on /metrics. Metrics are created
// on first use and shared afterwards, so several publishers or relays in one process add to the same series. Gauges
// that cost a query to read (the lag gauges) are read when they are collected, that is when /metrics is scraped,
// rather than on a timer that would wake an idle process for readings nobody asks for.

import { Counter, Gauge, Histogram, Registry } from "prom-client";

let registry: Registry | null = null;

/** The one registry every toolkit metric lives in. */
export function toolkitRegistry(): Registry {
  registry ??= new Registry();
  return registry;
}

interface MetricSpec<Label extends string> {
  name: string;
  help: string;
  labelNames: readonly Label[];
}

/** The counter with this name in the toolkit registry, created on first use. */
export function toolkitCounter<Label extends string>(spec: MetricSpec<Label>): Counter<Label> {
  const existing = toolkitRegistry().getSingleMetric(spec.name);
  if (existing !== undefined) return existing as Counter<Label>;
  return new Counter({ ...spec, labelNames: [...spec.labelNames], registers: [toolkitRegistry()] });
}

/**
 * How long a collection of the metrics waits for a gauge's readers; past it, the gauge shows its last values (a
 * reader still running updates them when it finishes), so a slow broker or database cannot hold up a scrape.
 */
export const GAUGE_READ_WAIT_MS_MAX = 2_000;

/** Updates a gauge's values from their source; called when the gauge is collected. */
export type GaugeReader = () => Promise<unknown>;

const gaugeReaders = new Map<string, Set<GaugeReader>>();

async function runGaugeReaders(name: string): Promise<void> {
  const readers = gaugeReaders.get(name);
  if (readers === undefined || readers.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const reading = Promise.allSettled([...readers].map((read) => read()));
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, GAUGE_READ_WAIT_MS_MAX);
    timer.unref();
  });
  await Promise.race([reading, timeout]);
  clearTimeout(timer);
}

export function toolkitGauge<Label extends string>(spec: MetricSpec<Label>): Gauge<Label> {
  const existing = toolkitRegistry().getSingleMetric(spec.name);
  if (existing !== undefined) return existing as Gauge<Label>;
  return new Gauge({
    ...spec,
    labelNames: [...spec.labelNames],
    registers: [toolkitRegistry()],
    collect: () => runGaugeReaders(spec.name),
  });
}

/**
 * Has reader run whenever the gauge named is collected (several readers of one gauge run side by side, one per relay or
 * consumer). Returns the function that removes it. A reader keeps its own pace: it may answer from a recent reading.
 */
export function readGaugeOnCollect(name: string, reader: GaugeReader): () => void {
  let readers = gaugeReaders.get(name);
  if (readers === undefined) gaugeReaders.set(name, (readers = new Set()));
  readers.add(reader);
  return () => void readers.delete(reader);
}

export function toolkitHistogram<Label extends string>(
  spec: MetricSpec<Label> & { buckets?: readonly number[] },
): Histogram<Label> {
  const existing = toolkitRegistry().getSingleMetric(spec.name);
  if (existing !== undefined) return existing as Histogram<Label>;
  const { buckets, ...rest } = spec;
  return new Histogram({
    ...rest,
    labelNames: [...rest.labelNames],
    ...(buckets === undefined ? {} : { buckets: [...buckets] }),
    registers: [toolkitRegistry()],
  });
}

/**
 * A reader for readGaugeOnCollect that reads at most once per intervalMs (a scrape within it shows the last reading)
 * and never twice at a time.
 */
export function throttledReader(intervalMs: number, read: () => Promise<unknown>): GaugeReader {
  let readAt = Number.NEGATIVE_INFINITY;
  let running: Promise<unknown> | null = null;
  return () => {
    if (running !== null) return running;
    if (performance.now() - readAt < intervalMs) return Promise.resolve();
    running = read().finally(() => {
      readAt = performance.now();
      running = null;
    });
    return running;
  };
}

/** Seconds, from a millisecond publish (a few ms) to a stuck broker (tens of seconds). */
const LATENCY_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The publishing side's metrics: events produced, and the outbox relay's lag, batches and cleanup. */
export function publishingMetrics() {
  return {
    eventsProduced: toolkitCounter({
      name: "sluice_events_produced_total",
      help: "Events the broker acknowledged, by topic and by what published them (publisher or outbox relay)",
      labelNames: ["topic", "source"] as const,
    }),
    outboxWaiting: toolkitGauge({
      name: "sluice_outbox_waiting_events",
      help: "Outbox events not yet published, including those a relay is publishing now",
      labelNames: ["schema"] as const,
    }),
    outboxInFlight: toolkitGauge({
      name: "sluice_outbox_in_flight_events",
      help: "Outbox events a relay has claimed and is publishing now",
      labelNames: ["schema"] as const,
    }),
    outboxOldestAge: toolkitGauge({
      name: "sluice_outbox_oldest_age_seconds",
      help: "How long the oldest unpublished outbox event has waited; 0 when none waits",
      labelNames: ["schema"] as const,
    }),
    relayBatches: toolkitCounter({
      name: "sluice_outbox_relay_batches_total",
      help: "Batches of outbox events the relay tried to publish, by result (published, failed)",
      labelNames: ["schema", "result"] as const,
    }),
    relayBatchDuration: toolkitHistogram({
      name: "sluice_outbox_relay_batch_duration_seconds",
      help: "Time from claiming a batch of outbox events to marking them published",
      labelNames: ["schema"] as const,
      buckets: LATENCY_BUCKETS_SECONDS,
    }),
    relayHeldBack: toolkitGauge({
      name: "sluice_outbox_relay_held_back_seconds",
      help: "How long committed outbox events have waited behind an older transaction still running; 0 when none do",
      labelNames: ["schema"] as const,
    }),
    outboxParked: toolkitCounter({
      name: "sluice_outbox_parked_rows_total",
      help: "Outbox rows the relay parked after the broker refused them for good (see requeueParkedOutboxRows)",
      labelNames: ["schema", "topic"] as const,
    }),
    outboxCleaned: toolkitCounter({
      name: "sluice_outbox_cleaned_events_total",
      help: "Published outbox events deleted after the retention window",
      labelNames: ["schema"] as const,
    }),
  };
}

export type PublishingMetrics = ReturnType<typeof publishingMetrics>;
