// compile(): source text to a CompiledScript — programs (instructions and bytecode), map specs and
// the formats of what the programs send to user space. Pure: needs no root and loads nothing.
import { disassemble, encode, type Insn } from "./asm/index.js";
import { CodegenError, MAX_STACK, ProbeGen, progTypeOf, type ScriptContext } from "./codegen/gen.js";
import { planMaps, SCRATCH_MAP, stackMap } from "./codegen/maps.js";
import { removeDeadCode, removeDeadDefs } from "./codegen/ir.js";
import { lower } from "./codegen/regalloc.js";
import { Diagnostics } from "./diagnostics.js";
import { analyze, isStackOverflow, type AnalyzeOptions, type AnalyzeResult } from "./index.js";
import { providerOf } from "./probes/index.js";
import { resolveAttachPoint, type Location } from "./probes/resolve.js";
import { readTracepointFormat, type TracepointField } from "./probes/tracepoint-format.js";
import type { CompiledScript, ProgramSpec } from "./program.js";
import type { Type } from "./types.js";

export interface CompileOptions extends AnalyzeOptions {
  /** The process given with -p (for attach points that name no file). */
  pid?: number;
  /** -k: 1, -kk: 2 — helper calls whose failure is reported at run time (helper_error records). */
  helperChecks?: number;
}

export type CompileResult = AnalyzeResult & { script?: CompiledScript };

export function compile(text: string, options: CompileOptions = {}): CompileResult {
  const analysis = analyze(text, options);
  if (!analysis.ok || analysis.symbols === undefined) return analysis;
  const { specs, user } = planMaps(analysis.symbols);
  const script: CompiledScript = { programs: [], maps: specs, events: [], probeNames: [] };
  const formats = new Map<string, Map<string, TracepointField> | undefined>();
  const ctx: ScriptContext = {
    maps: user,
    events: script.events,
    params: options.params ?? [],
    symbols: analysis.symbols,
    stackMap: (limit) => stackMap(script.maps, limit),
    helperChecks: options.helperChecks ?? 0,
    source: analysis.source,
    tracepointFields(category, name) {
      const key = `${category}:${name}`;
      if (!formats.has(key)) {
        const r = (options.tracepointFormat ?? readTracepointFormat)(category, name);
        formats.set(key, "found" in r ? new Map(r.found.fields.map((f) => [f.name, f])) : undefined);
      }
      return formats.get(key);
    },
  };
  const diags = new Diagnostics(analysis.source);
  for (const d of analysis.diagnostics) diags.list.push(d);
  const reported = new Set<string>();
  analysis.program.probes.forEach((probe, probeIndex) => {
    for (const ap of probe.attachPoints) {
      if (ap.target === undefined) continue;
      // The code of the first location, reused for the others when it does not depend on the
      // location: a wildcard over thousands of functions is compiled once.
      let shared: Insn[] | undefined;
      for (const { target, location } of resolveAttachPoint(ap, ap.target, diags, { ...(options.pid !== undefined ? { pid: options.pid } : {}), ...(options.unsafe ? { unsafe: true } : {}) })) {
        const probeName = providerOf(target.type).format(target);
        const probeId = script.probeNames.length;
        script.probeNames.push(probeName);
        const vars = (analysis.symbols!.variables[probeIndex] ?? new Map()) as Map<string, { type: Type }>;
        if (shared !== undefined) {
          script.programs.push(program(shared, probeIndex, target, location, probeName));
          continue;
        }
        try {
          const gen = new ProbeGen(ctx, probe, target, location, probeId, vars);
          gen.generate();
          const { insns, frameSize } = lower(removeDeadDefs(removeDeadCode(gen.code)), gen.frameSize);
          if (frameSize > MAX_STACK) throw new CodegenError(probe.span, `this probe keeps too many values live at once (${frameSize} bytes of stack, the kernel allows ${MAX_STACK})`);
          const scratch = script.maps[SCRATCH_MAP]!;
          scratch.valueSize = Math.max(scratch.valueSize, gen.scratchSize);
          script.programs.push(program(insns, probeIndex, target, location, probeName));
          if (!gen.locationDependent && (target.type === "uprobe" || target.type === "uretprobe")) shared = insns;
        } catch (e) {
          if (isStackOverflow(e)) e = new CodegenError(probe.span, "the probe is nested too deeply to compile");
          if (!(e instanceof CodegenError)) throw e;
          // One report per place, however many locations a wildcard expanded to.
          const key = `${e.span.start}:${e.message}`;
          if (!reported.has(key)) diags.error(e.span, e.message);
          reported.add(key);
        }
      }
    }
  });
  if (diags.hasErrors()) return { ...analysis, ok: false, diagnostics: diags.sorted() };
  return { ...analysis, diagnostics: diags.sorted(), script };
}

function program(insns: Insn[], probeIndex: number, target: ProgramSpec["target"], location: Location, probeName: string): ProgramSpec {
  const bytecode = encode(insns);
  const mapRelocations: ProgramSpec["mapRelocations"] = [];
  let slot = 0;
  for (const i of insns) {
    if (i.kind === "ld_map_fd" || i.kind === "ld_map_value") mapRelocations.push({ slot, map: i.fd });
    slot += i.kind === "lddw" || i.kind === "ld_map_fd" || i.kind === "ld_map_value" ? 2 : 1;
  }
  const name = probeName.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 15);
  return { name, probeIndex, target, location, probeName, progType: progTypeOf(target), insns, bytecode, mapRelocations };
}

/** The disassembly of a compiled program, bpftool style, with map names. */
export function disassembleProgram(script: CompiledScript, p: ProgramSpec): string {
  return disassemble(p.insns, { mapName: (fd: number) => script.maps[fd]?.name ?? `fd:${fd}` });
}
