// Faults injected into requests by API key, so that users can test how their services handle a slow broker, an
// error answer or a dropped connection without a real failure.

export type FaultAction =
  | { kind: "delay"; delayMs: number }
  | { kind: "error"; errorCode: number }
  /** Closes the connection before the request is handled. */
  | { kind: "drop" }
  /** Handles the request, then closes the connection instead of answering: the client cannot know it succeeded. */
  | { kind: "dropResponse" };

export interface FaultRule {
  apiKey: number;
  action: FaultAction;
  /** How many matching requests the fault applies to; Infinity until removed. */
  times?: number;
  /** Narrows the fault to some requests, e.g. one topic; receives the decoded request. */
  match?: (request: unknown) => boolean;
}

interface ActiveRule extends FaultRule {
  remaining: number;
}

export class FaultInjector {
  private readonly rules: ActiveRule[] = [];

  /** Adds a fault and returns a function that removes it. */
  add(rule: FaultRule): () => void {
    const active: ActiveRule = { ...rule, remaining: rule.times ?? Infinity };
    this.rules.push(active);
    return () => this.remove(active);
  }

  clear(): void {
    this.rules.length = 0;
  }

  /** The action for this request, consuming one use of the first matching rule, or null. */
  take(apiKey: number, request: unknown): FaultAction | null {
    if (this.rules.length === 0) return null;
    for (const rule of this.rules) {
      if (rule.apiKey !== apiKey || (rule.match !== undefined && !rule.match(request))) continue;
      rule.remaining -= 1;
      if (rule.remaining <= 0) this.remove(rule);
      return rule.action;
    }
    return null;
  }

  private remove(rule: ActiveRule): void {
    const index = this.rules.indexOf(rule);
    if (index >= 0) this.rules.splice(index, 1);
  }
}
