// PostgreSQL 15's USDT probes against a real server of our own (test/support/postgres.ts: initdb in
// a temp folder, a unix socket only, run as an unprivileged user, stopped after the tests whatever
// happens): query__start / query__done time real queries run with psql, each connection a freshly
// forked backend whose semaphores must be raised; examples/pg-query-latency.bt with --percentiles
// against a known workload; and -p, which traces one process only (bpftrace's semantics): the
// postmaster runs no queries itself, a backend runs those of its own connection.
import { afterAll, beforeAll, describe, expect } from "vitest";
import { countBetween, ensureBuilt, runCliWhile, textHistogram, textMap } from "../support/examples.js";
import { readRecords } from "../support/json-records.js";
import { pgTest, PgServer, POSTGRES, postgresUnavailable } from "../support/postgres.js";

const root = new URL("../../", import.meta.url).pathname;

let server: PgServer | undefined;

beforeAll(async () => {
  if (postgresUnavailable() !== undefined) return;
  ensureBuilt();
  server = await PgServer.start();
}, 120_000);

afterAll(async () => {
  await server?.stop();
}, 30_000);

function pg(): PgServer {
  if (server === undefined) throw new Error("the PostgreSQL server did not start");
  return server;
}

const SLOW = "SELECT pg_sleep(0.04) AS bpfts_slow";
const SLOWEST = "SELECT pg_sleep(0.1) AS bpfts_slowest";
const QUICK = "SELECT 2 + 2 AS bpfts_quick";
const OTHER = "SELECT 'bpfts' || 'other' AS bpfts_other";

/** 2^15 and 2^16 microseconds: the [32K, 64K) bucket holds 32.8 to 65.5 ms. */
const K32 = 2 ** 15;
const K64 = 2 ** 16;

