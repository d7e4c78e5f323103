// What a command talks to: its output streams, the files it reads and where it runs. Tests pass their own.
export interface Io {
  stdout(s: string): void;
  stderr(s: string): void;
  readFile(path: string): string;
  cwd: string;
  isTTY: boolean;
}
