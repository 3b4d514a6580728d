// C structs and pointers for real: struct definitions laid out as gcc lays them out, members read
// from a traced process (tracetest's tt_struct, at -O0 and -O2) and from the kernel (curtask,
// ctx, with BTF), arrays, bit-fields, nested pointers, dereference, sizeof, macaddr, and struct
// and array values in variables, maps, tuples and print(), as text and JSON.
import { describe, expect } from "vitest";
import { jsonSink } from "../../runtime/format/json.js";
import { kernelTest } from "../support/kernel.js";
import { buildTargets, runTraced, withTarget, type OptLevel } from "../support/targets.js";

/** tracetest.c's struct tt_struct, as a script writes it (the ';' after '}' left out). */
const DEFS = `struct tt_inner { int x; short y; }
struct tt_struct { int id; char name[8]; unsigned char mac[6]; int vals[2][3]; struct tt_inner in;
  struct tt_struct *next; unsigned int a:3, b:9, c:20; long big; }`;


describe("structs in BEGIN: sizes, null pointers, the current task", () => {
  kernelTest("sizeof of types, structs, members and tuples", async () => {
    const r = await runTraced(
      `struct Foo { int x; char c; } struct A { int x[4]; }
       BEGIN { $x = 1; $t = ((int32)1, *(struct A *)0);
         printf("%d %d %d %d %d %d %d\\n", sizeof(struct Foo), sizeof((*(struct Foo*)0).x), sizeof((*(struct Foo*)0).c),
           sizeof(uint16), sizeof($x), sizeof($t), offsetof(struct Foo, c));
         exit() }`,
    );
    expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
    expect(r.stdout).toBe("Attaching 1 probe...\n8 4 1 2 8 20 4\n\n\n");
  });

  kernelTest("a null pointer reads as zeros; a map holds the pointer and the struct", async () => {
    const r = await runTraced(
      `struct Foo { int m; struct { int x; int y; } bar; int n; } struct x { uint64_t x; }
       BEGIN { @foo = (struct Foo *)0; @bar = @foo->bar; @x = @foo->bar.x; $a = (*(struct x*)0).x;
         printf("%d %d\\n", $a > -1, $a < 1); exit() }`,
    );
    expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
    expect(r.stdout).toBe("Attaching 1 probe...\n0 1\n\n\n@bar: { .x = 0, .y = 0 }\n@foo: 0\n@x: 0\n");
  });

  kernelTest("curtask: the kernel's task_struct (BTF), read with bpf_probe_read_kernel", async () => {
    const r = await runTraced(
      `BEGIN { printf("%d %d %d %d\\n", curtask->tgid == pid, curtask->pid == tid, curtask->comm == comm, curtask->real_parent->tgid > 0);
         @s = sizeof(struct task_struct) > 1000; @[curtask->comm] = count(); exit() }`,
    );
    expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
    expect(r.stdout).toBe("Attaching 1 probe...\n1 1 1 1\n\n\n@[node]: 1\n@s: 1\n");
  });

  kernelTest("the script's own struct task_struct wins over the kernel's", async () => {
    const r = await runTraced(`struct task_struct { int x; } BEGIN { printf("%d\\n", sizeof(*curtask)); exit() }`);
    expect(r.stdout).toBe("Attaching 1 probe...\n4\n\n\n");
  });
});