describe("postgresql USDT probes", () => {
  pgTest("query__start / query__done: counts, texts and latencies of real queries", async () => {
    const probe = (name: string) => `usdt:${POSTGRES}:postgresql:${name}`;
    const program = `
      ${probe("query__start")} { @start[tid] = nsecs; @q[tid] = str(arg0); @starts[str(arg0)] = count(); }
      ${probe("query__done")} /@start[tid] != 0/ {
        @done[@q[tid]] = count();
        @us[@q[tid]] = hist((nsecs - @start[tid]) / 1000);
        delete(@start[tid]);
        delete(@q[tid]);
      }`;
    const r = await runCliWhile(["-f", "json", "-e", program], async () => {
      // Three connections (three backends forked after the probes were attached).
      await pg().psql(SLOW, QUICK, SLOW, QUICK, QUICK);
      await pg().psql(SLOW, QUICK);
      await pg().psql(QUICK, QUICK);
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const records = readRecords(r.stdout);
    expect(records[0]).toEqual({ type: "attached_probes", data: { probes: 2 } });
    const map = (name: string) => {
      const rec = records.find((x) => (x.type === "map" || x.type === "hist") && name in x.data);
      if (rec === undefined) throw new Error(`no record for ${name} in:\n${r.stdout}`);
      return (rec.data as Record<string, unknown>)[name] as Record<string, unknown>;
    };
    const starts = map("@starts");
    const done = map("@done");
    expect(starts[SLOW]).toBe(3);
    expect(starts[QUICK]).toBe(6);
    expect(done[SLOW]).toBe(3);
    expect(done[QUICK]).toBe(6);
    const us = map("@us") as Record<string, Array<{ min?: number; max?: number; count: number }>>;
    // Every 40 ms sleep in [32K, 64K) us, and nothing else there.
    expect(us[SLOW]).toEqual([{ min: K32, max: K64 - 1, count: 3 }]);
    // The quick ones well under a millisecond... or at least under 32 ms on a loaded machine.
    const quick = us[QUICK]!;
    expect(quick.reduce((n, b) => n + b.count, 0)).toBe(6);
    expect(Math.max(...quick.map((b) => b.max ?? Infinity))).toBeLessThan(K32);
    expect(r.stdout).not.toContain('"@start"');
  }, 60_000);

  pgTest("examples/pg-query-latency.bt --percentiles: the histogram, its percentiles and the slowest texts", async () => {
    const r = await runCliWhile(["--percentiles", `${root}examples/pg-query-latency.bt`], async () => {
      await pg().psql(SLOW, SLOW, SLOW, ...Array<string>(5).fill(QUICK));
      await pg().psql(SLOWEST, ...Array<string>(5).fill(QUICK));
      // Twelve other texts, each quick: the slowest ten are printed, so at least two are left out.
      for (let i = 0; i < 3; i++) await pg().psql(...[0, 1, 2, 3].map((j) => `${OTHER}, ${i * 4 + j}`));
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out.startsWith("Attaching 3 probes...\n")).toBe(true);

    // The histogram: 10 quick + 12 other quick queries, 3 of 40 ms, 1 of 100 ms.
    const h = textHistogram(out, "@latency_us");
    expect(h.reduce((n, b) => n + b.count, 0)).toBe(26);
    expect(countBetween(h, 0, K32)).toBe(22);
    expect(countBetween(h, K32, K64)).toBe(3);
    expect(countBetween(h, K64, 2 * K64)).toBe(1);

    // The percentiles: p50 among the quick ones, p90 (the 24th of 26) in the 40 ms bucket, p99 in
    // the 100 ms one.
    const pm = /^@latency_us: p50 (\d+), p90 (\d+), p99 (\d+), p99\.9 (\d+)$/m.exec(out.slice(out.indexOf("Percentiles (estimated from the histogram buckets):\n")));
    expect(pm, out).not.toBeNull();
    const [p50, p90, p99, p999] = pm!.slice(1).map(Number) as [number, number, number, number];
    expect(p50).toBeLessThan(K32);
    expect(p90).toBeGreaterThanOrEqual(K32);
    expect(p90).toBeLessThan(K64);
    expect(p99).toBeGreaterThanOrEqual(K64);
    expect(p99).toBeLessThan(2 * K64);
    expect(p999).toBeGreaterThanOrEqual(p99);

    // The slowest ten texts, ascending: the 100 ms query last, then the 40 ms one.
    const head = "The slowest queries (longest time in us):\n";
    expect(out).toContain(head);
    const slowest = out.slice(out.indexOf(head) + head.length).split("\n");
    const rows = slowest.slice(0, slowest.indexOf(""));
    expect(rows).toHaveLength(10);
    const entries = [...textMap(rows.join("\n"), "@slowest_us")];
    expect(entries).toHaveLength(10);
    expect(entries[9]![0]).toBe(SLOWEST);
    expect(entries[9]![1]).toBeGreaterThanOrEqual(100_000);
    expect(entries[8]![0]).toBe(SLOW);
    expect(entries[8]![1]).toBeGreaterThanOrEqual(40_000);
    expect(entries[8]![1]).toBeLessThan(entries[9]![1]);
    const values = entries.map(([, v]) => v);
    expect([...values].sort((a, b) => a - b)).toEqual(values);
    for (const [text] of entries.slice(0, 8)) expect(text === QUICK || text.startsWith(`${OTHER}, `), text).toBe(true);
    // Cleared in END: not printed again at exit, nor the in-flight maps.
    expect(out).not.toMatch(/^@(start|query)\[/m);
    expect(out.split("\n").filter((l) => l.startsWith("@slowest_us["))).toHaveLength(10);
  }, 60_000);

  pgTest("-p: the postmaster runs no queries; a backend's pid sees its own connection's only", async () => {
    const program = `usdt:${POSTGRES}:postgresql:query__start { @[pid, str(arg0)] = count(); }`;
    const session = await pg().session();
    try {
      const backend = session.backendPid;
      expect(backend).toBeGreaterThan(0);
      expect(backend).not.toBe(pg().pid);
      const onBackend = await runCliWhile(["-p", String(backend), "-e", program], async () => {
        await session.query(QUICK);
        await session.query(QUICK);
        await pg().psql(QUICK, SLOW); // another backend: not traced
      });
      expect(onBackend.stderr).toBe("");
      expect(onBackend.code).toBe(0);
      // psql sends what it read from its stdin, up to and with the semicolon.
      expect(onBackend.stdout).toBe(`Attaching 1 probe...\n\n\n@[${backend}, ${QUICK};]: 2\n`);

      const onPostmaster = await runCliWhile(["-p", String(pg().pid), "-e", program], async () => {
        await session.query(QUICK);
        await pg().psql(QUICK);
      });
      expect(onPostmaster.stderr).toBe("");
      expect(onPostmaster.code).toBe(0);
      // Nothing counted: the map prints as an empty line at exit (as bpftrace prints an empty map).
      expect(onPostmaster.stdout).toBe("Attaching 1 probe...\n\n\n\n");
    } finally {
      await session.close();
    }
  }, 60_000);
});
