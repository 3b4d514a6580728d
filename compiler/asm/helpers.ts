// Helper function ids (enum bpf_func_id in linux/bpf.h), for the helpers a tracer uses.
// Each number was checked against /usr/include/linux/bpf.h (linux-libc-dev 6.1); the unit
// tests check them again whenever that header is present.

export enum Helper {
  map_lookup_elem = 1,
  map_update_elem = 2,
  map_delete_elem = 3,
  probe_read = 4,
  ktime_get_ns = 5,
  trace_printk = 6,
  get_prandom_u32 = 7,
  get_smp_processor_id = 8,
  tail_call = 12,
  get_current_pid_tgid = 14,
  get_current_uid_gid = 15,
  get_current_comm = 16,
  perf_event_output = 25,
  get_stackid = 27,
  get_current_task = 35,
  probe_write_user = 36,
  get_numa_node_id = 42,
  probe_read_str = 45,
  override_return = 58,
  get_stack = 67,
  get_current_cgroup_id = 80,
  send_signal = 109,
  probe_read_user = 112,
  probe_read_kernel = 113,
  probe_read_user_str = 114,
  probe_read_kernel_str = 115,
  jiffies64 = 118,
  get_ns_current_pid_tgid = 120,
  ktime_get_boot_ns = 125,
  ringbuf_output = 130,
  ringbuf_reserve = 131,
  ringbuf_submit = 132,
  ringbuf_discard = 133,
  get_task_stack = 141,
  get_current_task_btf = 158,
  snprintf = 165,
  get_func_ip = 173,
  get_attach_cookie = 174,
  get_func_arg = 183,
  get_func_ret = 184,
  get_func_arg_cnt = 185,
}

/** The kernel's name for a helper (`bpf_map_lookup_elem`), or undefined if not in `Helper`. */
export function helperName(id: number): string | undefined {
  const name = (Helper as unknown as Record<number, string | undefined>)[id];
  return name === undefined ? undefined : `bpf_${name}`;
}