for (const opt of ["O0", "O2"] as OptLevel[]) {
  describe(`structs of a traced process (tracetest -${opt})`, () => {
    const target = () => buildTargets(opt).tracetest;

    /** Runs `body` in a uprobe on tt_struct while tracetest runs its struct command. */
    async function onStruct(body: string, options: Parameters<typeof runTraced>[1] = {}) {
      const bin = target();
      return withTarget(bin, async (t) => {
        const r = await runTraced(`${DEFS} uprobe:${bin}:tt_struct /pid == ${t.pid}/ { $s = (struct tt_struct *)arg0; ${body} }`, {
          ...options,
          whileAttached: () => t.command("struct"),
        });
        expect(r).toMatchObject({ exitCode: 0, stderr: "", left: [] });
        return r;
      });
    }

    kernelTest("members: integers, strings, arrays, nested structs, bit-fields, pointers to structs", async () => {
      const r = await onStruct(
        `printf("%d %s %d %d %d %d %d %d %d %d %s %d %ld\\n", $s->id, $s->name, $s->vals[0][2], $s->vals[1][0], $s->in.x, $s->in.y,
           $s->a, $s->b, $s->c, $s->next->id, $s->next->name, $s->next->in.y, $s->big);
         printf("%s %d %d %d\\n", macaddr($s->mac), $s->mac[5], $s->next->vals[1][2] == 0, (*$s).id + $s[0].id);`,
      );
      expect(r.stdout).toBe("Attaching 1 probe...\n1 first 3 4 -7 300 5 300 1000000 2 second 9 -1234567890123\n00:1A:2B:3C:4D:FE 254 1 2\n\n\n");
    });

    kernelTest("struct and array values: variables, print(), maps, tuples", async () => {
      const r = await onStruct(`$i = $s->in; print($i); print($s->vals); @in[$s->in] = $s->vals[1]; @t = (1, *$s->next, $s->name); @n = $s->next->name; @p = $s->next == 0;`);
      expect(r.stdout).toBe(
        "Attaching 1 probe...\n{ .x = -7, .y = 300 }\n[[1,2,3],[4,5,6]]\n\n\n" +
          "@in[{.x=-7,.y=300}]: [4,5,6]\n" +
          "@n: second\n" +
          "@p: 0\n" +
          "@t: (1, { .id = 2, .name = second, .mac = [0,0,0,0,0,0], .vals = [[0,0,0],[0,0,0]], .in = { .x = 8, .y = 9 }, .next = 0, .a = 0, .b = 0, .c = 0, .big = 0 }, first)\n",
      );
    });

    kernelTest("JSON output of structs and arrays", async () => {
      let out = "";
      const r = await onStruct(`print($s->in); @ = (0, $s->in); @v = $s->vals;`, { sink: jsonSink((s) => (out += s), (s) => (out += s)) });
      expect(r.exitCode).toBe(0);
      const lines = out.split("\n").filter((l) => l.startsWith("{"));
      expect(lines).toEqual([
        '{"type": "attached_probes", "data": {"probes": 1}}',
        '{"type": "value", "data": { "x": -7, "y": 300 }}',
        '{"type": "map", "data": {"@": [0,{ "x": -7, "y": 300 }]}}',
        '{"type": "map", "data": {"@v": [[1,2,3],[4,5,6]]}}',
      ]);
    });

    kernelTest("uaddr: globals of the traced (position-independent) binary", async () => {
      const r = await onStruct(`printf("%d %ld %d\\n", *uaddr("tt_mem"), *uaddr("tt_global") < 0, sizeof(*uaddr("tt_mem")));`);
      expect(r.stdout).toBe("Attaching 1 probe...\n-42 1 4\n\n\n");
    });

    kernelTest("ctx: the uprobe's struct pt_regs, through a struct cast", async () => {
      // The first 15 registers of x86-64's struct pt_regs, as the kernel lays them out.
      const bin = target();
      await withTarget(bin, async (t) => {
        const run = await runTraced(
          `struct regs { unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di; }
           uprobe:${bin}:tt_struct /pid == ${t.pid}/ { printf("%d %d\\n", ((struct regs *)ctx)->di == arg0, sizeof(struct regs)) }`,
          { whileAttached: () => t.command("struct") },
        );
        expect(run).toMatchObject({ exitCode: 0, stderr: "", left: [] });
        expect(run.stdout).toBe("Attaching 1 probe...\n1 120\n\n\n");
      });
    });
  });
}
