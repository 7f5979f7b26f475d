/** Closed-loop HTTP load from this process: the shared measuring loop of bench/db.ts and bench/cluster.ts. */

export interface LoadResult {
  /** Requests completed. */
  readonly reqs: number;
  readonly rps: number;
  /** Latency percentiles, ms. */
  readonly p50: number;
  readonly p99: number;
  /** Answers with a status ≥ 400. */
  readonly errors: number;
}

/** `conns` loops sending `request()` for `seconds`; req/s and latency percentiles (ms). */
export async function runLoad(request: () => Promise<Response>, conns: number, seconds: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      const start = performance.now();
      const res = await request();
      await res.arrayBuffer();
      if (res.status >= 400) errors += 1;
      latencies.push(performance.now() - start);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: conns }, loop));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { reqs: latencies.length, rps: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99), errors };
}
