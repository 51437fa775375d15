// The console's audit log: every change made through it (who, what, when, and whether it worked), kept in a
// bounded ring in memory for the audit view and written to the structured log, which is where it lasts.

import type { ConsoleLogger } from "./context.js";

export interface AuditEntry {
  readonly id: number;
  readonly time: string;
  readonly user: string;
  /** What was done, such as "topic.create" or "group.reset". */
  readonly action: string;
  /** What it was done to, such as a topic or group name. */
  readonly target: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly outcome: "ok" | "failed";
  readonly error?: string;
}

export const AUDIT_ENTRIES_MAX = 1_000;

export class AuditLog {
  private readonly entries: AuditEntry[] = [];
  private nextId = 1;

  constructor(
    private readonly logger: ConsoleLogger,
    private readonly entriesMax = AUDIT_ENTRIES_MAX,
  ) {}

  /** Runs a change and records it, failed or not; the change's result or error passes through. */
  async record<T>(
    user: string,
    action: string,
    target: string,
    details: Readonly<Record<string, unknown>>,
    change: () => Promise<T>,
  ): Promise<T> {
    try {
      const result = await change();
      this.add({ user, action, target, details, outcome: "ok" });
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.add({ user, action, target, details, outcome: "failed", error: message });
      throw error;
    }
  }

  /** The newest entries first. */
  list(limit: number): AuditEntry[] {
    return this.entries.slice(-limit).reverse();
  }

  private add(entry: Omit<AuditEntry, "id" | "time">): void {
    const full: AuditEntry = { id: this.nextId++, time: new Date().toISOString(), ...entry };
    this.entries.push(full);
    if (this.entries.length > this.entriesMax) this.entries.shift();
    this.logger.info({ audit: full }, `console: ${full.user} ${full.action} ${full.target} (${full.outcome})`);
  }
}
