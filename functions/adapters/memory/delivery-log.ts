/**
 * In-memory delivery log: the same contract as the DynamoDB one (newest
 * first, `limit` items, entries past their retention dropped).
 */
import type { Delivery, DeliveryLog } from '#core/updates/ports.js';
import { DELIVERY_LOG_TTL_DAYS } from '#lib/data-model.js';

export class MemoryDeliveryLog implements DeliveryLog {
  private readonly byConnection = new Map<string, Delivery[]>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly retentionMs = DELIVERY_LOG_TTL_DAYS * 86_400_000,
  ) {}

  async record(delivery: Delivery): Promise<void> {
    const list = this.byConnection.get(delivery.connectionId) ?? [];
    list.push(structuredClone(delivery));
    this.byConnection.set(delivery.connectionId, list);
  }

  async recordMany(deliveries: readonly Delivery[]): Promise<void> {
    for (const d of deliveries) await this.record(d);
  }

  async recent(connectionId: string, limit: number): Promise<readonly Delivery[]> {
    const cutoff = this.now() - this.retentionMs;
    return (this.byConnection.get(connectionId) ?? [])
      .filter((d) => d.at > cutoff)
      .map((d, i) => ({ d, i }))
      .sort((a, b) => b.d.at - a.d.at || b.i - a.i)
      .slice(0, Math.max(0, limit))
      .map(({ d }) => structuredClone(d));
  }
}
