// How a command's process group is found and stopped on a host we only reach through a command channel (ssh, docker
// exec): the command announces its process id on stderr before it exec's the real argv (it leads its own process
// group: sshd and runc start each command in a new session), the announcement is cut out of stderr, and a timeout or
// an abort runs KILL_SCRIPT through a second command on the same host.
import type { Collector } from './common.js';

/** printf text that announces the shell's pid on stderr; the caller appends `exec <argv>`. */
export const PID_ANNOUNCE = `printf '\\036airgap-k8s-pid:%s\\036\\n' "$$" >&2;`;
const PID_MARK = Buffer.from('\x1eairgap-k8s-pid:');
const PID_END = Buffer.from('\x1e\n');

// $1: tenths of a second to wait; then process group ids. TERM to each group (or the process, when it leads no
// group), wait for all to go, then KILL.
export const KILL_SCRIPT = [
  'n=$1; shift',
  'sig() { kill -s "$1" -- "-$2" 2>/dev/null || kill -s "$1" "$2" 2>/dev/null; }',
  'for p; do sig TERM "$p"; done',
  'i=0',
  'while [ "$i" -lt "$n" ]; do',
  '  alive=',
  '  for p; do if sig 0 "$p"; then alive=1; fi; done',
  '  if [ -z "$alive" ]; then exit 0; fi',
  '  sleep 0.1; i=$((i+1))',
  'done',
  'for p; do sig KILL "$p"; done',
  'exit 0',
].join('\n');

/** Strips the process-id marker from the front of stderr (shell start-up noise may come before it). */
export class PidFilter {
  pid: number | undefined;
  onPid: ((pid: number) => void) | undefined;
  private pending: Buffer = Buffer.alloc(0);
  private searching = true;
  constructor(private readonly out: Collector) {}
  push(chunk: Buffer): void {
    if (!this.searching) return this.out.push(chunk);
    this.pending = Buffer.concat([this.pending, chunk]);
    const at = this.pending.indexOf(PID_MARK);
    const end = at < 0 ? -1 : this.pending.indexOf(PID_END, at + PID_MARK.length);
    if (end >= 0) {
      const digits = this.pending.subarray(at + PID_MARK.length, end).toString('latin1');
      const before = this.pending.subarray(0, at);
      const after = this.pending.subarray(end + PID_END.length);
      this.searching = false;
      this.pending = Buffer.alloc(0);
      if (before.length) this.out.push(before);
      if (after.length) this.out.push(after);
      if (/^[0-9]+$/.test(digits) && Number(digits) > 1) {
        this.pid = Number(digits);
        this.onPid?.(this.pid);
      }
    } else if (this.pending.length > 65536) {
      this.searching = false;
      this.out.push(this.pending);
      this.pending = Buffer.alloc(0);
    }
  }
  flush(): void {
    if (this.pending.length) this.out.push(this.pending);
    this.pending = Buffer.alloc(0);
  }
}

