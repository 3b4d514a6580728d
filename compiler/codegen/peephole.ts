// Clean-ups on lowered code, before jump offsets are resolved. Each keeps the code's effect on
// every path:
// - cold code (the code from a label `coldLabel()` made to its `coldEnd()`, entered only by
//   jumps) moves to the end of the program, with a jump back, so that the usual path runs
//   straight on (and the verifier, which explores the fall-through first, keeps fewer
//   branches pending);
// - jumps to the very next instruction go;
// - `if c goto A; goto B; A:` becomes `if !c goto B; A:`;
// - cross-jumping: when the instructions before a `goto L` are the same as those falling into L
//   (or two paths end with the same instructions and `exit`), the first copy becomes a jump into
//   the second. Only jumps in the same direction as the one they replace are made, so no new
//   loop appears.
import type { Insn, JmpOp } from "../asm/index.js";

export type Item = { label: string } | { insn: Insn; target?: string };

const COLD = "cold:";

/** A label starting cold code; `n` makes it unique. */
export function coldLabel(n: number): string {
  return `${COLD}${n}`;
}

/** The label where the cold code starting at `start` ends (placed after it). */
export function coldEnd(start: string): string {
  return `${start}:end`;
}

/** The condition that holds exactly when the given one does not. */
export const NEGATE: Partial<Record<JmpOp, JmpOp>> = {
  jeq: "jne",
  jne: "jeq",
  jgt: "jle",
  jle: "jgt",
  jge: "jlt",
  jlt: "jge",
  jsgt: "jsle",
  jsle: "jsgt",
  jsge: "jslt",
  jslt: "jsge",
};

const isLabel = (i: Item): i is { label: string } => "label" in i;

/** Whether control never goes on to the next instruction. */
const ends = (i: Item) => !isLabel(i) && (i.insn.kind === "ja" || i.insn.kind === "exit");

const keyOf = (i: Item) => JSON.stringify(i, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));

/** Labels placed right after position k (before the next instruction). */
function labelsAfter(items: Item[], k: number): Set<string> {
  const out = new Set<string>();
  for (let j = k + 1; j < items.length && isLabel(items[j]!); j++) out.add((items[j] as { label: string }).label);
  return out;
}

/** Which items control can reach from the first one. */
function reachable(items: Item[]): boolean[] {
  const at = new Map<string, number>();
  items.forEach((it, k) => {
    if (isLabel(it)) at.set(it.label, k);
  });
  const seen = new Array<boolean>(items.length).fill(false);
  const work = [0];
  while (work.length > 0) {
    const k = work.pop()!;
    if (k >= items.length || seen[k]) continue;
    seen[k] = true;
    const it = items[k]!;
    if (!isLabel(it) && it.target !== undefined) work.push(at.get(it.target)!);
    if (!ends(it)) work.push(k + 1);
  }
  return seen;
}

/** Moves cold code to the end (see above): each region whose entry nothing falls into. */
function moveCold(input: Item[]): Item[] {
  let items = input;
  const starts = items.filter((i): i is { label: string } => isLabel(i) && i.label.startsWith(COLD) && !i.label.endsWith(":end")).map((i) => i.label);
  for (const start of starts) {
    const from = items.findIndex((i) => isLabel(i) && i.label === start);
    const to = items.findIndex((i) => isLabel(i) && i.label === coldEnd(start));
    if (from <= 0 || to < from || !ends(items[from - 1]!)) continue;
    // Labels at the region's end mark where it ends: they stay, with the end label.
    let last = to - 1;
    while (last > from && isLabel(items[last]!)) last--;
    if (last === from) continue;
    const region = items.slice(from, last + 1);
    if (!ends(items[last]!)) region.push({ insn: { kind: "ja", off: 0 }, target: coldEnd(start) });
    items = [...items.slice(0, from), ...items.slice(last + 1), ...region];
  }
  return items;
}

