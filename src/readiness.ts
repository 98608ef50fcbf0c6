/** A dependency `/health/ready` asks; it may return details (queue depth, …) for the body. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<Record<string, unknown> | undefined>;
  /**
   * The API still answers without it (Redis: the cache bypasses, rate limits fail open, the outbox
   * keeps the jobs): down makes readiness `degraded` but keeps it 200, so a load balancer does not
   * take every instance out during an outage that costs no request.
   */
  optional?: boolean;
}
