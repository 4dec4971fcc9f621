// Safe read-modify-write of a stack file for the release scripts:
// - an exclusive lock file beside the (real) stack file, created with O_EXCL,
//   so two releases into one stack run one after the other and both land; a
//   lock whose process is gone is stale and taken over; a lock held too long
//   refuses the second run with a clear message;
// - compare-and-swap before the rename: if the file changed since it was read
//   (an editor, a script that takes no lock), nothing is written;
// - the write goes through a symlink to its target, into a temp file in the
//   target's folder with the target's mode and owner, flushed to disk (fsync)
//   and renamed over it, so a crash leaves the old file or the new one, whole;
//   the temp file is removed when anything fails, and one a killed run left
//   is removed by the next (its name is fixed: only the lock's holder writes
//   it); a read-only file is refused, never replaced.
import * as fs from "fs";
import * as path from "path";

/** How long a second run waits for the lock before it refuses. */
export const LOCK_WAIT_MS = 15_000;
/** A lock older than this is stale even if its pid is alive (pids are reused). */
export const LOCK_STALE_MS = 10 * 60_000;

export class StackFileBusyError extends Error {}

/** The locks this process holds: taking one again (the CLI around an edit that locks too) just runs. */
const held = new Set<string>();

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The file a stack file name resolves to (through symlinks), or the name itself when it does not exist. */
export function realFile(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

/** Runs `fn` holding the stack file's lock (`<real file>.lock`); `name` is for messages. */
export function withStackFileLock<T>(file: string, name: string, fn: () => T, waitMs = LOCK_WAIT_MS): T {
  const lock = `${realFile(file)}.lock`;
  if (held.has(lock)) return fn();
  const token = `${process.pid} ${new Date().toISOString()}\n`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      fs.writeFileSync(lock, token, { flag: "wx", mode: 0o644 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST")
        throw new Error(`${name}: cannot create the lock ${path.basename(lock)}: ${(e as Error).message}`, { cause: e });
    }
    let holder: string;
    let age: number;
    try {
      holder = fs.readFileSync(lock, "utf8");
      age = Date.now() - fs.statSync(lock).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    const pid = Number(holder.split(" ")[0]);
    if ((Number.isInteger(pid) && pid > 0 && !alive(pid)) || age > LOCK_STALE_MS) {
      // Stale: take it over only if it is still the same stale lock.
      try {
        if (fs.readFileSync(lock, "utf8") === holder) fs.rmSync(lock);
      } catch {
        // someone else removed it
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new StackFileBusyError(
        `${name}: another release is editing this file (lock ${path.basename(lock)}, held by pid ${pid} since ${holder.split(" ")[1]?.trim()}); nothing written, run again when it is done`,
      );
    }
    sleep(25 + Math.floor(Math.random() * 25));
  }
  held.add(lock);
  try {
    return fn();
  } finally {
    held.delete(lock);
    try {
      if (fs.readFileSync(lock, "utf8") === token) fs.rmSync(lock);
    } catch {
      // already gone
    }
  }
}

/**
 * Replaces the stack file's content with `text` if it still holds `expected`,
 * under its lock: through a symlink to its target, same mode (and owner where
 * permitted), atomically by rename. Refuses a read-only file and a file changed meanwhile.
 */
export function replaceStackFile(file: string, name: string, expected: string, text: string): void {
  withStackFileLock(file, name, () => {
    const real = realFile(file);
    const st = fs.statSync(real);
    // No write bit for anyone means "do not edit", even for root (who could); an unwritable file likewise.
    let writable = (st.mode & 0o222) !== 0;
    try {
      fs.accessSync(real, fs.constants.W_OK);
    } catch {
      writable = false;
    }
    if (!writable) throw new Error(`${name}: is read-only (${real}); nothing written, make it writable to release into it`);
    if (fs.readFileSync(real, "utf8") !== expected) {
      throw new Error(`${name}: changed while this release was running; nothing written, run it again`);
    }
    const mode = st.mode & 0o7777;
    const tmp = path.join(path.dirname(real), `.${path.basename(real)}.tmp`);
    fs.rmSync(tmp, { force: true });
    try {
      const fd = fs.openSync(tmp, "wx", mode);
      try {
        fs.writeFileSync(fd, text);
        fs.fchmodSync(fd, mode); // the umask narrowed the mode above
        try {
          fs.fchownSync(fd, st.uid, st.gid);
        } catch {
          // not permitted for another owner: the file becomes ours, as any editor's save would make it
        }
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, real);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    try {
      // The rename itself on disk (Linux); a platform that cannot fsync a folder keeps the rename in its cache.
      const dir = fs.openSync(path.dirname(real), "r");
      try {
        fs.fsyncSync(dir);
      } finally {
        fs.closeSync(dir);
      }
    } catch {
      // best effort
    }
  });
}

/** Read-modify-write under the file's lock: `edit` gets the current text and returns the new one. */
export function editStackFile(file: string, edit: (text: string) => string): void {
  const name = path.basename(file);
  withStackFileLock(file, name, () => {
    const text = fs.readFileSync(file, "utf8");
    const next = edit(text);
    if (next !== text) replaceStackFile(file, name, text, next);
  });
}