export function optimize(input: Item[]): Item[] {
  let items = moveCold(input);
  let fresh = 0;
  const names = new Set(items.filter(isLabel).map((i) => i.label));
  const newLabel = () => {
    let n: string;
    do n = `xj${fresh++}`;
    while (names.has(n));
    names.add(n);
    return n;
  };
  // Every round removes an instruction or retargets a jump; the bound only guards against jumps
  // that go round in a cycle of `goto`s (an endless loop, which the verifier rejects anyway).
  for (let changed = true, rounds = 0; changed && rounds < 10_000; rounds++) {
    changed = false;
    // Jumps to the next instruction.
    const kept = items.filter((it, k) => !(!isLabel(it) && it.target !== undefined && labelsAfter(items, k).has(it.target)));
    if (kept.length !== items.length) {
      items = kept;
      changed = true;
      continue;
    }
    // Code no path reaches (left by the other steps; the verifier rejects it).
    const live = reachable(items);
    if (live.some((r, k) => !r && !isLabel(items[k]!))) {
      items = items.filter((it, k) => live[k] || isLabel(it));
      changed = true;
      continue;
    }
    // A jump to an unconditional jump goes straight to its target.
    const firstAfter = new Map<string, Item>();
    items.forEach((it, k) => {
      if (!isLabel(it)) return;
      let j = k + 1;
      while (j < items.length && isLabel(items[j]!)) j++;
      if (j < items.length) firstAfter.set(it.label, items[j]!);
    });
    for (const it of items) {
      if (isLabel(it) || it.target === undefined) continue;
      const next = firstAfter.get(it.target);
      if (next === undefined || isLabel(next) || next.insn.kind !== "ja" || next.target === undefined || next.target === it.target) continue;
      it.target = next.target;
      changed = true;
    }
    if (changed) continue;
    // A conditional jump over an unconditional one.
    for (let k = 0; k + 1 < items.length; k++) {
      const a = items[k]!;
      const b = items[k + 1]!;
      if (isLabel(a) || isLabel(b) || a.insn.kind !== "jmp" || b.insn.kind !== "ja" || a.target === undefined || b.target === undefined) continue;
      const op = NEGATE[a.insn.op];
      if (op === undefined || !labelsAfter(items, k + 1).has(a.target)) continue;
      items.splice(k, 2, { insn: { ...a.insn, op }, target: b.target });
      changed = true;
      break;
    }
    if (changed) continue;
    // Cross-jumping.
    const at = new Map<string, number>();
    items.forEach((it, k) => {
      if (isLabel(it)) at.set(it.label, k);
    });
    for (let i = 0; i < items.length && !changed; i++) {
      const it = items[i]!;
      if (isLabel(it)) continue;
      let a: number;
      let b: number;
      let min: number;
      let lowest = i;
      if (it.insn.kind === "ja" && it.target !== undefined) {
        // Forward: the copy falling into L lies between the jump and L; backward: before L.
        const j = at.get(it.target)!;
        a = i - 1;
        b = j - 1;
        min = 1;
        if (j < i) lowest = -1;
      } else if (it.insn.kind === "exit") {
        // The next exit after this one, with the same instructions before it.
        let j = i + 1;
        while (j < items.length && !(!isLabel(items[j]!) && (items[j] as { insn: Insn }).insn.kind === "exit")) j++;
        if (j >= items.length) continue;
        a = i;
        b = j;
        min = 2;
      } else continue;
      let n = 0;
      let first = -1;
      for (;;) {
        while (b > lowest && isLabel(items[b]!)) b--;
        if (a < 0 || b <= lowest) break;
        const x = items[a]!;
        const y = items[b]!;
        if (isLabel(x) || keyOf(x) !== keyOf(y)) break;
        // Both sides must flow into what follows (the exits themselves end their paths).
        if (ends(x) && !(n === 0 && it.insn.kind === "exit")) break;
        n++;
        first = b;
        a--;
        b--;
      }
      if (n < min) continue;
      const m = newLabel();
      const from = it.insn.kind === "exit" ? i - n + 1 : i - n;
      // Edit the later place first, so that the earlier one's indices hold.
      if (first > i) {
        items.splice(first, 0, { label: m });
        items.splice(from, i - from + 1, { insn: { kind: "ja", off: 0 }, target: m });
      } else {
        items.splice(from, i - from + 1, { insn: { kind: "ja", off: 0 }, target: m });
        items.splice(first, 0, { label: m });
      }
      changed = true;
    }
  }
  return items;
}
