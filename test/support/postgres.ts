// A throwaway PostgreSQL 15 server for tests: initdb into a fresh temp folder, then postgres
// listening only on a unix socket in that folder (listen_addresses = '': no TCP), run as an
// unprivileged user (postgres refuses to run as root): the `postgres` system user the Debian
// package creates, else `nobody`. Nothing here touches a system cluster (/etc/postgresql,
// /var/lib/postgresql, pg_ctlcluster): the binaries are run directly by path.
//
// `pgTest` gates tests on it like kernelTest: outside CI a missing root or PostgreSQL skips with a
// printed reason; under CI=true it fails.
import { execFileSync, spawn, spawnSync, type ChildProcess, type ChildProcessWithoutNullStreams } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "vitest";
import { inCI, kernelUnavailable } from "./kernel.js";

export const PG_BIN = "/usr/lib/postgresql/15/bin";
export const POSTGRES = join(PG_BIN, "postgres");
const INITDB = join(PG_BIN, "initdb");
const PSQL = join(PG_BIN, "psql");

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresUnavailable(): string | undefined {
  const k = kernelUnavailable();
  if (k !== undefined) return k;
  for (const f of [POSTGRES, INITDB, PSQL]) if (!existsSync(f)) return `${f} is missing (apt-get install postgresql-15)`;
  return undefined;
}

/** Like vitest's `test`, for tests that need root, the kernel and PostgreSQL 15. */
export function pgTest(name: string, fn: () => unknown | Promise<unknown>, timeout?: number): void {
  const why = postgresUnavailable();
  if (why === undefined) {
    test(name, fn, timeout);
  } else if (inCI) {
    test(name, () => {
      throw new Error(`PostgreSQL test cannot run under CI: ${why}`);
    });
  } else {
    process.stderr.write(`skipping PostgreSQL test "${name}": ${why}\n`);
    test.skip(name, fn);
  }
}

/** The uid and gid to run the server as: the `postgres` user, else `nobody`. */
function serverUser(): { uid: number; gid: number; name: string } {
  for (const name of ["postgres", "nobody"]) {
    const r = spawnSync("id", ["-u", name], { encoding: "utf8" });
    if (r.status !== 0) continue;
    const gid = spawnSync("id", ["-g", name], { encoding: "utf8" });
    return { uid: Number(r.stdout.trim()), gid: Number(gid.stdout.trim()), name };
  }
  throw new Error("no unprivileged user to run postgres as (neither postgres nor nobody exists)");
}

/** The command line that runs `argv` as that user (setpriv from util-linux). */
function asUser(user: { uid: number; gid: number }, argv: string[]): [string, string[]] {
  return ["setpriv", [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--", ...argv]];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Live servers, killed if this process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

export class PgServer {
  /** The postmaster's pid. */
  readonly pid: number;
  /** Everything the server logged (stderr and stdout). */
  log = "";
  private readonly exited: Promise<void>;

  private constructor(
    /** The temp folder: data/ and the socket. */
    readonly dir: string,
    private readonly child: ChildProcess,
  ) {
    this.pid = child.pid!;
    this.exited = new Promise((ok) => child.once("exit", () => ok()));
  }

  /** initdb, start the postmaster and wait until it accepts connections. */
  static async start(): Promise<PgServer> {
    const user = serverUser();
    // The socket path must stay under 108 bytes: a short folder in the temp dir.
    const dir = mkdtempSync(join(tmpdir(), "bpfts-pg-"));
    chmodSync(dir, 0o700);
    chownSync(dir, user.uid, user.gid);
    const data = join(dir, "data");
    try {
      const [cmd, argv] = asUser(user, [INITDB, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]);
      execFileSync(cmd, argv, { cwd: dir, stdio: "pipe" });
    } catch (e) {
      const err = e as { stderr?: Buffer; stdout?: Buffer };
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`initdb failed: ${(e as Error).message}\n${err.stdout?.toString() ?? ""}${err.stderr?.toString() ?? ""}`);
    }
    const settings = {
      listen_addresses: "",
      unix_socket_directories: dir,
      fsync: "off",
      synchronous_commit: "off",
      full_page_writes: "off",
      shared_buffers: "16MB",
      max_connections: "20",
      logging_collector: "off",
      autovacuum: "off",
    };
    const [cmd, argv] = asUser(user, [POSTGRES, "-D", data, ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])]);
    const child = spawn(cmd, argv, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    live.add(child);
    child.once("exit", () => live.delete(child));
    const server = new PgServer(dir, child);
    child.stdout!.on("data", (d: Buffer) => (server.log += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (server.log += d.toString()));
    try {
      // setpriv execs postgres: the child's pid is the postmaster's.
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`postgres exited (${child.exitCode ?? child.signalCode})`);
        if (server.ready()) break;
        if (Date.now() > deadline) throw new Error("postgres did not accept connections within 30 s");
        await sleep(100);
      }
      const pidFile = readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0];
      if (Number(pidFile) !== server.pid) throw new Error(`postmaster.pid says ${pidFile}, the child is ${server.pid}`);
    } catch (e) {
      await server.stop();
      throw new Error(`starting postgres failed: ${(e as Error).message}\n${server.log}`);
    }
    return server;
  }

  private ready(): boolean {
    return spawnSync(PSQL, this.psqlArgs(["-c", "SELECT 1"]), { stdio: "ignore", timeout: 5000 }).status === 0;
  }

  private psqlArgs(extra: string[]): string[] {
    return ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", this.dir, "-U", "postgres", "-d", "postgres", ...extra];
  }

  /** Runs each query with psql over one connection (one backend); resolves with psql's output. */
  psql(...queries: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(PSQL, this.psqlArgs(queries.flatMap((q) => ["-c", q])), { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`psql exited with ${code}: ${err}`))));
    });
  }

  /** An open psql connection that runs queries on demand (the same backend for all). */
  async session(): Promise<PsqlSession> {
    const s = new PsqlSession(spawn(PSQL, this.psqlArgs([]), { stdio: ["pipe", "pipe", "pipe"] }));
    s.backendPid = Number((await s.query("SELECT pg_backend_pid()")).trim());
    return s;
  }

  /** Fast shutdown (SIGINT), SIGKILL after 10 s; then the folder is removed. Safe to call twice. */
  async stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode === null && c.signalCode === null) {
      c.kill("SIGINT");
      const timer = setTimeout(() => c.kill("SIGKILL"), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** psql reading queries from its stdin; each query is followed by an \echo marker to know it ended. */
export class PsqlSession {
  backendPid = 0;
  private out = "";
  private err = "";
  private n = 0;
  private readonly closed: Promise<void>;

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on("data", (d: Buffer) => (this.out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (this.err += d.toString()));
    this.closed = new Promise((ok) => child.once("close", () => ok()));
  }

  /** Runs one query; resolves with its output. */
  async query(sql: string, timeoutMs = 15_000): Promise<string> {
    const marker = `__bpfts_done_${++this.n}__`;
    const start = this.out.length;
    this.child.stdin.write(`${sql};\n\\echo ${marker}\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.out.indexOf(`${marker}\n`, start);
      if (at >= 0) return this.out.slice(start, at);
      if (this.child.exitCode !== null) throw new Error(`psql exited: ${this.err}`);
      if (Date.now() > deadline) throw new Error(`psql: no answer to ${JSON.stringify(sql)} within ${timeoutMs} ms: ${this.err}`);
      await sleep(10);
    }
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null) this.child.stdin.end("\\q\n");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await this.closed;
    clearTimeout(timer);
  }
}
